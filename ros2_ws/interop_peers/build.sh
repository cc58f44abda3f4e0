#!/bin/sh
# Builds the interop peers into OUT_DIR (default: ./build): the Cyclone DDS peers (C) and the
# eProsima Fast DDS service peer (C++17).
# Needs Debian's cyclonedds-dev and cyclonedds-tools (idlc), libfastrtps-dev and libfastcdr-dev,
# and a C and a C++ compiler.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/build}"
mkdir -p "$out"
cd "$out"
idlc -l c "$here/ros2_string.idl"
idlc -l c "$here/turtle.idl"
idlc -l c "$here/add_two_ints.idl"
cc -Wall -Wextra -O2 -I. -o string_peer "$here/string_peer.c" ros2_string.c -lddsc
cc -Wall -Wextra -O2 -I. -o turtle_peer "$here/turtle_peer.c" turtle.c -lddsc -lm
cc -Wall -Wextra -O2 -I. -o add_two_ints_peer "$here/add_two_ints_peer.c" add_two_ints.c -lddsc
echo "$out"
# The peers of tests/e2e/ros2_interop.rs and examples/ros2-bridge/benchmark.sh.
idlc -l c "$here/dora_demo.idl"
idlc -l c "$here/bad_string.idl"
cc -Wall -Wextra -O2 -I. -o interop_peer "$here/interop_peer.c" dora_demo.c ros2_string.c -lddsc
cc -Wall -Wextra -O2 -I. -o bad_peer "$here/bad_peer.c" bad_string.c -lddsc
# The Fast DDS peer of tests/e2e/ros2_services.rs (rmw_fastrtps' service mapping).
c++ -std=c++17 -Wall -Wextra -O2 -o fastdds_add_two_ints_peer \
    "$here/fastdds_add_two_ints_peer.cpp" -lfastrtps -lfastcdr
echo "$out"
