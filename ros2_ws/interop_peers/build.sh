#!/bin/sh
# Builds the Cyclone DDS interop peers into OUT_DIR (default: ./build).
# Needs Debian's cyclonedds-dev and cyclonedds-tools (idlc) and a C compiler.
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
# The peers of tests/ros2_interop.rs and examples/ros2-bridge/benchmark.sh.
idlc -l c "$here/dora_demo.idl"
idlc -l c "$here/bad_string.idl"
cc -Wall -Wextra -O2 -I. -o interop_peer "$here/interop_peer.c" dora_demo.c ros2_string.c -lddsc
cc -Wall -Wextra -O2 -I. -o bad_peer "$here/bad_peer.c" bad_string.c -lddsc
echo "$out"
