#!/usr/bin/env bash
# Registry import/KPI benchmark: a synthetic registry of N patients (default 100,000), each with an
# engine-made assessment (full request + report), its index fracture, three follow-up tasks and a
# drug, as an export file; imported into SQLite and PostgreSQL; records/s and `kpi` time quoted.
# Usage: scripts/bench-registry.sh [N] [POSTGRES_ADMIN_URL]  (PostgreSQL part skipped without a URL;
# default URL from DATABASE_URL). Scratch files go under ${TMPDIR:-/tmp}.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
PG="${2:-${DATABASE_URL:-}}"
work="$(mktemp -d "${TMPDIR:-/tmp}/ovcf-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cargo build --release --locked -p ovcf-cli -p ovcf-store --example gen_registry >/dev/null
bin=target/release/ovcf
now() { date +%s.%N; }

t0=$(now)
target/release/examples/gen_registry "$N" "$work/registry.ndjson"
t1=$(now)
lines=$(wc -l < "$work/registry.ndjson")
size=$(du -h "$work/registry.ndjson" | cut -f1)
printf 'generated %s lines (%s) for %s patients in %.1f s\n' "$lines" "$size" "$N" "$(echo "$t1 - $t0" | bc)"

bench() { # name url
  local name=$1 url=$2
  local a b c d
  a=$(now)
  "$bin" --db "$url" import "$work/registry.ndjson" > "$work/import.out"
  b=$(now)
  "$bin" --db "$url" kpi --format json > "$work/kpi.json"
  c=$(now)
  "$bin" --db "$url" audit verify --format json > "$work/verify.json"
  d=$(now)
  printf '%-10s import %7.1f s  %8.0f records/s | kpi %.3f s | audit verify %.1f s (%s)\n' "$name" \
    "$(echo "$b - $a" | bc)" "$(echo "$lines / ($b - $a)" | bc -l)" "$(echo "$c - $b" | bc)" \
    "$(echo "$d - $c" | bc)" "$(cat "$work/verify.json" | tr -d ' \n')"
  python3 -c 'import json,sys; k=json.load(open(sys.argv[1])); print("           identified", k["identified"]["numerator"], "treatment_recommended", k["treatment_recommended"]["numerator"])' "$work/kpi.json"
}

bench sqlite "sqlite:$work/registry.db"
if [ -n "$PG" ]; then
  db="ovcf_bench_$$"
  psql "$PG" -qc "CREATE DATABASE $db"
  bench postgres "${PG%/*}/$db"
  psql "$PG" -qc "DROP DATABASE $db WITH (FORCE)"
else
  echo "postgres: skipped (no URL)"
fi
