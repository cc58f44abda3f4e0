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
//!
//! A file may hold several rounds (`run.sh --rounds N` runs the modes in turn N times): each
//! column then shows the median over the rounds, and a ratio is the median of the per-round
//! ratios, pairing the i-th row of one mode with the i-th row of the other. Modes that ran
//! next to each other in time are compared, so a load that comes and goes on the machine
//! moves both sides of a ratio alike.

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
    let rounds_of = |mode: &str, size: usize| -> Vec<&Row> {
        rows.iter()
            .filter(|row| row.mode == mode && row.size_bytes == size as u64)
            .collect()
    };
    let find = |mode: &str, size: usize| median_row(&rounds_of(mode, size));
    let rounds = MODES
        .iter()
        .flat_map(|mode| SIZES.iter().map(|&size| rounds_of(mode, size).len()))
        .max()
        .unwrap_or(0);
    let modes: Vec<&str> = MODES
        .into_iter()
        .filter(|mode| rows.iter().any(|row| row.mode == *mode))
        .collect();
    // dora against the floor, and the C++ pair against the Rust pair.
    let ratios = [("dora", "floor"), ("cxx", "dora")]
        .into_iter()
        .filter(|(a, b)| modes.contains(a) && modes.contains(b))
        .collect::<Vec<_>>();
    let ratio = |a: &str, b: &str, size: usize, value: fn(&Row) -> f64| {
        let ratios: Vec<f64> = rounds_of(a, size)
            .into_iter()
            .zip(rounds_of(b, size))
            .filter(|(_, b)| value(b) > 0.0)
            .map(|(a, b)| value(a) / value(b))
            .collect();
        match median(ratios) {
            Some(ratio) => format!("{ratio:>9.2}"),
            None => format!("{:>9}", "-"),
        }
    };

    if rounds > 1 {
        println!(
            "{rounds} rounds: each value is the median over the rounds, each ratio the median \
             of the per-round ratios"
        );
        println!();
    }
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
            line += &format!(" {} |", latencies(find(mode, size).as_ref()));
        }
        for (a, b) in &ratios {
            line += &format!(" {}", ratio(a, b, size, |r| r.p50_us));
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
            line += &format!(" {} |", throughput(find(mode, size).as_ref()));
        }
        for (a, b) in &ratios {
            line += &format!(" {}", ratio(a, b, size, |r| r.msgs_per_s));
        }
        println!("{line}");
    }
    Ok(())
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// A row whose every measured column is the median of that column over `rounds`.
fn median_row(rounds: &[&Row]) -> Option<Row> {
    let first = rounds.first()?;
    let column = |value: fn(&Row) -> f64| {
        median(rounds.iter().map(|row| value(row)).collect()).unwrap_or(0.0)
    };
    Some(Row {
        mode: first.mode.clone(),
        size_bytes: first.size_bytes,
        messages: rounds.iter().map(|row| row.messages).min().unwrap_or(0),
        p50_us: column(|r| r.p50_us),
        p90_us: column(|r| r.p90_us),
        p99_us: column(|r| r.p99_us),
        max_us: column(|r| r.max_us),
        msgs_per_s: column(|r| r.msgs_per_s),
        bytes_per_s: column(|r| r.bytes_per_s),
    })
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
