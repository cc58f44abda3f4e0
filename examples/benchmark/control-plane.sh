#!/usr/bin/env bash
# Times the control plane, each as the median of 10 runs on random local ports:
#   up      `dora up` until coordinator and daemon are ready
#   start   `dora start --detach` of a two-node dataflow until the listener's first message
#           shows in `dora logs --follow`
#   stop    `dora stop` of that dataflow until it has stopped (its talker runs until stopped:
#           the coordinator and daemon are started with TALKER_MESSAGES=0, which their nodes
#           inherit)
#   run     `dora run` of the same dataflow until the first message is printed (the baseline)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build --release --quiet --bin dora
cargo build --release --quiet -p rust-dataflow-talker -p rust-dataflow-listener
dora="$root/target/release/dora"
dataflow="$here/control-plane.yml"
runs=10

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Prints the microseconds from START_US until COMMAND prints a line containing `received on`,
# then ends COMMAND (a log follower streams on; `dora run` is stopped as by Ctrl-C).
first_message_after() {
    local start=$1; shift
    local fifo; fifo=$(mktemp -u); mkfifo "$fifo"
    timeout -s INT 30 "$@" >"$fifo" 2>/dev/null &
    local pid=$! elapsed=""
    while IFS= read -r line; do
        if [[ $line == *"received on"* ]]; then elapsed=$(( $(now_us) - start )); break; fi
    done <"$fifo"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$fifo"
    echo "$elapsed"
}

# Whatever happens, no coordinator or daemon of this script is left running.
ports=()
cleanup() { if [ ${#ports[@]} -gt 0 ]; then "$dora" destroy "${ports[@]}" >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT

up_times=(); start_times=(); stop_times=(); run_times=()
for i in $(seq "$runs"); do
    control=$(free_port); daemons=$(free_port); local_port=$(free_port)
    ports=(--coordinator-port "$control")
    t0=$(now_us)
    TALKER_MESSAGES=0 "$dora" up "${ports[@]}" --daemon-port "$daemons" --local-listen-port "$local_port" >/dev/null
    up_times+=($(( $(now_us) - t0 )))

    name="cp-$i"
    t0=$(now_us)
    "$dora" start "$dataflow" --detach --name "$name" "${ports[@]}" >/dev/null
    start_times+=("$(first_message_after "$t0" "$dora" logs "$name" listener --follow "${ports[@]}")")
    t0=$(now_us)
    "$dora" stop --name "$name" "${ports[@]}" >/dev/null
    stop_times+=($(( $(now_us) - t0 )))
    "$dora" destroy "${ports[@]}" >/dev/null
    ports=()

    t0=$(now_us)
    run_times+=("$(first_message_after "$t0" "$dora" run "$dataflow")")
done

printf '%-8s %12s\n' step "median (ms)"
for step in up start stop run; do
    declare -n values="${step}_times"
    printf '%-8s %12.1f\n' "$step" "$(printf '%s\n' "${values[@]}" | median | awk '{print $1/1000}')"
done
