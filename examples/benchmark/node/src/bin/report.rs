//! Prints the results file as two tables (latency, throughput) with the modes side by side
//! per size: `dora` (the Rust pair), `cxx` (the C++ pair) and `floor`, each when present,
//! with the ratios dora/floor and cxx/dora.
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

/// The modes in the order of the columns; a mode without rows in the file is left out.
const MODES: [&str; 3] = ["dora", "cxx", "floor"];

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
    let modes: Vec<&str> = MODES
        .into_iter()
        .filter(|mode| rows.iter().any(|row| row.mode == *mode))
        .collect();
    // dora against the floor, and the C++ pair against the Rust pair.
    let ratios = [("dora", "floor"), ("cxx", "dora")]
        .into_iter()
        .filter(|(a, b)| modes.contains(a) && modes.contains(b))
        .collect::<Vec<_>>();
    let ratio = |a: Option<&Row>, b: Option<&Row>, value: fn(&Row) -> f64| match (a, b) {
        (Some(a), Some(b)) if value(b) > 0.0 => format!("{:>9.2}", value(a) / value(b)),
        _ => format!("{:>9}", "-"),
    };

    println!("Latency phase, µs (receive time - send timestamp; 100 messages 10 ms apart)");
    let mut titles = format!("{:>10} |", "");
    let mut columns = format!("{:>10} |", "size_bytes");
    for mode in &modes {
        titles += &format!(" {mode:>8} {:>8} {:>8} {:>8} |", "", "", "");
        columns += &format!(" {:>8} {:>8} {:>8} {:>8} |", "p50", "p90", "p99", "max");
    }
    for (a, b) in &ratios {
        titles += &format!(" {:>9}", format!("{a}/"));
        columns += &format!(" {:>9}", format!("{b} p50"));
    }
    println!("{titles}\n{columns}");
    for size in SIZES {
        let mut line = format!("{size:>10} |");
        for mode in &modes {
            line += &format!(" {} |", latencies(find(mode, size)));
        }
        for (a, b) in &ratios {
            line += &format!(" {}", ratio(find(a, size), find(b, size), |r| r.p50_us));
        }
        println!("{line}");
    }

    println!();
    println!("Throughput phase (back-to-back messages, first send to last arrival)");
    let mut titles = format!("{:>10} |", "");
    let mut columns = format!("{:>10} |", "size_bytes");
    for mode in &modes {
        titles += &format!(" {mode:>10} {:>10} |", "");
        columns += &format!(" {:>10} {:>10} |", "msg/s", "MB/s");
    }
    for (a, b) in &ratios {
        titles += &format!(" {:>9}", format!("{a}/"));
        columns += &format!(" {b:>9}");
    }
    println!("{titles}\n{columns}");
    for size in SIZES {
        let mut line = format!("{size:>10} |");
        for mode in &modes {
            line += &format!(" {} |", throughput(find(mode, size)));
        }
        for (a, b) in &ratios {
            line += &format!(" {}", ratio(find(a, size), find(b, size), |r| r.msgs_per_s));
        }
        println!("{line}");
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
