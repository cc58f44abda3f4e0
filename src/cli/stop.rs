//! `dora stop`: stop a dataflow by UUID, by name, or the only running one; wait until it has
//! stopped and report nodes killed after the grace period and nodes that failed.
//!
//! Exit status: 0 when the dataflow was stopped; 1 when there was nothing to stop (no
//! dataflow runs, or the one named had already finished, whose status is then shown) or on
//! an error.

use std::{
    io::{BufRead, IsTerminal, Write},
    process::ExitCode,
    time::Duration,
};

use dora_message::coordinator::{ControlReply, ControlRequest, DataflowResult, DataflowStatus};

use super::client::{block_on, request, CoordinatorArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// UUID of the dataflow that should be stopped
    uuid: Option<String>,
    /// Name of the dataflow that should be stopped
    #[arg(long)]
    name: Option<String>,
    /// Kill the dataflow if it doesn't stop after the given duration (e.g. 500ms, 5s)
    #[arg(long, value_name = "DURATION", value_parser = super::run::parse_duration)]
    grace_duration: Option<Duration>,
    #[command(flatten)]
    coordinator: CoordinatorArgs,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let addr = args.coordinator.socket_addr();
    let dataflow = match args.uuid.or(args.name) {
        Some(dataflow) => dataflow,
        None => match choose(addr)? {
            Some(dataflow) => dataflow,
            None => return Ok(ExitCode::FAILURE),
        },
    };
    let reply = block_on(request(
        addr,
        &ControlRequest::Stop {
            dataflow: Some(dataflow),
            grace_duration: args.grace_duration,
        },
    ))??;
    let result = match reply {
        ControlReply::Stopped(result) => result,
        ControlReply::Finished(result) => {
            report_already_finished(&result);
            return Ok(ExitCode::FAILURE);
        }
        other => eyre::bail!("unexpected reply from the coordinator: {other:?}"),
    };
    println!("dataflow {} ({}) stopped", result.id, result.name);
    for node in &result.nodes {
        if node.killed {
            println!(
                "node `{}` was killed: it did not stop within the grace period",
                node.node_id
            );
        } else if let Some(failure) = &node.failure {
            println!("node `{}` failed: {failure}", node.node_id);
        }
    }
    for error in &result.errors {
        println!("{error}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Says that the dataflow had ended before `dora stop`, and how: nothing was stopped.
fn report_already_finished(result: &DataflowResult) {
    let status = if result.is_success() {
        DataflowStatus::Succeeded
    } else {
        DataflowStatus::Failed
    };
    eprintln!(
        "dataflow {} ({}) had already finished ({status}); nothing was stopped",
        result.id, result.name
    );
    for node in &result.nodes {
        if let Some(failure) = &node.failure {
            eprintln!("node `{}` {failure}", node.node_id);
        }
    }
    for error in &result.errors {
        eprintln!("{error}");
    }
}

/// The one running dataflow, or one picked on the terminal among several.
fn choose(addr: std::net::SocketAddr) -> eyre::Result<Option<String>> {
    let reply = block_on(request(addr, &ControlRequest::List))??;
    let ControlReply::List(entries) = reply else {
        eyre::bail!("unexpected reply from the coordinator: {reply:?}");
    };
    let running: Vec<_> = entries
        .into_iter()
        .filter(|e| e.status == DataflowStatus::Running)
        .collect();
    match running.as_slice() {
        [] => {
            eprintln!("No dataflow is running.");
            Ok(None)
        }
        [one] => Ok(Some(one.id.clone())),
        many => {
            let listing: Vec<String> = many
                .iter()
                .enumerate()
                .map(|(i, e)| format!("  {}) {} ({})", i + 1, e.id, e.name))
                .collect();
            if !std::io::stdin().is_terminal() {
                eyre::bail!(
                    "several dataflows are running; name one (by UUID or --name):\n{}",
                    listing.join("\n")
                );
            }
            println!("Several dataflows are running:\n{}", listing.join("\n"));
            print!("Which one should stop? [1-{}] ", many.len());
            std::io::stdout().flush()?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            match answer.trim().parse::<usize>() {
                Ok(n) if (1..=many.len()).contains(&n) => Ok(Some(many[n - 1].id.clone())),
                _ => eyre::bail!("`{}` is not one of 1-{}", answer.trim(), many.len()),
            }
        }
    }
}
