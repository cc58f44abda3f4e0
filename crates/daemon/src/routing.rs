//! Routing, decided once before any node starts.
//!
//! Every pair of nodes that exchange messages (in either direction) gets one
//! `SOCK_SEQPACKET` socket pair; each node inherits its end and learns from its
//! [`NodeConfig`] which of its outputs go to that peer and which of the peer's outputs feed
//! which of its inputs. Inputs the daemon itself feeds — timers and the lines of a
//! `send_stdout_as` node — are listed separately.

use std::{
    collections::{BTreeMap, BTreeSet},
    os::fd::{AsRawFd, OwnedFd},
    time::Duration,
};

use dora_descriptor::{InputMapping, Node, NodeKind};
use dora_message::config::{DaemonAddress, InputConfig, NodeConfig, PeerConfig};
use eyre::WrapErr;
use nix::sys::socket::{setsockopt, socketpair, sockopt, AddressFamily, SockFlag, SockType};

/// Socket buffer asked for on data connections, so bursts do not block senders.
const DATA_SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Where a daemon-fed input is: node index and input index.
pub type InputRef = (usize, u16);

/// The routing plan of a dataflow.
#[derive(Debug)]
pub struct Routing {
    /// Per node, the configuration to pass in `DORA_NODE_CONFIG`.
    pub configs: Vec<NodeConfig>,
    /// Per node, the descriptors it must inherit.
    pub fds: Vec<Vec<OwnedFd>>,
    /// Timer interval → the inputs it feeds.
    pub timers: BTreeMap<Duration, Vec<InputRef>>,
    /// Per node, when it has `send_stdout_as`: the inputs its stdout lines feed.
    pub stdout_routes: Vec<Vec<InputRef>>,
    /// Connections between local nodes and other machines (see [`super::remote`]).
    pub bridges: Vec<super::remote::Bridge>,
}

/// The process-level view of a node: inputs and outputs as its process sees them
/// (`operator/id` for the operators of a runtime node).
struct RouteNode<'a> {
    id: &'a str,
    inputs: Vec<(String, &'a dora_descriptor::Input)>,
    outputs: Vec<String>,
    /// The output fed by the process's stdout lines.
    stdout_as: Option<String>,
}

impl<'a> RouteNode<'a> {
    fn new(node: &'a Node) -> Self {
        let stdout_as = match &node.kind {
            NodeKind::Custom(custom) => custom.send_stdout_as.clone(),
            // The runtime process's stdout carries every operator's prints; the descriptor
            // lets at most one operator claim it, and that operator's output gets them all.
            NodeKind::Runtime(runtime) => runtime.operators.iter().find_map(|op| {
                op.send_stdout_as
                    .as_ref()
                    .map(|out| format!("{}/{out}", op.id))
            }),
        };
        Self {
            id: &node.id,
            inputs: node.inputs(),
            outputs: node.outputs(),
            stdout_as,
        }
    }
}

/// Builds the routing plan for `nodes` (the nodes this daemon runs, in order); `remote` are
/// the dataflow's other nodes with their machines.
pub fn plan(
    nodes: &[&Node],
    remote: &[(&Node, String)],
    dataflow_id: &str,
    daemon: &DaemonAddress,
) -> eyre::Result<Routing> {
    let nodes: Vec<RouteNode> = nodes.iter().map(|n| RouteNode::new(n)).collect();
    let index_of = |id: &str| nodes.iter().position(|n| n.id == id);
    let machine_of = |id: &str| {
        remote
            .iter()
            .find(|(n, _)| n.id == id)
            .map(|(_, m)| m.clone())
    };
    // (local node, machine) → what crosses: outputs sent, remote outputs received with the
    // local inputs they feed.
    type BridgePlan = (BTreeSet<u16>, Vec<((String, String), Vec<u16>)>);
    let mut bridge_plans: BTreeMap<(usize, String), BridgePlan> = BTreeMap::new();
    for (remote_node, machine) in remote {
        for (_, input) in remote_node.inputs() {
            if let InputMapping::User {
                source,
                operator,
                output,
            } = &input.mapping
            {
                if let Some(sender) = index_of(source) {
                    let output = match operator {
                        Some(op) => format!("{op}/{output}"),
                        None => output.clone(),
                    };
                    if let Some(index) = nodes[sender].outputs.iter().position(|o| *o == output) {
                        bridge_plans
                            .entry((sender, machine.clone()))
                            .or_default()
                            .0
                            .insert(index as u16);
                    }
                }
            }
        }
    }
    let mut configs: Vec<NodeConfig> = nodes
        .iter()
        .map(|node| NodeConfig {
            protocol_version: dora_message::PROTOCOL_VERSION.into(),
            dataflow_id: dataflow_id.into(),
            node_id: node.id.into(),
            daemon: daemon.clone(),
            inputs: node
                .inputs
                .iter()
                .map(|(input_id, input)| InputConfig {
                    id: input_id.clone(),
                    queue_size: input.queue_size,
                    source: input.mapping.to_string(),
                })
                .collect(),
            outputs: node.outputs.clone(),
            peers: Vec::new(),
            runtime: None,
            dataflow_path: None,
        })
        .collect();

    // (sender, receiver) → (sender output index, receiver input index) edges.
    let mut edges: BTreeMap<(usize, usize), Vec<(u16, u16)>> = BTreeMap::new();
    let mut timers: BTreeMap<Duration, Vec<InputRef>> = BTreeMap::new();
    let mut stdout_routes = vec![Vec::new(); nodes.len()];
    for (receiver, node) in nodes.iter().enumerate() {
        for (input_index, (_, input)) in node.inputs.iter().enumerate() {
            let input_index = input_index as u16;
            match &input.mapping {
                InputMapping::Timer { interval } => timers
                    .entry(*interval)
                    .or_default()
                    .push((receiver, input_index)),
                InputMapping::User {
                    source,
                    operator,
                    output,
                } => {
                    if index_of(source).is_none() {
                        if let Some(machine) = machine_of(source) {
                            let output = match operator {
                                Some(op) => format!("{op}/{output}"),
                                None => output.clone(),
                            };
                            let receives =
                                &mut bridge_plans.entry((receiver, machine)).or_default().1;
                            let key = (source.clone(), output);
                            match receives.iter_mut().find(|(k, _)| *k == key) {
                                Some((_, inputs)) => inputs.push(input_index),
                                None => receives.push((key, vec![input_index])),
                            }
                            continue;
                        }
                    }
                    let Some(sender) = index_of(source) else {
                        eyre::bail!(
                            "input `{}` of node `{}` comes from node `{source}`, which this \
                             daemon does not run",
                            input.mapping,
                            node.id
                        );
                    };
                    let output = match operator {
                        Some(op) => format!("{op}/{output}"),
                        None => output.clone(),
                    };
                    let sender_node = &nodes[sender];
                    if sender_node.stdout_as.as_deref() == Some(output.as_str()) {
                        stdout_routes[sender].push((receiver, input_index));
                        continue;
                    }
                    let Some(output_index) = sender_node.outputs.iter().position(|o| *o == output)
                    else {
                        eyre::bail!("node `{source}` has no output `{output}`");
                    };
                    // Operators of one runtime node talk inside its process.
                    if sender == receiver {
                        continue;
                    }
                    edges
                        .entry((sender, receiver))
                        .or_default()
                        .push((output_index as u16, input_index));
                }
            }
        }
    }

    let pairs: BTreeSet<(usize, usize)> =
        edges.keys().map(|&(a, b)| (a.min(b), a.max(b))).collect();
    let mut fds: Vec<Vec<OwnedFd>> = (0..nodes.len()).map(|_| Vec::new()).collect();
    for (a, b) in pairs {
        let (fd_a, fd_b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .wrap_err("creating a data socket pair")?;
        for fd in [&fd_a, &fd_b] {
            let _ = setsockopt(fd, sockopt::SndBuf, &DATA_SOCKET_BUFFER);
            let _ = setsockopt(fd, sockopt::RcvBuf, &DATA_SOCKET_BUFFER);
        }
        for (this, other, fd) in [(a, b, fd_a), (b, a, fd_b)] {
            let mut sends: Vec<u16> = edges
                .get(&(this, other))
                .map(|e| e.iter().map(|&(output, _)| output).collect())
                .unwrap_or_default();
            sends.sort_unstable();
            sends.dedup();
            let mut receives: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
            for &(output, input) in edges.get(&(other, this)).into_iter().flatten() {
                receives.entry(output).or_default().push(input);
            }
            configs[this].peers.push(PeerConfig {
                node_id: nodes[other].id.into(),
                fd: fd.as_raw_fd(),
                sends,
                receives: receives.into_iter().collect(),
            });
            fds[this].push(fd);
        }
    }
    let mut bridges = Vec::new();
    for ((local, machine), (sends, receives)) in bridge_plans {
        let (node_end, daemon_end) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .wrap_err("creating a bridge socket pair")?;
        for fd in [&node_end, &daemon_end] {
            let _ = setsockopt(fd, sockopt::SndBuf, &DATA_SOCKET_BUFFER);
            let _ = setsockopt(fd, sockopt::RcvBuf, &DATA_SOCKET_BUFFER);
        }
        configs[local].peers.push(PeerConfig {
            node_id: format!("dora-daemon/{machine}"),
            fd: node_end.as_raw_fd(),
            sends: sends.iter().copied().collect(),
            receives: receives
                .iter()
                .enumerate()
                .map(|(index, (_, inputs))| (index as u16, inputs.clone()))
                .collect(),
        });
        fds[local].push(node_end);
        bridges.push(super::remote::Bridge {
            node_id: nodes[local].id.to_owned(),
            machine,
            fd: daemon_end,
            sends: sends
                .iter()
                .map(|&index| (index, nodes[local].outputs[index as usize].clone()))
                .collect(),
            receives: receives.into_iter().map(|(key, _)| key).collect(),
        });
    }
    Ok(Routing {
        configs,
        fds,
        timers,
        stdout_routes,
        bridges,
    })
}
