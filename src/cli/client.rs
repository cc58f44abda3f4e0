//! Talking to the coordinator from the CLI.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    pin::Pin,
    sync::OnceLock,
};

use dora_control::{
    access::{self, Token},
    net::{connect_unix, connect_with_token, read_frame, write_frame},
};
use dora_message::coordinator::{ControlReply, ControlRequest, Role};
use tokio::io::{AsyncRead, AsyncWrite};

/// Default port of the coordinator's control endpoint.
pub const DEFAULT_CONTROL_PORT: u16 = 6012;
/// Default port where the coordinator listens for daemons.
pub const DEFAULT_DAEMON_PORT: u16 = 53290;
/// Default port where a daemon listens for dynamic nodes.
pub const DEFAULT_LOCAL_LISTEN_PORT: u16 = dora_message::node_daemon::DEFAULT_LOCAL_LISTEN_PORT;
/// Default address of everything: this machine only.
pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Where the coordinator's control endpoint is (`--coordinator-addr`, `--coordinator-port`).
#[derive(Debug, Clone, clap::Args)]
pub struct CoordinatorArgs {
    /// Address of the dora coordinator
    #[arg(long, value_name = "IP", default_value_t = LOCALHOST)]
    pub coordinator_addr: IpAddr,
    /// Port number of the coordinator control server
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_CONTROL_PORT)]
    pub coordinator_port: u16,
    /// The coordinator's token file, needed when the coordinator is reached over TCP (an
    /// address other than loopback) [env: DORA_TOKEN_FILE]; default: the file the
    /// coordinator wrote on this machine
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// The token file of this process's requests (`--token-file`), set by
/// [`CoordinatorArgs::socket_addr`]: a CLI process talks to one coordinator.
static TOKEN_FILE: OnceLock<PathBuf> = OnceLock::new();

impl CoordinatorArgs {
    /// The coordinator's control address. Also makes `--token-file` the token file the
    /// requests of this process present.
    pub fn socket_addr(&self) -> SocketAddr {
        if let Some(path) = &self.token_file {
            let _ = TOKEN_FILE.set(path.clone());
        }
        SocketAddr::new(self.coordinator_addr, self.coordinator_port)
    }
}

/// A connection to the coordinator, over its local socket or TCP.
trait Stream: AsyncRead + AsyncWrite + Send {}
impl<S: AsyncRead + AsyncWrite + Send> Stream for S {}

/// Connects to the coordinator whose control endpoint is `addr`: on a loopback address
/// through its Unix socket (where the kernel tells it who we are), else over TCP with its
/// token.
async fn connect(addr: SocketAddr) -> eyre::Result<Pin<Box<dyn Stream>>> {
    if addr.ip().is_loopback() {
        let path = access::control_socket_path(addr.port());
        return Ok(Box::pin(connect_unix(&path, Role::Cli).await?));
    }
    let path = access::token_path(TOKEN_FILE.get().map(PathBuf::as_path), addr.port())?;
    let token = Token::read(&path).map_err(|err| {
        eyre::eyre!(
            "{err}; a coordinator reached over TCP needs its token: copy its token file and \
             pass it with --token-file (or set {})",
            access::TOKEN_FILE_ENV
        )
    })?;
    Ok(Box::pin(
        connect_with_token(addr, Role::Cli, Some(&token)).await?,
    ))
}

/// A coordinator answered but refused this user, or is not one this user trusts: unlike
/// an unreachable coordinator, it is there.
#[derive(Debug)]
pub struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// One request to the coordinator and its replies.
pub struct Control {
    stream: Pin<Box<dyn Stream>>,
}

impl Control {
    /// Connects and sends `request`.
    pub async fn request(addr: SocketAddr, request: &ControlRequest) -> eyre::Result<Self> {
        let mut stream = connect(addr).await.map_err(|err| {
            let err = format!("{err:#}");
            if err.contains("refused: ") || err.contains("not talking to it") {
                // It answered: say why it refused, not that it is missing.
                eyre::Report::new(Refused(format!("the dora coordinator at {addr}: {err}")))
            } else {
                eyre::eyre!(
                    "no dora coordinator is reachable at {addr} ({err}); start one with `dora up`"
                )
            }
        })?;
        write_frame(&mut stream, request).await.map_err(|err| {
            eyre::eyre!("sending the request to the coordinator at {addr}: {err}")
        })?;
        Ok(Self { stream })
    }

    /// The next reply; `None` once the coordinator ended the exchange.
    pub async fn next(&mut self) -> eyre::Result<Option<ControlReply>> {
        read_frame(&mut self.stream)
            .await
            .map_err(|err| eyre::eyre!("reading the coordinator's reply: {err}"))
    }

    /// The single reply of a request; an `Error` reply becomes an error.
    pub async fn reply(mut self) -> eyre::Result<ControlReply> {
        match self.next().await? {
            Some(ControlReply::Error(message)) => Err(eyre::eyre!(message)),
            Some(reply) => Ok(reply),
            None => Err(eyre::eyre!(
                "the coordinator closed the connection without replying"
            )),
        }
    }
}

/// Sends one request and returns its single reply.
pub async fn request(addr: SocketAddr, request: &ControlRequest) -> eyre::Result<ControlReply> {
    Control::request(addr, request).await?.reply().await
}

/// Runs a future on a small runtime (CLI commands are short-lived and mostly wait on I/O).
pub fn block_on<F: std::future::Future>(future: F) -> eyre::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| eyre::eyre!("starting the async runtime: {err}"))?;
    Ok(runtime.block_on(future))
}

/// Prints a log line as `dora run` does (a piece of a split line ends with
/// [`dora_message::coordinator::CONTINUED_MARK`]).
pub fn print_log(line: &dora_message::coordinator::LogLine) {
    use std::io::Write;
    let mark = if line.continued {
        dora_message::coordinator::CONTINUED_MARK
    } else {
        ""
    };
    if line.stderr {
        let _ = writeln!(
            std::io::stderr().lock(),
            "[{}] {}{mark}",
            line.node_id,
            line.line
        );
    } else {
        let _ = writeln!(
            std::io::stdout().lock(),
            "[{}] {}{mark}",
            line.node_id,
            line.line
        );
    }
}

/// Prints the outcome of a dataflow; returns whether it succeeded.
pub fn print_result(result: &dora_message::coordinator::DataflowResult) -> bool {
    for error in &result.errors {
        eprintln!("dora: {error}");
    }
    for node in &result.nodes {
        if let Some(failure) = &node.failure {
            eprintln!("dora: node `{}` {failure}", node.node_id);
            if !node.stderr_tail.is_empty() && !node.killed {
                eprintln!("  last lines of its stderr:");
                for line in &node.stderr_tail {
                    eprintln!("    {line}");
                }
            }
        }
    }
    let success = result.is_success();
    if success {
        eprintln!(
            "dora: dataflow {} ({}) finished successfully",
            result.id, result.name
        );
    } else {
        eprintln!("dora: dataflow {} ({}) failed", result.id, result.name);
    }
    success
}
