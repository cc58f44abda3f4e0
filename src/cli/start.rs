//! `dora start`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments are accepted but ignored until the command is implemented.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

pub fn exec(_args: Args) -> eyre::Result<ExitCode> {
    super::not_implemented("start")
}
