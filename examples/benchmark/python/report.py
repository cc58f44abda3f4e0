"""Prints the Python pair against the Rust pair from a results file of `python.sh`: latency
p50/p90 per size for both, the p50 that Python adds, and throughput. With several rounds, a
column is the median over the rounds and the difference is the median of the per-round
differences.

    python3 report.py RESULTS.csv
"""

import csv
import statistics
import sys

from plan import SIZES


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "benchmark-python.csv"
    with open(path) as f:
        rows = list(csv.DictReader(f))

    def rounds(mode, size):
        return [r for r in rows if r["mode"] == mode and int(r["size_bytes"]) == size]

    def median(mode, size, column):
        values = [float(r[column]) for r in rounds(mode, size)]
        return statistics.median(values) if values else float("nan")

    print("latency (µs; median over rounds)      Rust = dora Rust pair, Python = Python pair")
    print(f"{'size':>10} {'Rust p50':>9} {'Py p50':>9} {'Py-Rust':>9} {'Rust p90':>9} {'Py p90':>9}")
    for size in SIZES:
        diffs = [
            float(p["p50_us"]) - float(r["p50_us"])
            for r, p in zip(rounds("dora", size), rounds("python", size))
        ]
        diff = statistics.median(diffs) if diffs else float("nan")
        print(
            f"{size:>10} {median('dora', size, 'p50_us'):>9.1f} "
            f"{median('python', size, 'p50_us'):>9.1f} {diff:>+9.1f} "
            f"{median('dora', size, 'p90_us'):>9.1f} {median('python', size, 'p90_us'):>9.1f}"
        )
    print()
    print("throughput (messages/s; median over rounds)")
    print(f"{'size':>10} {'Rust':>10} {'Python':>10}")
    for size in SIZES:
        print(
            f"{size:>10} {median('dora', size, 'msgs_per_s'):>10.0f} "
            f"{median('python', size, 'msgs_per_s'):>10.0f}"
        )


if __name__ == "__main__":
    main()
