#!/usr/bin/env bash
# The project's whole test suite: formatting, lints, unit/integration/property/snapshot tests,
# the shared clinical vignettes against the release binary, and the web application end to end in
# headless Chromium (installed on first run by scripts/setup-browser.sh). Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets incl. benches, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== clinical vignettes through the release binary"
cargo build --release --locked -p ovcf-cli
shared_check="../shared/vignettes/check.py"
if [ -f "$shared_check" ]; then
  python3 "$shared_check" --ovcf target/release/ovcf vignettes/public vignettes/own
else
  echo "(../shared/vignettes/check.py not found: the same cases ran in cargo test, tests/vignettes.rs)"
fi

echo "== web application end to end in headless Chromium"
./scripts/setup-browser.sh
(cd e2e && OVCF_BIN="$PWD/../target/release/ovcf" npm test)
