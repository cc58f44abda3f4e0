//! The `dora` command: parses the command line and hands each subcommand to its module in
//! [`cli`].

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if cli.command.ends_on_broken_pipe() {
        restore_sigpipe();
    }
    init_tracing();
    match cli.command.exec() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Gives `SIGPIPE` back its default action (end the process), which the Rust runtime replaces
/// by "ignore" so that a write to a closed pipe is an error instead; `println!` panics on that
/// error.
fn restore_sigpipe() {
    // SAFETY: called before any other thread exists; `SIG_DFL` installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
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
