#!/usr/bin/env bash
# Runs the dora benchmark with the Rust pair (dataflow.yml, mode `dora`) and the C++ pair
# (dataflow-cxx.yml, mode `cxx`), then the socket floor, prints them side by side and leaves
# the results in examples/benchmark/benchmark.csv. Works from any directory. Needs cmake and
# g++ for the C++ pair.
#
#   run.sh [--rounds N] [--via-start]
#
# --rounds N   runs the three modes in turn N times (default 3); the report shows medians
#              over the rounds and medians of the per-round ratios, so a load that comes and
#              goes on the machine skews a ratio less.
# --via-start  runs the dataflows through `dora up` + `dora start` instead of `dora run`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
csv="$here/benchmark.csv"
bin="$root/target/release"

rounds=3
via_start=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds)
            [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds needs a positive number" >&2; exit 2; }
            rounds="$2"
            shift 2
            ;;
        --via-start) via_start=true; shift ;;
        *) echo "run.sh: unknown argument \`$1\` (expected --rounds N, --via-start)" >&2; exit 2 ;;
    esac
done

cd "$root"
cargo build --release --bin dora
cargo build --release -p dora-benchmark
# The C++ pair: its build line runs CMake, which builds the C++ node API in release mode.
"$bin/dora" build "$here/dataflow-cxx.yml"

rm -f "$csv"
status=0

dataflows=(dataflow.yml dataflow-cxx.yml)
for round in $(seq "$rounds"); do
    echo "=== round $round of $rounds"
    if $via_start; then
        # Through a coordinator and a daemon (`dora up` + `dora start`) instead of `dora run`.
        # The daemon's nodes write the CSV in the dataflow's folder, which is where $csv is.
        port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
        ports=(--coordinator-port "$(port)")
        "$bin/dora" up "${ports[@]}" --daemon-port "$(port)" --local-listen-port "$(port)"
        for dataflow in "${dataflows[@]}"; do
            echo "== dora start: $here/$dataflow"
            if ! (cd "$here" && env -u BENCHMARK_CSV "$bin/dora" start "$dataflow" "${ports[@]}"); then
                echo "dora start $dataflow failed" >&2
                status=1
            fi
        done
        "$bin/dora" destroy "${ports[@]}"
    else
        for dataflow in "${dataflows[@]}"; do
            echo "== dora run: $here/$dataflow"
            if ! BENCHMARK_CSV="$csv" "$bin/dora" run "$here/$dataflow"; then
                echo "dora run $dataflow failed" >&2
                status=1
            fi
        done
    fi

    echo "== floor: Unix socket pair, no framework"
    if ! "$bin/benchmark-floor" --csv "$csv"; then
        echo "benchmark-floor failed" >&2
        status=1
    fi
done

echo
"$bin/benchmark-report" "$csv"
echo
echo "results: $csv"
exit "$status"
