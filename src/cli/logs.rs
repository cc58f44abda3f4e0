//! `dora logs [DATAFLOW] NODE`: a node's output through the coordinator, also after the
//! dataflow ended; `--follow` keeps streaming while it runs.

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
        node,
        follow: args.follow,
    };
    block_on(async {
        let mut control = Control::request(args.coordinator.socket_addr(), &request).await?;
        loop {
            match control.next().await? {
                Some(ControlReply::LogLines(lines)) => lines.iter().for_each(print_log),
                Some(ControlReply::Log(line)) => print_log(&line),
                Some(ControlReply::LogEnd) | None => return Ok(ExitCode::SUCCESS),
                Some(ControlReply::Error(message)) => return Err(eyre::eyre!(message)),
                Some(other) => eyre::bail!("unexpected reply from the coordinator: {other:?}"),
            }
        }
    })?
}
