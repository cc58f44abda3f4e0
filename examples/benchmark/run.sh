#!/usr/bin/env bash
# Runs the dora benchmark with the Rust pair (dataflow.yml, mode `dora`), the C++ pair
# (dataflow-cxx.yml, mode `cxx`) and the socket floor, taking turns phase by phase, prints
# them in one table and leaves the results in examples/benchmark/benchmark.csv. Works from
# any directory. Needs cmake and g++ for the C++ pair.
#
#   run.sh [--rounds N] [--via-start]
#
# --rounds N   runs the three modes N times (default 3); the report shows medians over the
#              rounds and medians of the per-round ratios.
# --via-start  runs the dataflows through `dora up` + `dora start` instead of `dora run`.
#
# The three modes start together and take turns on one schedule (node/src/plan.rs): from a
# common start, the latency messages of each size go in blocks of 10 (100 ms), one mode's
# block after the other's, then the throughput phases take turns on a lock file. Only one
# mode is active at a time, and the modes compared at a size are measured within the same
# three seconds: on a shared machine whose speed changes within seconds, modes run one after
# the other would be compared on different machines.
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

# The receivers append their rows when they finish; the header is written once, here.
echo "mode,size_bytes,messages,p50_us,p90_us,p99_us,max_us,msgs_per_s,bytes_per_s" > "$csv"
status=0

lock="$(mktemp "${TMPDIR:-/tmp}/dora-benchmark-turns.XXXXXX")"
trap 'rm -f "$lock"' EXIT
export BENCHMARK_MODES=dora,cxx,floor BENCHMARK_LOCK="$lock"

# Runs `$2...` in the background with its output lines prefixed by `[$1] `; its pid is in
# $last_pid.
start_mode() {
    local name="$1"
    shift
    "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
    last_pid=$!
}

for round in $(seq "$rounds"); do
    echo "=== round $round of $rounds"
    # Every mode must have started its nodes by then (`dora up`, two dataflows, the floor).
    export BENCHMARK_START_NS=$(( $(date +%s%N) + 3000000000 ))
    names=()
    pids=()
    if $via_start; then
        # Through a coordinator and a daemon (`dora up` + `dora start`) instead of `dora run`.
        # The daemon's nodes (which inherit its environment, hence the variables above) write
        # the CSV in the dataflow's folder, which is where $csv is.
        port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
        ports=(--coordinator-port "$(port)")
        env -u BENCHMARK_CSV "$bin/dora" up "${ports[@]}" --daemon-port "$(port)" --local-listen-port "$(port)"
    fi
    for mode in dora cxx; do
        dataflow=dataflow.yml
        [[ $mode == cxx ]] && dataflow=dataflow-cxx.yml
        if $via_start; then
            start_mode "$mode" bash -c 'cd "$1" && exec "$2" start "$3" "${@:4}"' _ "$here" "$bin/dora" "$dataflow" "${ports[@]}"
            names+=("dora start $dataflow")
        else
            start_mode "$mode" env BENCHMARK_CSV="$csv" "$bin/dora" run "$here/$dataflow"
            names+=("dora run $dataflow")
        fi
        pids+=("$last_pid")
    done
    start_mode floor "$bin/benchmark-floor" --csv "$csv"
    names+=("benchmark-floor")
    pids+=("$last_pid")
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then
            echo "${names[$i]} failed" >&2
            status=1
        fi
    done
    if $via_start; then
        "$bin/dora" destroy "${ports[@]}"
    fi
done

echo
"$bin/benchmark-report" "$csv"
echo
echo "results: $csv"
exit "$status"
