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
    // The v0.3.6 columns, and a RESTARTS column only when some node was restarted.
    let any_restarts = entries.iter().any(|e| !e.restarts.is_empty());
    if any_restarts {
        println!(
            "{:<36}  {:<name_width$}  {:<9}  RESTARTS",
            "UUID", "NAME", "STATUS"
        );
    } else {
        println!("{:<36}  {:<name_width$}  STATUS", "UUID", "NAME");
    }
    for entry in entries {
        if any_restarts {
            let restarts: Vec<String> = entry
                .restarts
                .iter()
                .map(|(node, count)| format!("{node}={count}"))
                .collect();
            let status = entry.status.to_string();
            println!(
                "{:<36}  {:<name_width$}  {status:<9}  {}",
                entry.id,
                entry.name,
                restarts.join(",")
            );
        } else {
            println!(
                "{:<36}  {:<name_width$}  {}",
                entry.id, entry.name, entry.status
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
