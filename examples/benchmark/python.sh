#!/usr/bin/env bash
# Runs the Rust pair (dataflow.yml, mode `dora`) and the Python pair (dataflow-python.yml,
# mode `python`) together, taking turns as run.sh's modes do (node/src/plan.rs), and prints
# them side by side with the latency the Python API adds per size. Results are left in
# examples/benchmark/benchmark-python.csv.
# Works from any directory. Needs the `dora` Python module (`pip install ./apis/python`)
# and numpy for `python3`.
#
#   python.sh [--rounds N]     (default 1 round, about 4 minutes)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
csv="$here/benchmark-python.csv"
bin="$root/target/release"

rounds=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds)
            [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "python.sh: --rounds needs a positive number" >&2; exit 2; }
            rounds="$2"
            shift 2
            ;;
        *) echo "python.sh: unknown argument \`$1\` (expected --rounds N)" >&2; exit 2 ;;
    esac
done

python3 -c 'import dora, numpy' || {
    echo "python.sh: python3 needs the dora module and numpy: pip install numpy ./apis/python" >&2
    exit 2
}

cd "$root"
cargo build --release --bin dora
cargo build --release -p dora-benchmark

# The receivers append their rows when they finish; the header is written once, here.
echo "mode,size_bytes,messages,p50_us,p90_us,p99_us,max_us,msgs_per_s,bytes_per_s" > "$csv"
status=0

lock="$(mktemp "${TMPDIR:-/tmp}/dora-benchmark-turns.XXXXXX")"
trap 'rm -f "$lock"' EXIT
export BENCHMARK_MODES=dora,python BENCHMARK_LOCK="$lock"

for round in $(seq "$rounds"); do
    echo "=== round $round of $rounds"
    export BENCHMARK_START_NS=$(( $(date +%s%N) + 3000000000 ))
    pids=()
    for dataflow in dataflow.yml dataflow-python.yml; do
        mode=dora
        [[ $dataflow == dataflow-python.yml ]] && mode=python
        BENCHMARK_CSV="$csv" "$bin/dora" run "$here/$dataflow" > >(sed -u "s/^/[$mode] /") 2>&1 &
        pids+=("$!")
    done
    for i in 0 1; do
        if ! wait "${pids[$i]}"; then
            echo "dora run of the $([[ $i == 0 ]] && echo Rust || echo Python) pair failed" >&2
            status=1
        fi
    done
done

echo
(cd "$here/python" && python3 report.py "$csv")
echo
echo "results: $csv"
exit "$status"
