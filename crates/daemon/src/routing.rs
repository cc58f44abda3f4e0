//! Routing, decided once before any node starts.
//!
//! Every pair of nodes that exchange messages (in either direction) gets one
//! `SOCK_SEQPACKET` socket pair; each node inherits its end and learns from its
//! [`NodeConfig`] which of its outputs go to that peer and which of the peer's outputs feed
//! which of its inputs. Inputs the daemon itself feeds — timers and the lines of a
//! `send_stdout_as` node — are listed separately.
//!
//! Routing happens in two steps. [`plan`] is a pure function from the nodes (those this
//! daemon runs, and the others with their machines) to a [`RoutingTable`]: who talks to
//! whom, over which outputs and inputs, with no file descriptor in it. [`RoutingTable::connect`]
//! then creates the socket pairs and fills the descriptors into the node configurations.
//! A peer's position in [`NodeConfig::peers`] is the position of its descriptor in
//! [`Routing::fds`]: node pairs first (ordered by node index), then bridges to other machines.

use std::{
    collections::{BTreeMap, BTreeSet},
    os::fd::{AsRawFd, OwnedFd},
    time::Duration,
};

use dora_descriptor::{Input, InputMapping, Node, NodeKind};
use dora_message::config::{DaemonAddress, InputConfig, NodeConfig, PeerConfig};
use eyre::WrapErr;
use nix::sys::socket::{setsockopt, socketpair, sockopt, AddressFamily, SockFlag, SockType};

use crate::remote::Bridge;

/// Socket buffer asked for on data connections, so bursts do not block senders.
const DATA_SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Where a daemon-fed input is: node index and input index.
pub type InputRef = (usize, u16);

/// Why a dataflow cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// An input names a node that neither this daemon nor any known machine runs.
    #[error(
        "input `{input}` of node `{node}` comes from node `{sender}`, which this daemon does \
         not run"
    )]
    UnknownSource {
        /// The input's source as written (`node/output`).
        input: String,
        /// The receiving node.
        node: String,
        /// The node the input names.
        sender: String,
    },
    /// An input names an output its node does not declare.
    #[error("node `{sender}` has no output `{output}`")]
    UnknownOutput {
        /// The sending node.
        sender: String,
        /// The output (`operator/output` for a runtime node).
        output: String,
    },
}

/// What one end of a connection exchanges with the other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    /// Indices of this end's outputs that the other end receives, ascending.
    pub sends: Vec<u16>,
    /// Outputs of the other end that this end receives: their index (the bridge index for a
    /// bridge) and the indices of the inputs each feeds.
    pub receives: Vec<(u16, Vec<u16>)>,
}

/// A socket pair between two local nodes, decided but not yet created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLink {
    /// The two nodes, lower index first, each with what it exchanges with the other.
    pub ends: [(usize, Exchange); 2],
}

/// A connection between a local node and another machine, decided but not yet created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgePlan {
    /// The local node.
    pub node: usize,
    /// The other machine.
    pub machine: String,
    /// What the local node exchanges with the bridge.
    pub exchange: Exchange,
    /// The local node's outputs that the machine consumes: output index → name.
    pub sends: Vec<(u16, String)>,
    /// The remote `(node, output)`s the local node consumes, by bridge index.
    pub receives: Vec<(String, String)>,
}

/// The routing decision for the nodes of one daemon: no socket exists yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingTable {
    /// Per node, its configuration with no peers yet.
    pub configs: Vec<NodeConfig>,
    /// Socket pairs between local nodes, ordered by node indices.
    pub links: Vec<PeerLink>,
    /// Timer interval → the inputs it feeds.
    pub timers: BTreeMap<Duration, Vec<InputRef>>,
    /// Per node, when it has `send_stdout_as`: the inputs its stdout lines feed.
    pub stdout_routes: Vec<Vec<InputRef>>,
    /// Connections to other machines, ordered by local node, then machine.
    pub bridges: Vec<BridgePlan>,
}

/// The routing of a dataflow with its sockets created.
#[derive(Debug)]
pub struct Routing {
    /// Per node, the configuration to pass in `DORA_NODE_CONFIG`.
    pub configs: Vec<NodeConfig>,
    /// Per node, the descriptors it must inherit, in the order of its configuration's peers.
    pub fds: Vec<Vec<OwnedFd>>,
    /// Timer interval → the inputs it feeds.
    pub timers: BTreeMap<Duration, Vec<InputRef>>,
    /// Per node, when it has `send_stdout_as`: the inputs its stdout lines feed.
    pub stdout_routes: Vec<Vec<InputRef>>,
    /// Connections between local nodes and other machines (see [`super::remote`]).
    pub bridges: Vec<Bridge>,
}

/// The process-level view of a node: inputs and outputs as its process sees them
/// (`operator/id` for the operators of a runtime node).
struct RouteNode<'a> {
    id: &'a str,
    inputs: Vec<(String, &'a Input)>,
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

    fn output_index(&self, output: &str) -> Option<u16> {
        self.outputs
            .iter()
            .position(|o| o == output)
            .map(|i| i as u16)
    }

    fn config(&self, dataflow_id: &str, daemon: &DaemonAddress) -> NodeConfig {
        NodeConfig {
            protocol_version: dora_message::PROTOCOL_VERSION.into(),
            dataflow_id: dataflow_id.into(),
            node_id: self.id.into(),
            daemon: daemon.clone(),
            inputs: self
                .inputs
                .iter()
                .map(|(input_id, input)| InputConfig {
                    id: input_id.clone(),
                    queue_size: input.queue_size,
                    source: input.mapping.to_string(),
                })
                .collect(),
            outputs: self.outputs.clone(),
            peers: Vec::new(),
            runtime: None,
            dataflow_path: None,
        }
    }
}

/// The name of an output as its node's process sees it.
fn output_name(operator: &Option<String>, output: &str) -> String {
    match operator {
        Some(op) => format!("{op}/{output}"),
        None => output.to_owned(),
    }
}

/// What crosses between one local node and one machine, while planning.
#[derive(Default)]
struct BridgeDraft {
    /// Indices of the local node's outputs the machine consumes.
    sends: BTreeSet<u16>,
    /// Remote `(node, output)`s, in order of first use, with the local inputs each feeds.
    receives: Vec<((String, String), Vec<u16>)>,
}

/// The state of [`plan`] while it walks the inputs.
struct Planner<'a> {
    nodes: Vec<RouteNode<'a>>,
    remote: &'a [(&'a Node, String)],
    /// (sender, receiver) → (sender output index, receiver input index) edges.
    edges: BTreeMap<(usize, usize), Vec<(u16, u16)>>,
    timers: BTreeMap<Duration, Vec<InputRef>>,
    stdout_routes: Vec<Vec<InputRef>>,
    bridges: BTreeMap<(usize, String), BridgeDraft>,
}

/// Decides the routing of `nodes` (the nodes this daemon runs, in order); `remote` are the
/// dataflow's other nodes with their machines. Pure: creates no socket.
pub fn plan(
    nodes: &[&Node],
    remote: &[(&Node, String)],
    dataflow_id: &str,
    daemon: &DaemonAddress,
) -> Result<RoutingTable, RoutingError> {
    let nodes: Vec<RouteNode> = nodes.iter().map(|n| RouteNode::new(n)).collect();
    let mut planner = Planner {
        stdout_routes: vec![Vec::new(); nodes.len()],
        nodes,
        remote,
        edges: BTreeMap::new(),
        timers: BTreeMap::new(),
        bridges: BTreeMap::new(),
    };
    planner.plan_remote_consumers();
    for receiver in 0..planner.nodes.len() {
        planner.route_inputs(receiver)?;
    }
    Ok(planner.finish(dataflow_id, daemon))
}

impl Planner<'_> {
    fn index_of(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    fn machine_of(&self, id: &str) -> Option<&str> {
        self.remote
            .iter()
            .find(|(n, _)| n.id == id)
            .map(|(_, m)| m.as_str())
    }

    /// Notes which local outputs each other machine consumes. An input of a remote node that
    /// names no local output is left to that node's daemon to report.
    fn plan_remote_consumers(&mut self) {
        for (remote_node, machine) in self.remote {
            for (_, input) in remote_node.inputs() {
                let InputMapping::User {
                    source,
                    operator,
                    output,
                } = &input.mapping
                else {
                    continue;
                };
                let Some(sender) = self.index_of(source) else {
                    continue;
                };
                let output = output_name(operator, output);
                if let Some(index) = self.nodes[sender].output_index(&output) {
                    self.bridges
                        .entry((sender, machine.clone()))
                        .or_default()
                        .sends
                        .insert(index);
                }
            }
        }
    }

    fn route_inputs(&mut self, receiver: usize) -> Result<(), RoutingError> {
        for input_index in 0..self.nodes[receiver].inputs.len() {
            let input = self.nodes[receiver].inputs[input_index].1;
            let input_index = input_index as u16;
            match &input.mapping {
                InputMapping::Timer { interval } => self
                    .timers
                    .entry(*interval)
                    .or_default()
                    .push((receiver, input_index)),
                InputMapping::User {
                    source,
                    operator,
                    output,
                } => {
                    let output = output_name(operator, output);
                    self.route_user_input(receiver, input_index, input, source, output)?;
                }
            }
        }
        Ok(())
    }

    /// Routes input `input_index` of `receiver`, fed by `source`'s `output`.
    fn route_user_input(
        &mut self,
        receiver: usize,
        input_index: u16,
        input: &Input,
        source: &str,
        output: String,
    ) -> Result<(), RoutingError> {
        let Some(sender) = self.index_of(source) else {
            let Some(machine) = self.machine_of(source) else {
                return Err(RoutingError::UnknownSource {
                    input: input.mapping.to_string(),
                    node: self.nodes[receiver].id.to_owned(),
                    sender: source.to_owned(),
                });
            };
            let key = (source.to_owned(), output);
            let receives = &mut self
                .bridges
                .entry((receiver, machine.to_owned()))
                .or_default()
                .receives;
            match receives.iter_mut().find(|(k, _)| *k == key) {
                Some((_, inputs)) => inputs.push(input_index),
                None => receives.push((key, vec![input_index])),
            }
            return Ok(());
        };
        let sender_node = &self.nodes[sender];
        if sender_node.stdout_as.as_deref() == Some(output.as_str()) {
            self.stdout_routes[sender].push((receiver, input_index));
            return Ok(());
        }
        let Some(output_index) = sender_node.output_index(&output) else {
            return Err(RoutingError::UnknownOutput {
                sender: source.to_owned(),
                output,
            });
        };
        // Operators of one runtime node talk inside its process.
        if sender != receiver {
            self.edges
                .entry((sender, receiver))
                .or_default()
                .push((output_index, input_index));
        }
        Ok(())
    }

    fn finish(self, dataflow_id: &str, daemon: &DaemonAddress) -> RoutingTable {
        let pairs: BTreeSet<(usize, usize)> = self
            .edges
            .keys()
            .map(|&(a, b)| (a.min(b), a.max(b)))
            .collect();
        let links = pairs
            .into_iter()
            .map(|(a, b)| PeerLink {
                ends: [
                    (a, exchange(&self.edges, a, b)),
                    (b, exchange(&self.edges, b, a)),
                ],
            })
            .collect();
        let bridges = self
            .bridges
            .into_iter()
            .map(|((node, machine), draft)| bridge_plan(&self.nodes[node], node, machine, draft))
            .collect();
        RoutingTable {
            configs: self
                .nodes
                .iter()
                .map(|n| n.config(dataflow_id, daemon))
                .collect(),
            links,
            timers: self.timers,
            stdout_routes: self.stdout_routes,
            bridges,
        }
    }
}

/// What node `this` exchanges with node `other`, from the planned edges.
fn exchange(
    edges: &BTreeMap<(usize, usize), Vec<(u16, u16)>>,
    this: usize,
    other: usize,
) -> Exchange {
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
    Exchange {
        sends,
        receives: receives.into_iter().collect(),
    }
}

fn bridge_plan(local: &RouteNode, node: usize, machine: String, draft: BridgeDraft) -> BridgePlan {
    BridgePlan {
        node,
        machine,
        exchange: Exchange {
            sends: draft.sends.iter().copied().collect(),
            receives: draft
                .receives
                .iter()
                .enumerate()
                .map(|(index, (_, inputs))| (index as u16, inputs.clone()))
                .collect(),
        },
        sends: draft
            .sends
            .iter()
            .map(|&index| (index, local.outputs[index as usize].clone()))
            .collect(),
        receives: draft.receives.into_iter().map(|(key, _)| key).collect(),
    }
}

impl RoutingTable {
    /// Creates the planned socket pairs: each node's end goes into its configuration and
    /// [`Routing::fds`], the daemon's end of each bridge into [`Routing::bridges`].
    pub fn connect(self) -> eyre::Result<Routing> {
        let RoutingTable {
            mut configs,
            links,
            timers,
            stdout_routes,
            bridges: bridge_plans,
        } = self;
        let mut fds: Vec<Vec<OwnedFd>> = configs.iter().map(|_| Vec::new()).collect();
        for PeerLink {
            ends: [(a, to_a), (b, to_b)],
        } in links
        {
            let (fd_a, fd_b) = data_socket_pair().wrap_err("creating a data socket pair")?;
            let (id_a, id_b) = (configs[a].node_id.clone(), configs[b].node_id.clone());
            attach(&mut configs[a], &mut fds[a], id_b, to_a, fd_a);
            attach(&mut configs[b], &mut fds[b], id_a, to_b, fd_b);
        }
        let mut bridges = Vec::new();
        for plan in bridge_plans {
            let (node_end, daemon_end) =
                data_socket_pair().wrap_err("creating a bridge socket pair")?;
            let node = plan.node;
            let peer_id = format!("dora-daemon/{}", plan.machine);
            attach(
                &mut configs[node],
                &mut fds[node],
                peer_id,
                plan.exchange,
                node_end,
            );
            bridges.push(Bridge {
                node_id: configs[node].node_id.clone(),
                machine: plan.machine,
                fd: daemon_end,
                sends: plan.sends,
                receives: plan.receives,
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
}

/// Adds a peer to a node's configuration, with the node's end of the socket pair.
fn attach(
    config: &mut NodeConfig,
    fds: &mut Vec<OwnedFd>,
    peer: String,
    exchange: Exchange,
    fd: OwnedFd,
) {
    config.peers.push(PeerConfig {
        node_id: peer,
        fd: fd.as_raw_fd(),
        sends: exchange.sends,
        receives: exchange.receives,
        restartable: false,
    });
    fds.push(fd);
}

/// A `SOCK_SEQPACKET` pair with large buffers, closed on exec unless a node inherits it.
fn data_socket_pair() -> nix::Result<(OwnedFd, OwnedFd)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    for fd in [&a, &b] {
        let _ = setsockopt(fd, sockopt::SndBuf, &DATA_SOCKET_BUFFER);
        let _ = setsockopt(fd, sockopt::RcvBuf, &DATA_SOCKET_BUFFER);
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dora_descriptor::Descriptor;

    fn parse(yaml: &str) -> Descriptor {
        Descriptor::parse(yaml, None).unwrap_or_else(|err| panic!("{err}"))
    }

    fn address() -> DaemonAddress {
        DaemonAddress::Tcp(([127, 0, 0, 1], 1).into())
    }

    /// Plans every node of `descriptor` on this daemon.
    fn plan_all(descriptor: &Descriptor) -> RoutingTable {
        let nodes: Vec<&Node> = descriptor.nodes.iter().collect();
        plan(&nodes, &[], "df", &address()).unwrap_or_else(|err| panic!("{err}"))
    }

    /// Plans `local` here and places the other nodes on the given machines.
    fn plan_split(
        descriptor: &Descriptor,
        local: &[&str],
        placement: &[(&str, &str)],
    ) -> Result<RoutingTable, RoutingError> {
        let nodes: Vec<&Node> = local.iter().map(|id| node(descriptor, id)).collect();
        let remote: Vec<(&Node, String)> = placement
            .iter()
            .map(|(id, machine)| (node(descriptor, id), machine.to_string()))
            .collect();
        plan(&nodes, &remote, "df", &address())
    }

    fn node<'a>(descriptor: &'a Descriptor, id: &str) -> &'a Node {
        descriptor
            .node(id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    fn ends(sends: &[u16], receives: &[(u16, &[u16])]) -> Exchange {
        Exchange {
            sends: sends.to_vec(),
            receives: receives.iter().map(|(o, i)| (*o, i.to_vec())).collect(),
        }
    }

    #[test]
    fn one_output_fans_out_to_several_nodes() {
        let d = parse(
            r"
nodes:
  - id: a
    path: a
    inputs:
      back: c/reply
    outputs: [x, unused]
  - id: b
    path: b
    inputs:
      first: a/x
      second: a/x
  - id: c
    path: c
    inputs:
      x: a/x
    outputs: [reply]
",
        );
        let table = plan_all(&d);
        assert_eq!(
            table.links,
            [
                PeerLink {
                    ends: [(0, ends(&[0], &[])), (1, ends(&[], &[(0, &[0, 1])]))]
                },
                PeerLink {
                    ends: [(0, ends(&[0], &[(0, &[0])])), (2, ends(&[0], &[(0, &[0])]))]
                },
            ]
        );
        assert!(table.configs.iter().all(|c| c.peers.is_empty()));
        assert_eq!(table.configs[0].outputs, ["x", "unused"]);
        assert_eq!(table.configs[1].inputs[1].source, "a/x");
        assert!(table.timers.is_empty() && table.bridges.is_empty());
    }

    #[test]
    fn operators_of_one_node_talk_in_process() {
        let d = parse(
            r"
nodes:
  - id: rt
    operators:
      - id: first
        shared-library: first
        inputs:
          tick: dora/timer/millis/10
        outputs: [out]
      - id: second
        shared-library: second
        inputs:
          in: rt/first/out
        outputs: [res]
  - id: sink
    path: sink
    inputs:
      res: rt/second/res
      out: rt/first/out
",
        );
        let table = plan_all(&d);
        assert_eq!(table.configs[0].outputs, ["first/out", "second/res"]);
        let inputs: Vec<&str> = table.configs[0]
            .inputs
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(inputs, ["first/tick", "second/in"]);
        // One link, to `sink` only: `second` reads `first/out` inside the runtime process.
        assert_eq!(
            table.links,
            [PeerLink {
                ends: [
                    (0, ends(&[0, 1], &[])),
                    (1, ends(&[], &[(0, &[1]), (1, &[0])]))
                ]
            }]
        );
    }

    #[test]
    fn dynamic_nodes_are_routed_like_spawned_ones() {
        let d = parse(
            r"
nodes:
  - id: source
    path: dynamic
    outputs: [x]
  - id: sink
    path: sink
    inputs:
      x: source/x
",
        );
        let table = plan_all(&d);
        assert_eq!(
            table.links,
            [PeerLink {
                ends: [(0, ends(&[0], &[])), (1, ends(&[], &[(0, &[0])]))]
            }]
        );
    }

    #[test]
    fn other_machines_get_bridges_in_both_directions() {
        let d = parse(
            r"
nodes:
  - id: a
    path: a
    outputs: [x, y]
  - id: b
    path: b
    inputs:
      x: a/x
      again: a/x
    outputs: [z, w]
  - id: c
    path: c
    inputs:
      z: b/z
      w: b/w
      z2: b/z
      y: a/y
",
        );
        let table = plan_split(&d, &["a", "c"], &[("b", "m2")]).unwrap();
        assert_eq!(
            table.bridges,
            [
                BridgePlan {
                    node: 0,
                    machine: "m2".into(),
                    exchange: ends(&[0], &[]),
                    sends: vec![(0, "x".into())],
                    receives: vec![],
                },
                BridgePlan {
                    node: 1,
                    machine: "m2".into(),
                    exchange: ends(&[], &[(0, &[0, 2]), (1, &[1])]),
                    sends: vec![],
                    receives: vec![("b".into(), "z".into()), ("b".into(), "w".into())],
                },
            ]
        );
        // The local pair still talks directly.
        assert_eq!(
            table.links,
            [PeerLink {
                ends: [(0, ends(&[1], &[])), (1, ends(&[], &[(1, &[3])]))]
            }]
        );

        // The other machine's view: one bridge that sends and receives.
        let table = plan_split(&d, &["b"], &[("a", "m1"), ("c", "m1")]).unwrap();
        assert_eq!(
            table.bridges,
            [BridgePlan {
                node: 0,
                machine: "m1".into(),
                exchange: ends(&[0, 1], &[(0, &[0, 1])]),
                sends: vec![(0, "z".into()), (1, "w".into())],
                receives: vec![("a".into(), "x".into())],
            }]
        );
        assert!(table.links.is_empty());
    }

    #[test]
    fn timers_are_grouped_by_interval() {
        let d = parse(
            r"
nodes:
  - id: a
    path: a
    inputs:
      fast: dora/timer/millis/100
      same: dora/timer/hz/10
      slow: dora/timer/secs/1
  - id: b
    path: b
    inputs:
      tick: dora/timer/millis/100
",
        );
        let table = plan_all(&d);
        let expected = BTreeMap::from([
            (Duration::from_millis(100), vec![(0, 0), (0, 1), (1, 0)]),
            (Duration::from_secs(1), vec![(0, 2)]),
        ]);
        assert_eq!(table.timers, expected);
        assert!(table.links.is_empty());
    }

    #[test]
    fn stdout_lines_are_routed_by_the_daemon() {
        let d = parse(
            r"
nodes:
  - id: talker
    path: talker
    send_stdout_as: log
    outputs: [log, data]
  - id: rt
    operators:
      - id: op
        shared-library: op
        send_stdout_as: printed
        outputs: [printed]
  - id: listener
    path: listener
    inputs:
      data: talker/data
      log: talker/log
      printed: rt/op/printed
",
        );
        let table = plan_all(&d);
        assert_eq!(table.stdout_routes, [vec![(2, 1)], vec![(2, 2)], vec![]]);
        assert_eq!(
            table.links,
            [PeerLink {
                ends: [(0, ends(&[1], &[])), (2, ends(&[], &[(1, &[0])]))]
            }]
        );
    }

    #[test]
    fn a_source_nobody_runs_is_an_error() {
        let d = parse(
            r"
nodes:
  - id: a
    path: a
    outputs: [x]
  - id: b
    path: b
    inputs:
      x: a/x
",
        );
        assert_eq!(
            plan_split(&d, &["b"], &[]),
            Err(RoutingError::UnknownSource {
                input: "a/x".into(),
                node: "b".into(),
                sender: "a".into(),
            })
        );
    }

    #[test]
    fn an_unknown_output_is_an_error() {
        // The descriptor checks outputs itself; routing must not trust a node list that
        // comes from elsewhere, such as a sender from another revision of the dataflow.
        let receiver = parse(
            r"
nodes:
  - id: a
    path: a
    outputs: [x]
  - id: b
    path: b
    inputs:
      x: a/x
",
        );
        let sender = parse(
            r"
nodes:
  - id: a
    path: a
    outputs: [y]
",
        );
        let nodes = [node(&sender, "a"), node(&receiver, "b")];
        assert_eq!(
            plan(&nodes, &[], "df", &address()),
            Err(RoutingError::UnknownOutput {
                sender: "a".into(),
                output: "x".into(),
            })
        );
    }

    #[test]
    fn connect_gives_each_peer_its_descriptor() {
        let d = parse(
            r"
nodes:
  - id: a
    path: a
    outputs: [x]
  - id: b
    path: b
    inputs:
      x: a/x
    outputs: [y]
  - id: c
    path: c
    inputs:
      y: b/y
      remote: r/z
  - id: r
    path: r
    outputs: [z]
",
        );
        let routing = plan_split(&d, &["a", "b", "c"], &[("r", "m2")])
            .unwrap()
            .connect()
            .unwrap();
        let peers: Vec<Vec<&str>> = routing
            .configs
            .iter()
            .map(|c| c.peers.iter().map(|p| p.node_id.as_str()).collect())
            .collect();
        assert_eq!(
            peers,
            [vec!["b"], vec!["a", "c"], vec!["b", "dora-daemon/m2"]]
        );
        for (config, fds) in routing.configs.iter().zip(&routing.fds) {
            let raw: Vec<i32> = fds.iter().map(AsRawFd::as_raw_fd).collect();
            let listed: Vec<i32> = config.peers.iter().map(|p| p.fd).collect();
            assert_eq!(raw, listed);
        }
        assert_eq!(routing.bridges.len(), 1);
        assert_eq!(routing.bridges[0].node_id, "c");
        assert_eq!(routing.bridges[0].receives, [("r".into(), "z".into())]);
    }
}
