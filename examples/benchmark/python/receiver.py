"""The Python receiver: records the `latency` and `throughput` inputs like the Rust receiver
and appends its rows (mode `python`) to `BENCHMARK_CSV` (or `benchmark.csv` beside the
dataflow).

Arrival is taken when the event reaches Python: the measured latency includes what the Python
API adds (the event dict, the zero-copy pyarrow array, the metadata). Payloads are checked
(length and the stamped sequence number) without copying them.
"""

import math
import os
import sys
import time

from dora import Node

from plan import CSV_HEADER, LATENCY_MESSAGES, SIZES, throughput_messages


class SizeRecord:
    def __init__(self):
        self.latencies_ns = []
        self.latency_expected = 0
        self.throughput_received = 0
        self.throughput_expected = 0
        self.first_sent_ns = None
        self.last_arrival_ns = None
        self.next_seq = 0


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    rank = math.ceil(p / 100.0 * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def main():
    path = os.environ.get("BENCHMARK_CSV") or "benchmark.csv"
    node = Node()
    sizes = {}
    arrivals = {}
    problems = []
    for event in node:
        if event["type"] != "INPUT":
            if event["type"] == "ERROR":
                print(f"receiver: error event: {event['error']}", file=sys.stderr)
            continue
        arrival_ns = time.time_ns()
        phase = event["id"]
        metadata = event["metadata"]
        sent = metadata["timestamp"]
        # The timestamp comes as a datetime (microseconds).
        sent_ns = int(sent.timestamp()) * 1_000_000_000 + sent.microsecond * 1000
        # As in the Rust receiver: no metadata parameters; the size is the payload's length,
        # the sequence number its stamp (for 0-byte payloads, the arrival count), the count
        # the schedule's.
        value = event["value"]
        size = len(value)
        if size not in SIZES:
            problems.append(f"{phase} message of {size} bytes: not a size of the schedule")
            continue
        key = (phase, size)
        if size >= 8:
            seq = int.from_bytes(memoryview(value.buffers()[1])[:8], "little")
        else:
            seq = arrivals.get(key, 0)
        arrivals[key] = arrivals.get(key, 0) + 1
        count = LATENCY_MESSAGES if phase == "latency" else throughput_messages(size)
        # Release the shared memory region at once, as the Rust receiver does.
        del value, event
        record = sizes.setdefault(size, SizeRecord())
        if phase == "latency":
            if seq != len(record.latencies_ns):
                problems.append(
                    f"size {size}: latency seq {seq}, expected {len(record.latencies_ns)}"
                )
            record.latency_expected = count
            record.latencies_ns.append(max(arrival_ns - sent_ns, 0))
        else:
            record.throughput_expected = count
            if record.first_sent_ns is None:
                record.first_sent_ns = sent_ns
            if seq != record.next_seq:
                problems.append(f"size {size}: throughput seq {seq}, expected {record.next_seq}")
            record.next_seq = seq + 1
            record.throughput_received += 1
            record.last_arrival_ns = arrival_ns
    for size, record in sizes.items():
        if len(record.latencies_ns) != record.latency_expected:
            problems.append(f"size {size}: {len(record.latencies_ns)} latency messages")
        if record.throughput_received != record.throughput_expected:
            problems.append(f"size {size}: {record.throughput_received} throughput messages")
    write_rows(path, sizes)
    for problem in problems[:20]:
        print(f"receiver: {problem}", file=sys.stderr)
    if problems:
        sys.exit(f"receiver: {len(problems)} problems")


def write_rows(path, sizes):
    rows = []
    for size in sorted(sizes):
        record = sizes[size]
        latencies = sorted(record.latencies_ns)

        def micros(p):
            return percentile(latencies, p) / 1000.0

        elapsed_s = 0.0
        if record.first_sent_ns is not None and record.last_arrival_ns is not None:
            elapsed_s = (record.last_arrival_ns - record.first_sent_ns) / 1e9
        msgs_per_s = record.throughput_received / elapsed_s if elapsed_s > 0 else 0.0
        rows.append(
            f"python,{size},{len(latencies)},{micros(50):.1f},{micros(90):.1f},"
            f"{micros(99):.1f},{micros(100):.1f},{msgs_per_s:.0f},{msgs_per_s * size:.0f}"
        )
    new_file = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a") as out:
        if new_file:
            out.write(CSV_HEADER + "\n")
        for row in rows:
            out.write(row + "\n")


if __name__ == "__main__":
    main()
