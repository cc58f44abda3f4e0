"""The Python sender: the schedule of `plan.rs` on the `latency` and `throughput` outputs.

Like the Rust sender (`send_output_raw`), it writes each payload in place into the buffer
dora lends (shared memory from 4 KiB on) with `Node.send_output_raw`, touching only the
8-byte sequence number, so the payload is never copied and the measurement is what the
Python API adds. The send timestamp is taken when the filled buffer is sent.
"""

import time

from dora import Node

from plan import (
    LATENCY_MESSAGES,
    SETTLE_S,
    SIZES,
    Schedule,
    sleep_until,
    throughput_messages,
)


def main():
    node = Node()
    schedule = Schedule("python")
    schedule.check_not_late()
    # All latency phases first, then the throughput phases (see `plan.rs`).
    for size_index, size in enumerate(SIZES):
        for seq in range(LATENCY_MESSAGES):
            sleep_until(schedule.message_due(size_index, seq))
            send(node, "latency", size, seq, LATENCY_MESSAGES)
    sleep_until(schedule.latency_end())
    for size in SIZES:
        turn = schedule.take_turn()
        count = throughput_messages(size)
        for seq in range(count):
            send(node, "throughput", size, seq, count)
        time.sleep(SETTLE_S)
        if turn is not None:
            turn.close()


def send(node, phase, size, seq, count):
    stamp = seq.to_bytes(8, "little")

    def fill(buffer):
        if size >= 8:
            buffer[:8] = stamp

    # No metadata parameters, as in the Rust sender: the receiver knows the schedule.
    node.send_output_raw(phase, size, fill)


if __name__ == "__main__":
    main()
