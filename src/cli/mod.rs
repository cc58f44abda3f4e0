//! Command-line front end: one module per subcommand. Each turns its clap arguments into
//! options and calls a library operation; none holds logic a test could not call directly.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod build;
mod check;
mod client;
mod coordinator;
mod daemon;
mod destroy;
mod graph;
mod list;
pub mod log_file;
mod logs;
mod new;
mod ros2_bridge;
mod run;
mod runtime;
mod start;
mod stop;
mod up;

/// dora-rs cli client
#[derive(Debug, Parser)]
#[command(name = "dora", version, about = "dora-rs cli client")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check if the coordinator and the daemon is running
    Check(check::Args),
    /// Generate a visualization of the given graph using mermaid.js. Use --open to open browser
    Graph(graph::Args),
    /// Run build commands provided in the given dataflow
    Build(build::Args),
    /// Generate a new project, node or operator. Choose the language between Rust, Python, C or C++
    New(new::Args),
    /// Spawn a coordinator and a daemon
    Up(up::Args),
    /// Destroy running coordinator and daemon. If some dataflows are still running, they will be stopped first
    Destroy(destroy::Args),
    /// Start the given dataflow path. Attach a name to the running dataflow by using --name
    Start(start::Args),
    /// Stop the given dataflow UUID. If no id is provided, you will be able to choose between the running dataflows
    Stop(stop::Args),
    /// List running dataflows
    List(list::Args),
    /// Show logs of a given dataflow and node
    Logs(logs::Args),
    /// Run daemon
    Daemon(daemon::Args),
    /// Run runtime
    Runtime(runtime::Args),
    /// Run coordinator
    Coordinator(coordinator::Args),
    /// Run the given dataflow on this machine, without a coordinator or daemon running
    Run(run::Args),
    /// Run a ROS 2 bridge node (started by the daemon for nodes declared with `ros2:`)
    #[command(hide = true)]
    Ros2Bridge(ros2_bridge::Args),
}

impl Command {
    /// Whether the command only prints and ends, owning no process or socket that must be
    /// cleaned up: such a command is ended by `SIGPIPE` when its output is a closed pipe
    /// (`dora check | head -1`), quietly and with the conventional status 141, as `cat` is.
    /// `daemon`, `coordinator`, `runtime`, `run` and `ros2-bridge` own nodes, sockets or
    /// dataflows: for them a write to a closed pipe or socket stays an error they handle
    /// (`dora run` keeps every node's output in its log files and runs the dataflow to its
    /// end).
    pub fn ends_on_broken_pipe(&self) -> bool {
        match self {
            Command::Check(_)
            | Command::Graph(_)
            | Command::Build(_)
            | Command::New(_)
            | Command::Up(_)
            | Command::Destroy(_)
            | Command::Start(_)
            | Command::Stop(_)
            | Command::List(_)
            | Command::Logs(_) => true,
            Command::Daemon(_)
            | Command::Runtime(_)
            | Command::Coordinator(_)
            | Command::Run(_)
            | Command::Ros2Bridge(_) => false,
        }
    }

    pub fn exec(self) -> eyre::Result<ExitCode> {
        match self {
            Command::Check(args) => check::exec(args),
            Command::Graph(args) => graph::exec(args),
            Command::Build(args) => build::exec(args),
            Command::New(args) => new::exec(args),
            Command::Up(args) => up::exec(args),
            Command::Destroy(args) => destroy::exec(args),
            Command::Start(args) => start::exec(args),
            Command::Stop(args) => stop::exec(args),
            Command::List(args) => list::exec(args),
            Command::Logs(args) => logs::exec(args),
            Command::Daemon(args) => daemon::exec(args),
            Command::Runtime(args) => runtime::exec(args),
            Command::Coordinator(args) => coordinator::exec(args),
            Command::Run(args) => run::exec(args),
            Command::Ros2Bridge(args) => ros2_bridge::exec(args),
        }
    }
}
