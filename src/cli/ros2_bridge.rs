//! `dora ros2-bridge` (hidden): the process of a `ros2:` node, started by the daemon.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn exec(_args: Args) -> eyre::Result<ExitCode> {
    match dora_ros2_bridge::run_from_env() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => {
            // One line, so it ends the node's stderr tail.
            eprintln!("error: {err:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}
