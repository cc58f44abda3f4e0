//! The results file: one CSV row per mode and size.
//!
//! Each receiver appends its rows when it is done (writing the header first when the file is
//! empty), so one file collects both modes of a run; delete it to start over.

use std::{
    fs::{self, OpenOptions},
    io::Write,
    path::Path,
};

use crate::Result;

/// The first line of the file.
pub const HEADER: &str =
    "mode,size_bytes,messages,p50_us,p90_us,p99_us,max_us,msgs_per_s,bytes_per_s";

/// The results of one size in one mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// `dora` or `floor`.
    pub mode: String,
    /// Payload size in bytes.
    pub size_bytes: u64,
    /// Latency-phase messages received, the sample of the latency columns.
    pub messages: u64,
    /// Median latency of the latency phase, in microseconds.
    pub p50_us: f64,
    /// 90th percentile of the latency phase, in microseconds.
    pub p90_us: f64,
    /// 99th percentile of the latency phase, in microseconds.
    pub p99_us: f64,
    /// Largest latency of the latency phase, in microseconds.
    pub max_us: f64,
    /// Throughput of the throughput phase, in messages per second.
    pub msgs_per_s: f64,
    /// The same in payload bytes per second.
    pub bytes_per_s: f64,
}

impl Row {
    fn to_csv(&self) -> String {
        format!(
            "{},{},{},{:.1},{:.1},{:.1},{:.1},{:.0},{:.0}",
            self.mode,
            self.size_bytes,
            self.messages,
            self.p50_us,
            self.p90_us,
            self.p99_us,
            self.max_us,
            self.msgs_per_s,
            self.bytes_per_s
        )
    }

    fn from_csv(line: &str) -> Result<Row> {
        let fields: Vec<&str> = line.split(',').collect();
        let [mode, size_bytes, messages, p50, p90, p99, max, msgs, bytes] = fields[..] else {
            return Err(format!("expected 9 fields: `{line}`").into());
        };
        Ok(Row {
            mode: mode.to_owned(),
            size_bytes: size_bytes.parse()?,
            messages: messages.parse()?,
            p50_us: p50.parse()?,
            p90_us: p90.parse()?,
            p99_us: p99.parse()?,
            max_us: max.parse()?,
            msgs_per_s: msgs.parse()?,
            bytes_per_s: bytes.parse()?,
        })
    }
}

/// Appends `rows` to the file at `path`, creating it with [`HEADER`] if needed.
pub fn append(path: &Path, rows: &[Row]) -> Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut text = String::new();
    if file.metadata()?.len() == 0 {
        text.push_str(HEADER);
        text.push('\n');
    }
    for row in rows {
        text.push_str(&row.to_csv());
        text.push('\n');
    }
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// Reads every row of the file at `path`.
pub fn read(path: &Path) -> Result<Vec<Row>> {
    let text = fs::read_to_string(path)?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(format!("{}: the first line is not `{HEADER}`", path.display()).into());
    }
    lines
        .filter(|line| !line.trim().is_empty())
        .map(Row::from_csv)
        .collect()
}

/// The results file named by `BENCHMARK_CSV`, or `benchmark.csv` in the current directory
/// (for a dora node, the dataflow's folder).
pub fn default_path() -> std::path::PathBuf {
    std::env::var_os("BENCHMARK_CSV")
        .map(Into::into)
        .unwrap_or_else(|| "benchmark.csv".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_the_file() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("dora-benchmark-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let path = dir.join("results.csv");
        let _ = fs::remove_file(&path);
        let row = Row {
            mode: "floor".into(),
            size_bytes: 4096,
            messages: 100,
            p50_us: 12.5,
            p90_us: 20.0,
            p99_us: 31.2,
            max_us: 40.0,
            msgs_per_s: 150000.0,
            bytes_per_s: 614400000.0,
        };
        append(&path, std::slice::from_ref(&row))?;
        append(&path, std::slice::from_ref(&row))?;
        assert_eq!(read(&path)?, vec![row.clone(), row]);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
