#!/usr/bin/env bash
# Runs the dora benchmark and the socket floor, then prints both side by side and leaves the
# results in examples/benchmark/benchmark.csv. Works from any directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
csv="$here/benchmark.csv"
bin="$root/target/release"

cd "$root"
cargo build --release --bin dora
cargo build --release -p dora-benchmark

rm -f "$csv"
status=0

echo "== dora: $here/dataflow.yml"
if ! BENCHMARK_CSV="$csv" "$bin/dora" run "$here/dataflow.yml"; then
    echo "dora run failed" >&2
    status=1
fi

echo "== floor: Unix socket pair, no framework"
if ! "$bin/benchmark-floor" --csv "$csv"; then
    echo "benchmark-floor failed" >&2
    status=1
fi

echo
"$bin/benchmark-report" "$csv"
echo
echo "results: $csv"
exit "$status"
