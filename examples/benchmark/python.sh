#!/usr/bin/env bash
# Runs the Rust pair (dataflow.yml, mode `dora`) and the Python pair (dataflow-python.yml,
# mode `python`) in turn, in the same run, and prints them side by side with the latency the
# Python API adds per size. Results are left in examples/benchmark/benchmark-python.csv.
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

rm -f "$csv"
status=0
for round in $(seq "$rounds"); do
    echo "=== round $round of $rounds"
    for dataflow in dataflow.yml dataflow-python.yml; do
        echo "== dora run: $here/$dataflow"
        if ! BENCHMARK_CSV="$csv" "$bin/dora" run "$here/$dataflow"; then
            echo "dora run $dataflow failed" >&2
            status=1
        fi
    done
done

echo
(cd "$here/python" && python3 report.py "$csv")
echo
echo "results: $csv"
exit "$status"
