//! The `dora` command: parses the command line and hands each subcommand to its module in
//! [`cli`].

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing();
    match cli.command.exec() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Diagnostics go to stderr (a capped file with `--log-file`), filtered by `RUST_LOG` (default: warnings and errors).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rustdds=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(cli::log_file::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
