//! `dora runtime`: hosts the operators of one node; started by the daemon, not by users.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args) -> eyre::Result<ExitCode> {
    match dora_runtime::run_from_env() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => {
            // One line with the whole cause chain, so it ends the node's stderr (the daemon
            // shows the last lines of a failed node), without a backtrace in between.
            eprintln!("error: {err:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}
