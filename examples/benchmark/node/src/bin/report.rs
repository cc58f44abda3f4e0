//! Prints the results file as two tables, dora and the floor side by side per size.
//!
//! ```text
//! benchmark-report [PATH]
//! ```
//!
//! PATH defaults to `BENCHMARK_CSV`, or `benchmark.csv`. A mode missing for a size is shown
//! as `-`.

use std::{path::PathBuf, process::ExitCode};

use dora_benchmark::{
    plan::SIZES,
    results::{self, Row},
    Result,
};

fn run() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(results::default_path);
    let rows = results::read(&path)?;
    let find = |mode: &str, size: usize| {
        rows.iter()
            .find(|row| row.mode == mode && row.size_bytes == size as u64)
    };

    println!("Latency phase, µs (receive time - send timestamp; 100 messages 10 ms apart)");
    println!(
        "{:>10} | {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} {:>8} | {:>8}",
        "", "dora", "", "", "", "floor", "", "", "", "dora/"
    );
    println!(
        "{:>10} | {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} {:>8} | {:>8}",
        "size_bytes", "p50", "p90", "p99", "max", "p50", "p90", "p99", "max", "floor p50"
    );
    for size in SIZES {
        let (dora, floor) = (find("dora", size), find("floor", size));
        let ratio = match (dora, floor) {
            (Some(d), Some(f)) if f.p50_us > 0.0 => format!("{:.2}", d.p50_us / f.p50_us),
            _ => "-".into(),
        };
        println!(
            "{size:>10} | {} | {} | {ratio:>8}",
            latencies(dora),
            latencies(floor)
        );
    }

    println!();
    println!("Throughput phase (back-to-back messages, first send to last arrival)");
    println!(
        "{:>10} | {:>10} {:>10} | {:>10} {:>10} | {:>8}",
        "", "dora", "", "floor", "", "dora/"
    );
    println!(
        "{:>10} | {:>10} {:>10} | {:>10} {:>10} | {:>8}",
        "size_bytes", "msg/s", "MB/s", "msg/s", "MB/s", "floor"
    );
    for size in SIZES {
        let (dora, floor) = (find("dora", size), find("floor", size));
        let ratio = match (dora, floor) {
            (Some(d), Some(f)) if f.msgs_per_s > 0.0 => {
                format!("{:.2}", d.msgs_per_s / f.msgs_per_s)
            }
            _ => "-".into(),
        };
        println!(
            "{size:>10} | {} | {} | {ratio:>8}",
            throughput(dora),
            throughput(floor)
        );
    }
    Ok(())
}

/// The four latency columns of one mode.
fn latencies(row: Option<&Row>) -> String {
    match row {
        Some(row) => format!(
            "{:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            row.p50_us, row.p90_us, row.p99_us, row.max_us
        ),
        None => format!("{:>8} {:>8} {:>8} {:>8}", "-", "-", "-", "-"),
    }
}

/// The two throughput columns of one mode.
fn throughput(row: Option<&Row>) -> String {
    match row {
        Some(row) => format!("{:>10.0} {:>10.1}", row.msgs_per_s, row.bytes_per_s / 1e6),
        None => format!("{:>10} {:>10}", "-", "-"),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("benchmark-report: {err}");
            ExitCode::FAILURE
        }
    }
}
