//! `dora coordinator`: run the coordinator in the foreground.

use std::{net::SocketAddr, process::ExitCode};

use super::client::{block_on, DEFAULT_CONTROL_PORT, DEFAULT_DAEMON_PORT, LOCALHOST};
use dora_coordinator::{run, CoordinatorOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Network interface to bind to for daemon communication
    #[arg(long, default_value_t = LOCALHOST)]
    interface: std::net::IpAddr,
    /// Port number to bind to for daemon communication
    #[arg(long, default_value_t = DEFAULT_DAEMON_PORT)]
    port: u16,
    /// Network interface to bind to for control communication
    #[arg(long, default_value_t = LOCALHOST)]
    control_interface: std::net::IpAddr,
    /// Port number to bind to for control communication
    #[arg(long, default_value_t = DEFAULT_CONTROL_PORT)]
    control_port: u16,
    /// File holding the token that daemons and TCP clients must present; read if it
    /// exists, else created (mode 0600) [env: DORA_TOKEN_FILE]; default: a new token in
    /// ~/.dora/coordinator-<PORT>.token for each of the two ports, removed on exit
    #[arg(long, value_name = "PATH")]
    token_file: Option<std::path::PathBuf>,
    /// Suppresses all log output to stdout.
    #[arg(long)]
    quiet: bool,
    /// Write diagnostics (all of stderr) to FILE, rotated to FILE.1 at 8 MiB
    #[arg(long, value_name = "FILE")]
    log_file: Option<std::path::PathBuf>,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    if let Some(path) = &args.log_file {
        super::log_file::redirect_stderr(path)?;
    }
    let options = CoordinatorOptions {
        daemon_addr: SocketAddr::new(args.interface, args.port),
        control_addr: SocketAddr::new(args.control_interface, args.control_port),
        token_file: args.token_file.or_else(|| {
            std::env::var_os(dora_control::access::TOKEN_FILE_ENV)
                .filter(|p| !p.is_empty())
                .map(Into::into)
        }),
    };
    if !args.quiet {
        eprintln!(
            "dora coordinator: daemons on {}, control on {}",
            options.daemon_addr, options.control_addr
        );
    }
    block_on(run(options))??;
    Ok(ExitCode::SUCCESS)
}
