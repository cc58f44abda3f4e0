//! `dora start`: validate a dataflow here, start it through the coordinator, and (by default)
//! stay attached: stream its output until it ends. The first Ctrl-C stops the dataflow, the
//! second leaves it stopping and returns.

use std::{path::PathBuf, process::ExitCode};

use dora_descriptor::Descriptor;
use dora_message::coordinator::{ControlReply, ControlRequest};
use eyre::WrapErr;

use super::client::{block_on, print_log, print_result, request, Control, CoordinatorArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path to the dataflow descriptor file
    #[arg(value_name = "PATH")]
    dataflow: PathBuf,
    /// Assign a name to the dataflow
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    coordinator: CoordinatorArgs,
    /// Attach to the dataflow and wait for its completion
    #[arg(long, action)]
    attach: bool,
    /// Run the dataflow in background
    #[arg(long, action, conflicts_with = "attach")]
    detach: bool,
    /// Enable hot reloading (Python only)
    #[arg(long, action)]
    hot_reload: bool,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    // Validate here first: an invalid dataflow sends nothing to the coordinator.
    if let Err(err) = Descriptor::read(&args.dataflow) {
        eprintln!("{err}");
        return Ok(ExitCode::FAILURE);
    }
    let path = args
        .dataflow
        .canonicalize()
        .wrap_err_with(|| format!("resolving {}", args.dataflow.display()))?;
    let descriptor =
        std::fs::read_to_string(&path).wrap_err_with(|| format!("reading {}", path.display()))?;
    let addr = args.coordinator.socket_addr();
    let start = ControlRequest::Start {
        descriptor,
        path,
        name: args.name,
        hot_reload: args.hot_reload,
    };
    block_on(async move {
        let (id, name) = match request(addr, &start).await? {
            ControlReply::Started { id, name } => (id, name),
            other => eyre::bail!("unexpected reply from the coordinator: {other:?}"),
        };
        println!("dataflow started: {id}");
        println!("name: {name}");
        if args.detach {
            return Ok(ExitCode::SUCCESS);
        }
        attach(addr, id).await
    })?
}

async fn attach(addr: std::net::SocketAddr, id: String) -> eyre::Result<ExitCode> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut control = Control::request(
        addr,
        &ControlRequest::Attach {
            dataflow: id.clone(),
        },
    )
    .await?;
    let mut sigint = signal(SignalKind::interrupt()).wrap_err("installing the SIGINT handler")?;
    let mut stop_requested = false;
    loop {
        tokio::select! {
            reply = control.next() => match reply? {
                Some(ControlReply::Log(line)) => print_log(&line),
                Some(ControlReply::Notice(message)) => eprintln!("dora: {message}"),
                Some(ControlReply::Finished(result)) => {
                    return Ok(if print_result(&result) { ExitCode::SUCCESS } else { ExitCode::FAILURE });
                }
                Some(ControlReply::Error(message)) => eyre::bail!(message),
                Some(other) => eyre::bail!("unexpected reply from the coordinator: {other:?}"),
                None => eyre::bail!("lost the connection to the coordinator"),
            },
            _ = sigint.recv() => {
                if stop_requested {
                    eprintln!("dora: detached; the dataflow {id} is still stopping");
                    return Ok(ExitCode::from(130));
                }
                stop_requested = true;
                eprintln!("dora: stopping dataflow {id} (press Ctrl-C again to stop waiting)");
                let stop = ControlRequest::Stop { dataflow: Some(id.clone()), grace_duration: None };
                tokio::spawn(async move {
                    if let Err(err) = request(addr, &stop).await {
                        eprintln!("dora: stopping failed: {err:#}");
                    }
                });
            }
        }
    }
}
