"""The Python sender: the schedule of `plan.rs` on the `latency` and `throughput` outputs.

Like the Rust sender (`send_output_raw`), it writes each payload in place into the buffer
dora lends (shared memory from 4 KiB on) with `Node.send_output_raw`, touching only the
8-byte sequence number, so the payload is never copied and the measurement is what the
Python API adds. The send timestamp is taken when the filled buffer is sent.
"""

import time

from dora import Node

from plan import (
    LATENCY_INTERVAL_S,
    LATENCY_MESSAGES,
    SETTLE_S,
    SIZES,
    throughput_messages,
)


def main():
    node = Node()
    time.sleep(SETTLE_S)
    # All latency phases first, then the throughput phases (see `plan.rs`).
    for size in SIZES:
        for seq in range(LATENCY_MESSAGES):
            send(node, "latency", size, seq, LATENCY_MESSAGES)
            time.sleep(LATENCY_INTERVAL_S)
    for size in SIZES:
        count = throughput_messages(size)
        for seq in range(count):
            send(node, "throughput", size, seq, count)
        time.sleep(SETTLE_S)


def send(node, phase, size, seq, count):
    stamp = seq.to_bytes(8, "little")

    def fill(buffer):
        if size >= 8:
            buffer[:8] = stamp

    # No metadata parameters, as in the Rust sender: the receiver knows the schedule.
    node.send_output_raw(phase, size, fill)


if __name__ == "__main__":
    main()
