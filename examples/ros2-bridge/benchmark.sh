#!/bin/sh
# Latency of the ROS 2 bridge (dataflow node -> bridge -> Cyclone DDS peer) next to Cyclone
# DDS peer -> peer in the same run, for std_msgs/String and a 640x480 rgb8 sensor_msgs/Image
# (921,600 bytes), and the highest image rate the bridge sustains without loss.
#
#   examples/ros2-bridge/benchmark.sh          (from the repository root)
#
# Needs cyclonedds-dev/-tools and `unshare` (it re-runs itself in a private network namespace
# so that no DDS traffic leaves the machine). PROFILE=debug uses debug builds.
# Latency = receive time - send time (CLOCK_REALTIME, same machine); the first tenth of the
# samples (discovery, warm-up) are left out; median and p90.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
profile="${PROFILE:-release}"
if [ "${IN_NETNS:-}" != 1 ]; then
  flag=""
  [ "$(id -u)" = 0 ] || flag="-r"
  if [ "$profile" = release ]; then
    cargo build --quiet --release -p dora --bin dora && cargo build --quiet --release -p dora-ros2-test-nodes
  else
    cargo build --quiet -p dora --bin dora && cargo build --quiet -p dora-ros2-test-nodes
  fi
  sh "$root/ros2_ws/interop_peers/build.sh" "$root/target/ros2-interop-peers" >/dev/null 2>&1
  exec env IN_NETNS=1 timeout -s KILL 600 unshare $flag -n sh -c \
    'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec sh "$0"' "$0"
fi

DORA="$root/target/$profile/dora"
NODE="$root/target/$profile/ros2-test-node"
PEER="$root/target/ros2-interop-peers/interop_peer"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

# dataflow MODE ARGS TYPE TOPIC: a test node feeding a bridge that publishes TOPIC.
dataflow() {
  cat > dataflow.yml <<YAML
nodes:
  - id: source
    path: $NODE
    args: $1
    outputs: [out]
  - id: bridge
    ros2:
      topic: $3
      message_type: $2
      direction: publish
    inputs:
      data: source/out
YAML
}

latency() { grep -o "latency: .*" "$1" || echo "latency: (none)"; }

echo "load before: $(cat /proc/loadavg)"
N=500
"$PEER" stamp-sub /c2c $N 60000 > c2c.out &
sub=$!
"$PEER" stamp-pub /c2c $N 10 > /dev/null
wait $sub || true
echo "String  Cyclone -> Cyclone      $(latency c2c.out)"

dataflow "stamp-talk $N 10" std_msgs/String /bridge_string
"$PEER" stamp-sub /bridge_string $N 12000 > bridge.out &
sub=$!
"$DORA" run dataflow.yml > run.out 2>&1
wait $sub 2>/dev/null || true
echo "String  dora -> bridge -> Cyclone $(latency bridge.out) ($(grep -o 'received [0-9]*' bridge.out) of $N)"

F=100
"$PEER" image-sub /c2c_image $F 60000 > c2ci.out &
sub=$!
"$PEER" image-pub /c2c_image $F 10 > /dev/null
wait $sub || true
echo "Image   Cyclone -> Cyclone      $(latency c2ci.out)"

dataflow "image-talk $F 10" sensor_msgs/Image /bridge_image
"$PEER" image-sub /bridge_image $F 16000 > bridgei.out &
sub=$!
"$DORA" run dataflow.yml > run.out 2>&1
wait $sub 2>/dev/null || true
echo "Image   dora -> bridge -> Cyclone $(latency bridgei.out) ($(grep -c ' ok$' bridgei.out) of $F intact)"

# Highest rate without loss: every frame after the first received one arrives intact.
best=0
for rate in 10 30 60 100 150; do
  frames=$((rate * 4))
  dataflow "image-talk $frames $rate" sensor_msgs/Image /rate_$rate
  "$PEER" image-sub /rate_$rate $frames 10000 > rate.out &
  sub=$!
  "$DORA" run dataflow.yml > run.out 2>&1
  wait $sub 2>/dev/null || true
  first=$(grep -m1 -o '^frame [0-9]* ok' rate.out | cut -d' ' -f2)
  ok=$(grep -c ' ok$' rate.out || true)
  expected=$((frames - ${first:-0}))
  echo "Image   ${rate} Hz: $ok of $expected frames after the first intact ($(latency rate.out))"
  if [ -n "$first" ] && [ "$ok" -eq "$expected" ] && ! grep -q BAD rate.out; then
    best=$rate
  else
    break
  fi
done
echo "highest image rate without loss: ${best} Hz"
echo "load after: $(cat /proc/loadavg)"
