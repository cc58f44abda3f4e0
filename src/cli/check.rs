//! `dora check`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use dora_descriptor::{Descriptor, NodeKind, NodeSource, OperatorSource};

use dora_daemon::python;
use dora_graph::Graph;

/// Default port of the coordinator's control server (the CLI side).
const DEFAULT_COORDINATOR_PORT: u16 = 6012;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path to the dataflow descriptor file (enables additional checks)
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    dataflow: Option<PathBuf>,
    /// Address of the dora coordinator
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    coordinator_addr: IpAddr,
    /// Port number of the coordinator control server
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_COORDINATOR_PORT)]
    coordinator_port: u16,
}

/// With `--dataflow`, the exit status says whether the dataflow is valid and the coordinator
/// is only reported; without it, the exit status says whether a coordinator and at least one
/// daemon are reachable.
pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let dataflow_valid = args.dataflow.as_ref().map(|path| check_dataflow(path));

    let coordinator = SocketAddr::new(args.coordinator_addr, args.coordinator_port);
    let running = match super::client::block_on(super::up::coordinator_status(coordinator))? {
        Some(daemons) => {
            println!("coordinator: running at {coordinator}");
            if daemons.is_empty() {
                println!("daemon: none connected");
                false
            } else {
                let names: Vec<&str> = daemons
                    .iter()
                    .map(|d| dora_control::Machine(d).label())
                    .collect();
                println!("daemon: {} connected ({})", daemons.len(), names.join(", "));
                true
            }
        }
        None => {
            println!("coordinator: not reachable at {coordinator}");
            println!("daemon: unknown (no coordinator)");
            false
        }
    };

    let ok = dataflow_valid.unwrap_or(running);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Reads and validates the dataflow, prints the verdict, and says whether it is valid (for a
/// dataflow with Python nodes or operators: also whether the interpreter the daemon will use
/// has the `dora` module of this version).
fn check_dataflow(path: &std::path::Path) -> bool {
    match Descriptor::read(path) {
        Ok(descriptor) => {
            let graph = Graph::from_descriptor(&descriptor);
            println!("dataflow {} is valid: {}", path.display(), graph.summary());
            !uses_python(&descriptor) || check_python()
        }
        Err(err) => {
            eprintln!("dataflow {} is invalid:\n{err}", path.display());
            false
        }
    }
}

/// Whether the dataflow has `.py` nodes or Python operators.
fn uses_python(descriptor: &Descriptor) -> bool {
    descriptor.nodes.iter().any(|node| match &node.kind {
        NodeKind::Custom(custom) => {
            matches!(&custom.source, NodeSource::Path(path) if path.ends_with(".py"))
        }
        NodeKind::Runtime(runtime) => runtime
            .operators
            .iter()
            .any(|op| matches!(op.source, OperatorSource::Python(_))),
    })
}

/// Reports the `dora` module of the Python interpreter nodes will run with.
fn check_python() -> bool {
    let interpreter = python::interpreter();
    match python::check_module(&interpreter) {
        Ok(version) => {
            println!(
                "python: {} has the dora module {version}",
                interpreter.display()
            );
            true
        }
        Err(err) => {
            eprintln!("python: {err}");
            false
        }
    }
}
