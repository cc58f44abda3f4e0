//! `dora destroy`: stop every dataflow, then end the daemons and the coordinator.

use std::process::ExitCode;

use dora_message::coordinator::{ControlReply, ControlRequest};

use super::client::{block_on, request, CoordinatorArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Use a custom configuration (accepted for compatibility; unused)
    #[arg(long, hide = true)]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    coordinator: CoordinatorArgs,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let addr = args.coordinator.socket_addr();
    if block_on(super::up::coordinator_status_checked(addr))??.is_none() {
        println!("Nothing to destroy: no dora coordinator is running at {addr}.");
        return Ok(ExitCode::SUCCESS);
    }
    match block_on(request(addr, &ControlRequest::Destroy))?? {
        ControlReply::Destroyed {
            dataflows_stopped,
            daemons,
        } => {
            println!(
                "Stopped {dataflows_stopped} running dataflow(s); told {daemons} daemon(s) and the coordinator to exit."
            );
            Ok(ExitCode::SUCCESS)
        }
        other => eyre::bail!("unexpected reply from the coordinator: {other:?}"),
    }
}
