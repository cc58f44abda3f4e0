//! `dora destroy`: stop every dataflow, then end the daemons and the coordinator, and make
//! sure the daemons of this machine and their nodes are gone.
//!
//! The coordinator names the daemons it did not see exit (still connected when it stopped
//! waiting, or lost: hung, stopped, killed) and the nodes that had to be killed after the
//! grace period. A named daemon that is a live daemon of this user on this machine (its run
//! folder says so, with its start time) is ended here, `SIGTERM` then `SIGKILL`, with the
//! process groups of its nodes; then the run folders of dead daemons are swept, which kills
//! their orphaned nodes. Everything killed is printed.

use std::process::ExitCode;

use dora_daemon::run_folder;
use dora_message::coordinator::{ControlReply, ControlRequest, DaemonProcess, KilledNode};

use super::client::{block_on, request, CoordinatorArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Use a custom configuration (accepted for compatibility; unused)
    #[arg(long, hide = true)]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    coordinator: CoordinatorArgs,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let addr = args.coordinator.socket_addr();
    if block_on(super::up::coordinator_status_checked(addr))??.is_none() {
        println!("Nothing to destroy: no dora coordinator is running at {addr}.");
        return Ok(ExitCode::SUCCESS);
    }
    match block_on(request(addr, &ControlRequest::Destroy))?? {
        ControlReply::Destroyed {
            dataflows_stopped,
            daemons,
            daemons_left,
            killed_nodes,
        } => {
            println!(
                "Stopped {dataflows_stopped} running dataflow(s); told {daemons} daemon(s) and the coordinator to exit."
            );
            print_killed_nodes(&killed_nodes);
            if !daemons_left.is_empty() {
                end_daemons(&daemons_left);
            }
            Ok(ExitCode::SUCCESS)
        }
        other => eyre::bail!("unexpected reply from the coordinator: {other:?}"),
    }
}

fn print_killed_nodes(nodes: &[KilledNode]) {
    for node in nodes {
        println!(
            "Killed node `{}` of dataflow {} ({}) on {}: it did not stop within the grace period.",
            node.node_id,
            node.dataflow_name,
            node.dataflow_id,
            dora_control::Machine(&node.machine_id)
        );
    }
}

/// Ends the daemons of this machine that did not exit, and the nodes of dead daemons.
fn end_daemons(daemons: &[DaemonProcess]) {
    for daemon in daemons {
        let machine = dora_control::Machine(&daemon.machine_id);
        let pid = daemon.pid;
        match run_folder::end_daemon(pid as i32) {
            Ok(Some(ended)) => {
                println!(
                    "Killed the daemon of {machine} (pid {pid}, {}) with {}: it did not exit.",
                    daemon.reason,
                    ended.signal.as_str()
                );
                for node in &ended.killed {
                    println!("Killed its {node}.");
                }
            }
            Ok(None) => println!(
                "The daemon of {machine} (pid {pid}) was not seen exiting ({}), and no daemon of \
                 this user with that pid runs on this machine; if it runs on another machine, \
                 end it there.",
                daemon.reason
            ),
            Err(err) => eprintln!("Could not end the daemon of {machine} (pid {pid}): {err}"),
        }
    }
    match run_folder::root() {
        Ok(root) => {
            for swept in run_folder::sweep(&root) {
                println!("Cleaned up after a crashed dora process: {swept}.");
            }
        }
        Err(err) => eprintln!("Could not look for nodes of crashed daemons: {err}"),
    }
}
