//! `dora list`: the dataflows the coordinator knows, running and finished.

use std::process::ExitCode;

use dora_message::coordinator::{ControlReply, ControlRequest};

use super::client::{block_on, request, CoordinatorArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    coordinator: CoordinatorArgs,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let reply = block_on(request(
        args.coordinator.socket_addr(),
        &ControlRequest::List,
    ))??;
    let ControlReply::List(entries) = reply else {
        eyre::bail!("unexpected reply from the coordinator: {reply:?}");
    };
    if entries.is_empty() {
        println!("No dataflows.");
        return Ok(ExitCode::SUCCESS);
    }
    let name_width = entries
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("{:<36}  {:<name_width$}  STATUS", "UUID", "NAME");
    for entry in entries {
        println!(
            "{:<36}  {:<name_width$}  {}",
            entry.id, entry.name, entry.status
        );
    }
    Ok(ExitCode::SUCCESS)
}
