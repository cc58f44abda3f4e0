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
cc -Wall -Wextra -O2 -I. -o string_peer "$here/string_peer.c" ros2_string.c -lddsc
cc -Wall -Wextra -O2 -I. -o turtle_peer "$here/turtle_peer.c" turtle.c -lddsc -lm
echo "$out"
