//! `dora runtime`: the node process that hosts the operators of a runtime node.
//!
//! It owns the operator libraries it loads, one thread and one bounded queue per operator,
//! and the hand-over of messages between operators of its node. It is a node like any other:
//! it talks only to its own daemon, through `dora-node-api`, never to the coordinator or to
//! other nodes directly, and it never unloads a library or calls one operator from two
//! threads at once.
//!
//! The daemon starts `dora runtime` for a node declared with `operator:` or `operators:`,
//! with a `DORA_NODE_CONFIG` whose inputs and outputs are the operators' own, named
//! `operator/id`, and whose `runtime` section lists each operator's library (an absolute,
//! existing path). Several operators share one runtime node; each has its own inputs and
//! outputs and other nodes address them as `node/operator/output`.
//!
//! # Operator lifecycle
//!
//! - Every library is loaded (and checked for the three entry points of the operator ABI,
//!   [`dora_operator_api::raw`]) before the node joins the dataflow; a library that cannot
//!   be loaded fails the node at once. Libraries are never unloaded.
//! - Each operator runs on its own thread: `dora_init_operator`, then one `dora_on_event`
//!   per event from its queue, then `dora_drop_operator`. Calls for one operator are never
//!   concurrent; different operators run in parallel.
//! - Events: an input `op/in` of the node becomes input `in` of operator `op`. When an input
//!   closes, the operator gets `InputClosed`; after the last of its inputs closed, it is
//!   finished. `Stop` from the daemon reaches every operator, which is finished after it.
//!   Returning `DoraStatus::Stop` finishes that operator; `DoraStatus::StopAll` sends `Stop`
//!   to every other operator.
//! - When an operator finishes, its outputs close: operators of this node that read them get
//!   `InputClosed`, and so do other nodes.
//! - The process exits when every operator finished: with success, or — when an operator
//!   failed to load, initialize, handle an event (returned an error, panicked, returned an
//!   unknown status) or drop — with an error naming the first one that failed
//!   (`operator `op2` failed: ...`). The other operators get `Stop` first.
//!
//! # Messages between operators of one node
//!
//! Outputs read by operators of the same node are handed over in the process (the same Arrow
//! array, no copy, no socket). Outputs read by other nodes go through the node API
//! ([`DoraNode::send_output`]). Messages on this node's own outputs that reach it again
//! through the daemon's routing are ignored: in-process delivery already happened. Each
//! operator's queue keeps at most `queue_size` messages per input and drops the oldest,
//! counting drops (reported when the operator finishes).
//!
//! # Output of operators
//!
//! C `stdout` is made line buffered and flushed after every operator finished, so lines
//! printed by operators reach the daemon line by line (logs, `send_stdout_as`). Rust's own
//! `stdout` is line buffered already.
//!
//! Python operators do not come here: the daemon runs them in a Python process
//! (`python -m dora.runtime`, from the `dora` Python module). WebAssembly operators are
//! refused with a clear error.

mod operator;
mod queue;

use std::{
    collections::HashMap,
    sync::{mpsc, Arc, Mutex},
};

use dora_message::config::{OperatorConfig, OperatorSource};
use dora_node_api::{DataId, DoraNode, Event, NodeConfig};
use eyre::{bail, WrapErr};

use operator::{Finish, OperatorLibrary, OperatorRunner, OutputContext, OutputRoute};
use queue::{OperatorEvent, OperatorQueue};

/// The variable the daemon puts the node configuration in.
const NODE_CONFIG_ENV: &str = "DORA_NODE_CONFIG";

/// What the main loop of the runtime reacts to.
pub enum Message {
    /// An event of the node's event stream.
    Event(Event),
    /// The node's event stream ended.
    EventStreamEnded,
    /// An operator's thread ended.
    OperatorFinished {
        /// The operator's position in the node's list of operators.
        index: usize,
        /// How it ended: normally, asking to stop every operator, or with an error.
        outcome: Result<Finish, String>,
        /// Per input of the operator: messages dropped because its queue was full.
        dropped: Vec<u64>,
    },
}

/// Runs the runtime node described by `DORA_NODE_CONFIG`.
pub fn run_from_env() -> eyre::Result<()> {
    let raw = std::env::var(NODE_CONFIG_ENV).map_err(|_| {
        eyre::eyre!(
            "`dora runtime` runs the operators of a dataflow node and is started by the dora \
             daemon; {NODE_CONFIG_ENV} is not set"
        )
    })?;
    let config: NodeConfig =
        serde_json::from_str(&raw).wrap_err_with(|| format!("invalid {NODE_CONFIG_ENV}"))?;
    run(config)
}

/// Where a node input goes.
#[derive(Debug, Clone, Copy)]
enum InputTarget {
    /// Input `input` of operator `operator`.
    Operator { operator: usize, input: usize },
    /// Fed by an operator of this node, in the process: ignore what arrives from outside.
    Local,
}

/// Runs the operators of the runtime node `config` until all of them finished.
pub fn run(config: NodeConfig) -> eyre::Result<()> {
    operator::line_buffer_stdout();
    let Some(runtime) = config.runtime.clone() else {
        bail!(
            "node `{}` has no operators: `dora runtime` runs nodes declared with `operator:` \
             or `operators:`",
            config.node_id
        );
    };
    let operators = runtime.operators;
    let libraries = operators
        .iter()
        .map(load)
        .collect::<eyre::Result<Vec<_>>>()?;
    let queues = operator_queues(&config, &operators);
    let targets = input_targets(&config, &operators)?;
    let routes = output_routes(&config, &operators, &queues);

    let (node, events) = DoraNode::init(config).wrap_err("joining the dataflow")?;
    let node = Arc::new(Mutex::new(node));
    let (messages, inbox) = mpsc::channel();
    for (index, (library, routes)) in libraries.into_iter().zip(&routes).enumerate() {
        let op = &operators[index];
        let runner = OperatorRunner {
            id: op.id.clone(),
            library,
            queue: queues[index].clone(),
            inputs: op.inputs.clone(),
            output: OutputContext {
                operator_id: op.id.clone(),
                node: node.clone(),
                routes: routes.clone(),
            },
        };
        operator::spawn(index, runner, messages.clone())?;
    }
    pump_events(events, messages)?;

    let mut supervisor = Supervisor {
        finished: vec![false; operators.len()],
        operators,
        queues,
        targets,
        routes,
        node,
        failure: None,
    };
    while supervisor.running() {
        let Ok(message) = inbox.recv() else { break };
        supervisor.handle(message);
    }
    operator::flush_stdio();
    supervisor.finish()
}

/// One queue per operator, each input limited to the `queue_size` of its node input.
fn operator_queues(config: &NodeConfig, operators: &[OperatorConfig]) -> Vec<Arc<OperatorQueue>> {
    let queue_size = |op: &OperatorConfig, input: &str| {
        let id = format!("{}/{input}", op.id);
        config
            .inputs
            .iter()
            .find(|i| i.id == id)
            .map_or(10, |i| i.queue_size)
    };
    operators
        .iter()
        .map(|op| {
            let limits = op.inputs.iter().map(|i| queue_size(op, i)).collect();
            Arc::new(OperatorQueue::new(limits))
        })
        .collect()
}

/// The main loop's state: it hands node events to operator queues and follows the operators
/// until each finished. It owns the node, so the node leaves the dataflow when it is dropped.
struct Supervisor {
    operators: Vec<OperatorConfig>,
    queues: Vec<Arc<OperatorQueue>>,
    targets: HashMap<String, InputTarget>,
    /// Per operator, per output: its receivers.
    routes: Vec<Vec<OutputRoute>>,
    node: Arc<Mutex<DoraNode>>,
    /// Per operator: whether it finished.
    finished: Vec<bool>,
    /// The first operator failure, which the process exits with.
    failure: Option<eyre::Report>,
}

impl Supervisor {
    /// Whether some operator has not finished yet.
    fn running(&self) -> bool {
        self.finished.iter().any(|done| !done)
    }

    fn handle(&mut self, message: Message) {
        match message {
            Message::Event(Event::Input { id, metadata, data }) => {
                if let Some((operator, input)) = self.target(&id) {
                    self.queues[operator].push(OperatorEvent::Input {
                        input,
                        data: data.into_inner(),
                        timestamp_ns: metadata
                            .timestamp()
                            .get_time()
                            .to_duration()
                            .as_nanos()
                            .try_into()
                            .unwrap_or(u64::MAX),
                    });
                }
            }
            Message::Event(Event::InputClosed { id }) => {
                if let Some((operator, input)) = self.target(&id) {
                    self.queues[operator].push(OperatorEvent::InputClosed(input));
                }
            }
            Message::Event(Event::Stop) => self.stop_all(),
            Message::Event(Event::Error(error)) => {
                tracing::warn!("node `{}`: {error}", operators_node_id(&self.node));
            }
            Message::Event(_) | Message::EventStreamEnded => {}
            Message::OperatorFinished {
                index,
                outcome,
                dropped,
            } => self.operator_finished(index, outcome, dropped),
        }
    }

    /// The operator input a node input feeds; `None` for inputs fed in the process.
    fn target(&self, id: &DataId) -> Option<(usize, usize)> {
        match self.targets.get(id.as_str()) {
            Some(&InputTarget::Operator { operator, input }) => Some((operator, input)),
            Some(InputTarget::Local) | None => None,
        }
    }

    /// Sends `Stop` to every operator that has not finished.
    fn stop_all(&self) {
        for (queue, done) in self.queues.iter().zip(&self.finished) {
            if !done {
                queue.push(OperatorEvent::Stop);
            }
        }
    }

    /// Reports the operator's dropped messages, closes its outputs and, when it asked for it
    /// or failed, stops the others.
    fn operator_finished(
        &mut self,
        index: usize,
        outcome: Result<Finish, String>,
        dropped: Vec<u64>,
    ) {
        self.finished[index] = true;
        let op = &self.operators[index];
        for (input, count) in op.inputs.iter().zip(dropped) {
            if count > 0 {
                tracing::warn!(
                    "operator `{}`: {count} messages on input `{input}` were dropped because \
                     its queue was full",
                    op.id
                );
            }
        }
        close_outputs(&self.node, &self.routes[index]);
        match outcome {
            Ok(Finish::Done) => {}
            Ok(Finish::StopAll) => self.stop_all(),
            Err(error) => {
                self.failure
                    .get_or_insert_with(|| eyre::eyre!("operator `{}` failed: {error}", op.id));
                self.stop_all();
            }
        }
    }

    /// Leaves the dataflow (closing the remaining outputs) and returns the first failure.
    fn finish(self) -> eyre::Result<()> {
        let Supervisor { node, failure, .. } = self;
        drop(node);
        match failure {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}

fn operators_node_id(node: &Mutex<DoraNode>) -> String {
    node.lock()
        .unwrap_or_else(|p| p.into_inner())
        .id()
        .to_owned()
}

fn load(op: &OperatorConfig) -> eyre::Result<OperatorLibrary> {
    match &op.source {
        OperatorSource::SharedLibrary(path) => OperatorLibrary::load(path)
            .wrap_err_with(|| format!("operator `{}` failed to load", op.id)),
        OperatorSource::Python { .. } => bail!(
            "operator `{}` is a Python operator, which this version of dora does not run yet \
             (Python support comes with the Python API)",
            op.id
        ),
        OperatorSource::Wasm(_) => bail!(
            "operator `{}` is a WebAssembly operator, which dora does not run (neither does \
             dora-rs v0.3.6); build it as a shared library instead",
            op.id
        ),
    }
}

/// Splits a user input source `node/operator/output` into its parts.
fn operator_source(source: &str) -> Option<(&str, &str, &str)> {
    let mut parts = source.splitn(3, '/');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// For each node input (`op/in`): the operator input it feeds, or [`InputTarget::Local`].
fn input_targets(
    config: &NodeConfig,
    operators: &[OperatorConfig],
) -> eyre::Result<HashMap<String, InputTarget>> {
    let mut targets = HashMap::new();
    for input in &config.inputs {
        let local = matches!(
            operator_source(&input.source),
            Some((node, _, _)) if node == config.node_id
        );
        let target = if local {
            InputTarget::Local
        } else {
            let (op_id, input_id) = input.id.split_once('/').ok_or_else(|| {
                eyre::eyre!(
                    "input `{}` of a runtime node is not `operator/input`",
                    input.id
                )
            })?;
            let operator = operators
                .iter()
                .position(|op| op.id == op_id)
                .ok_or_else(|| eyre::eyre!("input `{}`: no operator `{op_id}`", input.id))?;
            let input_index = operators[operator]
                .inputs
                .iter()
                .position(|i| i == input_id)
                .ok_or_else(|| {
                    eyre::eyre!("input `{}`: operator `{op_id}` has no such input", input.id)
                })?;
            InputTarget::Operator {
                operator,
                input: input_index,
            }
        };
        targets.insert(input.id.clone(), target);
    }
    Ok(targets)
}

/// Per operator, per output: who receives it in this process, and whether other nodes do.
fn output_routes(
    config: &NodeConfig,
    operators: &[OperatorConfig],
    queues: &[Arc<OperatorQueue>],
) -> Vec<Vec<OutputRoute>> {
    operators
        .iter()
        .map(|op| {
            op.outputs
                .iter()
                .map(|output| {
                    let node_output = format!("{}/{output}", op.id);
                    let local = operators
                        .iter()
                        .enumerate()
                        .flat_map(|(receiver, receiver_op)| {
                            receiver_op.inputs.iter().enumerate().filter_map(
                                move |(input_index, input_id)| {
                                    let full = format!("{}/{input_id}", receiver_op.id);
                                    let source =
                                        &config.inputs.iter().find(|i| i.id == full)?.source;
                                    (operator_source(source)
                                        == Some((&config.node_id, &op.id, output)))
                                    .then_some((receiver, input_index))
                                },
                            )
                        })
                        .map(|(receiver, input)| (queues[receiver].clone(), input))
                        .collect();
                    let index = config.outputs.iter().position(|o| *o == node_output);
                    let remote = index.is_some_and(|index| {
                        config.peers.iter().any(|peer| {
                            peer.node_id != config.node_id && peer.sends.contains(&(index as u16))
                        })
                    });
                    OutputRoute {
                        id: output.clone(),
                        node_output,
                        local,
                        remote,
                    }
                })
                .collect()
        })
        .collect()
}

/// Tells the receivers of a finished operator's outputs that nothing more comes.
fn close_outputs(node: &Mutex<DoraNode>, routes: &[OutputRoute]) {
    for route in routes {
        for (queue, input) in &route.local {
            queue.push(OperatorEvent::InputClosed(*input));
        }
    }
    let remote: Vec<DataId> = routes
        .iter()
        .filter(|r| r.remote)
        .map(|r| r.node_output.clone().into())
        .collect();
    if !remote.is_empty() {
        let mut node = node.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = node.close_outputs(remote) {
            tracing::debug!("closing outputs: {err}");
        }
    }
}

/// Forwards the node's events to the main loop, from a thread of its own.
fn pump_events(
    mut events: dora_node_api::EventStream,
    messages: mpsc::Sender<Message>,
) -> eyre::Result<()> {
    std::thread::Builder::new()
        .name("dora-runtime-events".into())
        .spawn(move || {
            while let Some(event) = events.recv() {
                if messages.send(Message::Event(event)).is_err() {
                    return;
                }
            }
            let _ = messages.send(Message::EventStreamEnded);
        })
        .wrap_err("starting the event thread")?;
    Ok(())
}
