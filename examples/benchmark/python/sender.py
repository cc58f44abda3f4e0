"""The Python sender: the schedule of `plan.rs` on the `latency` and `throughput` outputs.

Each payload is a numpy buffer prepared once per size, stamped with the sequence number in
its first 8 bytes and handed to `send_output` as a pyarrow array: the node API copies it once
into the outgoing sample (shared memory from 4 KiB on) before taking the send timestamp, so
the measured latency starts when the message leaves, as for the Rust sender.
"""

import time

import numpy as np
import pyarrow as pa
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
    payloads = {}
    for size in SIZES:
        payload = np.zeros(size, dtype=np.uint8)
        stamp = payload[:8].view(np.uint64) if size >= 8 else None
        payloads[size] = (pa.array(payload), stamp)  # a view of `payload`, no copy
    # All latency phases first, then the throughput phases (see `plan.rs`).
    for size in SIZES:
        array, stamp = payloads[size]
        for seq in range(LATENCY_MESSAGES):
            send(node, "latency", array, stamp, size, seq, LATENCY_MESSAGES)
            time.sleep(LATENCY_INTERVAL_S)
    for size in SIZES:
        array, stamp = payloads.pop(size)
        count = throughput_messages(size)
        for seq in range(count):
            send(node, "throughput", array, stamp, size, seq, count)
        del array, stamp
        time.sleep(SETTLE_S)


def send(node, phase, array, stamp, size, seq, count):
    if stamp is not None:
        stamp[0] = seq
    node.send_output(phase, array, {"size": size, "seq": seq, "count": count})


if __name__ == "__main__":
    main()
