"""The benchmark schedule of `node/src/plan.rs` and the message header, for the Python pair.

Keep equal to plan.rs: the report compares the Python pair with the Rust pair size by size.
"""

SIZES = [0, 8, 64, 512, 2048, 4096, 16384, 40960, 409600, 4096000, 40960000]
LATENCY_MESSAGES = 100
LATENCY_INTERVAL_S = 0.010
SETTLE_S = 2.0
CSV_HEADER = "mode,size_bytes,messages,p50_us,p90_us,p99_us,max_us,msgs_per_s,bytes_per_s"


def throughput_messages(size):
    large_total_bytes = 4_000_000_000
    if size <= 2048:
        return 200_000
    if size <= 40960:
        return 100_000
    return max(50, min(10_000, large_total_bytes // size))
