#!/usr/bin/env bash
# Installs what the web application's browser tests need beyond the Rust toolchain, once:
# Debian's chromium and chromium-driver, the Noto CJK fonts (Chinese pages and PDFs), Node.js if
# absent, and playwright-core from npm (pinned by e2e/package-lock.json; it drives the system
# Chromium and downloads no browser). Safe to re-run: does nothing when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
if ! { command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; }; then
  need+=(fonts-noto-cjk)
fi
command -v node >/dev/null 2>&1 || need+=(nodejs npm)

if ((${#need[@]})); then
  echo "installing Debian packages: ${need[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# `npm ls` fails when a dependency of package.json is missing or not the locked version.
if ! (cd e2e && npm ls --depth=0 >/dev/null 2>&1); then
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "browser test tools ready: $(chromium --version 2>/dev/null | head -1), node $(node --version)"
