"""The benchmark schedule of `node/src/plan.rs` and the message header, for the Python pair.

Keep equal to plan.rs: the report compares the Python pair with the Rust pair size by size.
"""

import fcntl
import os
import time

SIZES = [0, 8, 64, 512, 2048, 4096, 16384, 40960, 409600, 4096000, 40960000]
LATENCY_MESSAGES = 100
LATENCY_INTERVAL_S = 0.010
LATENCY_BLOCK = 10
SIZE_GAP_S = 0.100
SETTLE_S = 2.0
LATE_LIMIT_S = 1.0
CSV_HEADER = "mode,size_bytes,messages,p50_us,p90_us,p99_us,max_us,msgs_per_s,bytes_per_s"


def throughput_messages(size):
    large_total_bytes = 4_000_000_000
    if size <= 2048:
        return 200_000
    if size <= 40960:
        return 100_000
    return max(50, min(10_000, large_total_bytes // size))


class Schedule:
    """When a mode sends, alone or taking turns with other modes (`plan::Schedule`).

    From `BENCHMARK_START_NS` (the common start, nanoseconds since the Unix epoch),
    `BENCHMARK_MODES` (the modes in the order of their turns, comma-separated) and
    `BENCHMARK_LOCK` (the file whose exclusive lock the throughput phases take turns on);
    without them, the mode runs alone and starts `SETTLE_S` from now.
    """

    def __init__(self, mode):
        start = os.environ.get("BENCHMARK_START_NS") or None
        modes = os.environ.get("BENCHMARK_MODES") or None
        lock = os.environ.get("BENCHMARK_LOCK") or None
        if start is None and modes is None and lock is None:
            self.start = time.time() + SETTLE_S
            self.turn, self.modes, self.lock = 0, 1, None
            return
        if start is None or modes is None or lock is None:
            raise SystemExit(
                "set all of BENCHMARK_START_NS, BENCHMARK_MODES and BENCHMARK_LOCK, or none"
            )
        try:
            self.start = int(start) / 1e9
        except ValueError:
            raise SystemExit(f"BENCHMARK_START_NS=`{start}` is not a number of nanoseconds")
        names = [name.strip() for name in modes.split(",")]
        if mode not in names:
            raise SystemExit(f"BENCHMARK_MODES=`{modes}` does not list `{mode}`")
        self.turn, self.modes, self.lock = names.index(mode), len(names), lock

    def check_not_late(self):
        late = time.time() - self.start
        if late > LATE_LIMIT_S:
            raise SystemExit(
                f"ready {late * 1000:.0f} ms after the common start: its latency messages "
                "would not fall in its turns"
            )

    def size_span(self):
        return LATENCY_INTERVAL_S * LATENCY_MESSAGES * self.modes + SIZE_GAP_S

    def message_due(self, size_index, seq):
        """In this mode's turn of block `seq // LATENCY_BLOCK` (`Schedule::message_due`)."""
        turns = (seq // LATENCY_BLOCK) * self.modes + self.turn
        return (
            self.start
            + self.size_span() * size_index
            + LATENCY_INTERVAL_S * (turns * LATENCY_BLOCK + seq % LATENCY_BLOCK)
        )

    def latency_end(self):
        return self.start + self.size_span() * len(SIZES)

    def take_turn(self):
        """The open lock file once this mode's turn to load the machine came; close it to
        end the turn (`None` when running alone)."""
        if self.lock is None:
            return None
        file = open(self.lock, "a")
        fcntl.flock(file, fcntl.LOCK_EX)
        return file


def sleep_until(due):
    wait = due - time.time()
    if wait > 0:
        time.sleep(wait)
