#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md in one go and prints their tables.
#   scripts/bench.sh           full runs (about 6 minutes after the build)
#   scripts/bench.sh --quick   one short round of each process benchmark
# Needs nothing but cargo; `taskset` (util-linux) is used to pin servers to core 0 when present.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
criterion=(--warm-up-time 1 --measurement-time 3)
if [ "${1:-}" = "--quick" ]; then
  quick=(--quick)
  criterion=(--warm-up-time 0.5 --measurement-time 1)
fi

echo "== instrumentation overhead (bare / usual stack / ordertrail / collector down)"
cargo bench --bench overhead -- "${quick[@]}"

echo "== export on / off / collector refused / black hole"
cargo bench --bench export

if [ -f crates/ordertrail-factory/benches/workers.rs ]; then
  echo "== one process vs --workers 2 vs --workers 4 (hello path and order workflow)"
  cargo bench --bench workers -- "${quick[@]}"
fi

if command -v valgrind >/dev/null; then
  echo "== instructions per component (callgrind): span, event to JSON line / OTLP record, export encode"
  cargo bench --bench components
else
  echo "== instructions per component: skipped, valgrind is not installed"
fi

echo "== micro-benchmarks (criterion)"
cargo bench --bench micro -- "${criterion[@]}" 2>&1 | grep -E "^[a-z_/]+|time:" 
cargo bench --bench json_layer -- "${criterion[@]}" 2>&1 | grep -E "^json_event|time:|thrpt:"
cargo bench --bench recorder -- "${criterion[@]}" 2>&1 | grep -E "^request/|time:"
cargo bench --bench metrics -- "${criterion[@]}" 2>&1 | grep -E "^metrics_|time:"
cargo bench --bench outbox -- "${criterion[@]}" 2>&1 | grep -E "^(confirm|deliver)|time:"
