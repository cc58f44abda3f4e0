//! `dora logs [DATAFLOW] NODE`: a node's output through the coordinator, also after the
//! dataflow ended; `--follow` keeps streaming while it runs, `--tail N` shows the last N
//! lines, `--since` those written since a time.
//!
//! The daemon that ran the node streams its log file (format in `dora_daemon::log_file`);
//! each line is printed as `dora run` prints it: `[node] text` on stdout or stderr, a piece
//! of a split line ending with ` [continued]`, dora's own notes as `[node] dora: text`.

use std::process::ExitCode;

use dora_message::coordinator::{ControlReply, ControlRequest};

use super::client::{block_on, print_log, Control, CoordinatorArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Identifier (UUID or name) of the dataflow; may be left out when there is only one
    #[arg(value_name = "UUID_OR_NAME")]
    dataflow: Option<String>,
    /// Show logs for the given node
    #[arg(value_name = "NAME")]
    node: Option<String>,
    /// Keep printing new lines while the dataflow runs
    #[arg(long, short)]
    follow: bool,
    /// Show only the last N lines (a split line counts once per piece)
    #[arg(long, value_name = "N")]
    tail: Option<u64>,
    /// Show only lines written since TIME: a duration back from now (`30s`, `10m`, `1h`)
    /// or an RFC 3339 timestamp (`2024-05-01T12:00:00Z`)
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    since: Option<std::time::SystemTime>,
    #[command(flatten)]
    coordinator: CoordinatorArgs,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let (dataflow, node) = match (args.dataflow, args.node) {
        (Some(dataflow), Some(node)) => (Some(dataflow), node),
        (Some(node), None) => (None, node),
        _ => eyre::bail!("name the node whose logs to show: `dora logs [DATAFLOW] NODE`"),
    };
    let request = ControlRequest::Logs {
        dataflow,
        node: node.clone(),
        follow: args.follow,
        tail: args.tail,
        since: args.since,
    };
    block_on(async {
        let mut control = Control::request(args.coordinator.socket_addr(), &request).await?;
        loop {
            match control.next().await? {
                Some(ControlReply::LogLines(lines)) => lines.iter().for_each(print_log),
                Some(ControlReply::LogChunk(text)) => print_chunk(&node, &text),
                Some(ControlReply::Log(line)) => print_log(&line),
                Some(ControlReply::LogEnd) | None => return Ok(ExitCode::SUCCESS),
                Some(ControlReply::Error(message)) => return Err(eyre::eyre!(message)),
                Some(other) => eyre::bail!("unexpected reply from the coordinator: {other:?}"),
            }
        }
    })?
}

/// `--since`: a duration back from now, or an RFC 3339 timestamp.
fn parse_since(text: &str) -> Result<std::time::SystemTime, String> {
    if let Ok(duration) = humantime::parse_duration(text) {
        return std::time::SystemTime::now()
            .checked_sub(duration)
            .ok_or_else(|| format!("`{text}` reaches back before 1970"));
    }
    humantime::parse_rfc3339_weak(text).map_err(|_| {
        format!("`{text}` is neither a duration (`30s`, `10m`, `1h`) nor an RFC 3339 time (`2024-05-01T12:00:00Z`)")
    })
}

/// Prints the lines of a log-file chunk as `dora run` prints output.
fn print_chunk(node: &str, text: &str) {
    use dora_daemon::log_file::{parse_entry, Source};
    use dora_message::coordinator::CONTINUED_MARK;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for line in text.lines() {
        let _ = match parse_entry(line) {
            Some(entry) => {
                let mark = if entry.continued { CONTINUED_MARK } else { "" };
                match entry.source {
                    Source::Stdout => writeln!(out, "[{node}] {}{mark}", entry.text),
                    Source::Stderr => writeln!(err, "[{node}] {}{mark}", entry.text),
                    Source::Dora => writeln!(err, "[{node}] dora: {}", entry.text),
                }
            }
            None => writeln!(out, "[{node}] {line}"),
        };
    }
}
