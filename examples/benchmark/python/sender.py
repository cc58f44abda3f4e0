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
    for size in SIZES:
        payload = np.zeros(size, dtype=np.uint8)
        stamp = payload[:8].view(np.uint64) if size >= 8 else None
        array = pa.array(payload)  # a view of `payload`, no copy
        for phase, count, pause in (
            ("latency", LATENCY_MESSAGES, LATENCY_INTERVAL_S),
            ("throughput", throughput_messages(size), 0.0),
        ):
            for seq in range(count):
                if stamp is not None:
                    stamp[0] = seq
                node.send_output(phase, array, {"size": size, "seq": seq, "count": count})
                if pause:
                    time.sleep(pause)
        time.sleep(SETTLE_S)


if __name__ == "__main__":
    main()
