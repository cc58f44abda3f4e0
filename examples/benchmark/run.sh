#!/usr/bin/env bash
# Runs the dora benchmark and the socket floor, then prints both side by side and leaves the
# results in examples/benchmark/benchmark.csv. Works from any directory. With `--via-start`,
# the dora side runs through `dora up` + `dora start` instead of `dora run`.
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
if [[ "${1:-}" == "--via-start" ]]; then
    # Through a coordinator and a daemon (`dora up` + `dora start`) instead of `dora run`.
    # The daemon's nodes write the CSV in the dataflow's folder, which is where $csv is.
    port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
    ports=(--coordinator-port "$(port)")
    "$bin/dora" up "${ports[@]}" --daemon-port "$(port)" --local-listen-port "$(port)"
    if ! (cd "$here" && env -u BENCHMARK_CSV "$bin/dora" start dataflow.yml "${ports[@]}"); then
        echo "dora start failed" >&2
        status=1
    fi
    "$bin/dora" destroy "${ports[@]}"
elif ! BENCHMARK_CSV="$csv" "$bin/dora" run "$here/dataflow.yml"; then
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
