//! The data model of a validated dataflow.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::PathBuf,
    time::Duration,
};

/// Default `queue_size` of an input: how many messages wait for the node before the oldest
/// is dropped.
pub const DEFAULT_QUEUE_SIZE: usize = 10;

/// Identifier of the operator of a node declared with the single `operator:` key when the
/// operator has no `id`.
pub const DEFAULT_OPERATOR_ID: &str = "op";

/// A position in the YAML file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A validated dataflow.
#[derive(Debug, Clone)]
pub struct Descriptor {
    /// The file the dataflow was read from, when it was read from a file.
    pub path: Option<PathBuf>,
    /// The nodes, in the order of the file.
    pub nodes: Vec<Node>,
    /// `communication:` settings.
    pub communication: Communication,
    /// Top-level `_unstable_deploy:` (default machine for every node).
    pub deploy: Deploy,
}

/// `communication:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Communication {
    /// `_unstable_local:`: the channel between a node and its daemon.
    pub local: LocalCommunication,
}

/// The channel between a node and its daemon (`communication._unstable_local`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LocalCommunication {
    /// A TCP connection on the loopback interface.
    Tcp,
    /// Shared-memory channel (accepted for v0.3.6 compatibility).
    Shmem,
    /// A Unix domain socket (the default).
    #[default]
    UnixDomain,
}

/// `_unstable_deploy:` / `deploy:` of a node or of the whole dataflow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deploy {
    /// The machine id of the daemon that runs the node.
    pub machine: Option<String>,
}

/// One node of the dataflow.
#[derive(Debug, Clone)]
pub struct Node {
    /// Unique id (never contains `/`).
    pub id: String,
    /// `name:`, free text shown to people.
    pub name: Option<String>,
    /// `description:`, free text shown to people.
    pub description: Option<String>,
    /// Environment variables, with `$VAR` / `${VAR}` already expanded from the environment of
    /// the process that parsed the file.
    pub env: BTreeMap<String, EnvValue>,
    /// The node's own deploy settings (`_unstable_deploy:` or `deploy:`).
    pub deploy: Deploy,
    /// What the node runs.
    pub kind: NodeKind,
    /// When the daemon starts the node again after it exits (`restart_policy` and its
    /// companions); [`Restart::default`] (never) when the node sets none of them.
    pub restart: Restart,
    /// Where the node's `id` is written.
    pub location: Location,
}

/// `restart_policy:` of a node (dora-rs's key and values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    /// `never` (the default): an exited node stays exited.
    #[default]
    Never,
    /// `on-failure`: restart after a non-zero exit code or a signal, not after exit code 0.
    OnFailure,
    /// `always`: restart after any exit, also exit code 0 and signals (SIGKILL included).
    /// A node is never restarted once the dataflow is stopping.
    Always,
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RestartPolicy::Never => "never",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Always => "always",
        })
    }
}

/// How a node is restarted: the policy and its budget. dora-rs's keys and meanings.
///
/// The delay before restart number `n` (1-based, counted within the window) is
/// `delay * 2^(n-1)`, capped by `max_delay`; `max_restarts` restarts are allowed within any
/// `window` (a sliding window: restarts older than `window` no longer count); without a
/// window they are counted over the node's whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restart {
    /// `restart_policy:`.
    pub policy: RestartPolicy,
    /// `max_restarts:`: how many restarts are allowed (within `window`); 0, the default, means
    /// no limit, as in dora-rs.
    pub max_restarts: u32,
    /// `restart_delay:`: the wait before the first restart (seconds, or a duration string such
    /// as `500ms`); zero by default. It doubles with each further restart in the window.
    pub delay: Duration,
    /// `max_restart_delay:`: the longest the doubling delay grows to.
    pub max_delay: Option<Duration>,
    /// `restart_window:`: the period over which `max_restarts` is counted.
    pub window: Option<Duration>,
}

impl Restart {
    /// Whether the node is restarted after an exit that was a success (`success`) or not.
    pub fn applies_to(&self, success: bool) -> bool {
        match self.policy {
            RestartPolicy::Never => false,
            RestartPolicy::OnFailure => !success,
            RestartPolicy::Always => true,
        }
    }

    /// The delay before the `nth` restart (1-based) within the window.
    pub fn delay_before(&self, nth: u32) -> Duration {
        let exponent = nth.saturating_sub(1).min(16);
        let delay = self.delay.saturating_mul(1u32 << exponent);
        match self.max_delay {
            Some(max) => delay.min(max),
            None => delay,
        }
    }
}

/// An environment variable value (YAML bool, integer, float or string).
#[derive(Debug, Clone, PartialEq)]
pub enum EnvValue {
    /// `true` or `false`.
    Bool(bool),
    /// A YAML integer.
    Integer(i64),
    /// A YAML float.
    Float(f64),
    /// A string, with `$VAR` / `${VAR}` expanded.
    String(String),
}

impl fmt::Display for EnvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvValue::Bool(b) => write!(f, "{b}"),
            EnvValue::Integer(i) => write!(f, "{i}"),
            EnvValue::Float(x) => write!(f, "{x}"),
            EnvValue::String(s) => f.write_str(s),
        }
    }
}

/// What a node runs.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A process: `path:` (or the legacy `custom:` form).
    Custom(CustomNode),
    /// Operators hosted by `dora runtime` (`operator:` or `operators:`).
    Runtime(RuntimeNode),
}

/// A node that is its own process.
#[derive(Debug, Clone)]
pub struct CustomNode {
    /// What runs: a program, a shell command line, nothing (dynamic) or a ROS 2 bridge.
    pub source: NodeSource,
    /// `args:` as written (split by the daemon with shell-word rules).
    pub args: Option<String>,
    /// `build:`: one command per non-empty line, in order.
    pub build: Vec<String>,
    /// `send_stdout_as:`: an output of this node that receives every line the process
    /// prints to stdout.
    pub send_stdout_as: Option<String>,
    /// Inputs by input id, in the order of the file.
    pub inputs: Vec<(String, Input)>,
    /// Declared outputs, in the order of the file.
    pub outputs: Vec<String>,
}

/// Where a custom node's executable comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeSource {
    /// `path: shell`: `args` is a shell command line run with `sh -c`.
    Shell,
    /// `path: dynamic`: the node is started by the user, not by dora.
    Dynamic,
    /// Any other path: relative to the dataflow's folder, absolute, or a program looked up in
    /// `PATH`; a `.py` file runs with `python3`.
    Path(String),
    /// `ros2:`: a bridge to ROS 2, run by dora itself.
    Ros2(Box<Ros2Bridge>),
}

/// A node made of operators.
#[derive(Debug, Clone)]
pub struct RuntimeNode {
    /// True when declared with the single `operator:` key.
    pub single: bool,
    /// The operators, in the order of the file (exactly one when `single`).
    pub operators: Vec<Operator>,
}

/// One operator of a runtime node.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Unique within the node (never contains `/`); [`DEFAULT_OPERATOR_ID`] when a single
    /// `operator:` has none.
    pub id: String,
    /// `name:`, free text shown to people.
    pub name: Option<String>,
    /// `description:`, free text shown to people.
    pub description: Option<String>,
    /// The library or script that implements the operator.
    pub source: OperatorSource,
    /// `python: { conda_env: NAME }`: the conda environment a Python operator runs in.
    pub conda_env: Option<String>,
    /// `build:`: one command per non-empty line, in order.
    pub build: Vec<String>,
    /// An output of this operator that receives every line the node's process prints to
    /// stdout (all its operators share that process). At most one operator of a node has it.
    pub send_stdout_as: Option<String>,
    /// Inputs by input id, in the order of the file.
    pub inputs: Vec<(String, Input)>,
    /// Declared outputs, in the order of the file.
    pub outputs: Vec<String>,
}

/// The implementation of an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorSource {
    /// `shared-library:`: a shared library implementing the operator ABI.
    SharedLibrary(String),
    /// `python:`: the path of a Python file defining an `Operator` class.
    Python(String),
    /// `wasm:`: accepted by the format; `dora runtime` refuses it, as dora-rs v0.3.6 did not run
    /// it either.
    Wasm(String),
}

/// One input of a node or operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// Where the input's messages come from.
    pub mapping: InputMapping,
    /// `queue_size:` of the long form, [`DEFAULT_QUEUE_SIZE`] otherwise.
    pub queue_size: usize,
    /// Where the input's source is written.
    pub location: Location,
}

/// Where an input's messages come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputMapping {
    /// `dora/timer/{secs,millis,micros,hz}/N`.
    Timer {
        /// How often the timer ticks (for `hz/N`, one second divided by N).
        interval: Duration,
    },
    /// `node/output` or `node/operator/output`. For a node declared with a single `operator:`,
    /// `node/output` is resolved to that operator (`operator` is then `Some`).
    User {
        /// The node that sends.
        source: String,
        /// The operator of `source` that sends, for a runtime node.
        operator: Option<String>,
        /// The output id.
        output: String,
    },
}

impl fmt::Display for InputMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputMapping::Timer { interval } => {
                let nanos = interval.as_nanos();
                if nanos % 1_000_000_000 == 0 {
                    write!(f, "dora/timer/secs/{}", nanos / 1_000_000_000)
                } else if nanos % 1_000_000 == 0 {
                    write!(f, "dora/timer/millis/{}", nanos / 1_000_000)
                } else {
                    write!(f, "dora/timer/micros/{}", nanos / 1_000)
                }
            }
            InputMapping::User {
                source,
                operator: Some(op),
                output,
            } => write!(f, "{source}/{op}/{output}"),
            InputMapping::User {
                source,
                operator: None,
                output,
            } => write!(f, "{source}/{output}"),
        }
    }
}

impl Descriptor {
    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The machine a node is deployed on: its own `_unstable_deploy.machine`, else the
    /// dataflow's.
    pub fn machine_of<'a>(&'a self, node: &'a Node) -> Option<&'a str> {
        node.deploy
            .machine
            .as_deref()
            .or(self.deploy.machine.as_deref())
    }

    /// Every distinct timer interval that some input of some node uses.
    pub fn timers(&self) -> BTreeSet<Duration> {
        self.nodes.iter().flat_map(Node::timers).collect()
    }
}

impl Node {
    /// The node's process settings, when it is a custom node.
    pub fn custom(&self) -> Option<&CustomNode> {
        match &self.kind {
            NodeKind::Custom(custom) => Some(custom),
            NodeKind::Runtime(_) => None,
        }
    }

    /// The node's operators (empty for a custom node).
    pub fn operators(&self) -> &[Operator] {
        match &self.kind {
            NodeKind::Custom(_) => &[],
            NodeKind::Runtime(runtime) => &runtime.operators,
        }
    }

    /// Every input of the node with its id as the node's process sees it: `input` for a
    /// custom node, `operator/input` for a runtime node.
    pub fn inputs(&self) -> Vec<(String, &Input)> {
        match &self.kind {
            NodeKind::Custom(custom) => custom
                .inputs
                .iter()
                .map(|(id, input)| (id.clone(), input))
                .collect(),
            NodeKind::Runtime(runtime) => runtime
                .operators
                .iter()
                .flat_map(|op| {
                    op.inputs
                        .iter()
                        .map(move |(id, input)| (format!("{}/{id}", op.id), input))
                })
                .collect(),
        }
    }

    /// Every output of the node as other nodes name it after `node/`: `output` for a custom
    /// node, `operator/output` for a runtime node. Includes `send_stdout_as`.
    pub fn outputs(&self) -> Vec<String> {
        match &self.kind {
            NodeKind::Custom(custom) => custom.all_outputs().map(str::to_owned).collect(),
            NodeKind::Runtime(runtime) => runtime
                .operators
                .iter()
                .flat_map(|op| op.all_outputs().map(move |out| format!("{}/{out}", op.id)))
                .collect(),
        }
    }

    /// Every distinct timer interval used by the node's inputs.
    pub fn timers(&self) -> BTreeSet<Duration> {
        match &self.kind {
            NodeKind::Custom(custom) => custom.timers(),
            NodeKind::Runtime(runtime) => runtime
                .operators
                .iter()
                .flat_map(Operator::timers)
                .collect(),
        }
    }
}

impl CustomNode {
    /// Every distinct timer interval used by the node's inputs.
    pub fn timers(&self) -> BTreeSet<Duration> {
        timers(&self.inputs)
    }

    /// The declared outputs, then `send_stdout_as` when it is not among them.
    pub fn all_outputs(&self) -> impl Iterator<Item = &str> {
        all_outputs(&self.outputs, self.send_stdout_as.as_deref())
    }
}

impl RuntimeNode {
    /// The operator with this id.
    pub fn operator(&self, id: &str) -> Option<&Operator> {
        self.operators.iter().find(|op| op.id == id)
    }
}

impl Operator {
    /// Every distinct timer interval used by the operator's inputs.
    pub fn timers(&self) -> BTreeSet<Duration> {
        timers(&self.inputs)
    }

    /// The declared outputs, then `send_stdout_as` when it is not among them.
    pub fn all_outputs(&self) -> impl Iterator<Item = &str> {
        all_outputs(&self.outputs, self.send_stdout_as.as_deref())
    }
}

impl Input {
    /// The interval of a timer input.
    pub fn timer(&self) -> Option<Duration> {
        match self.mapping {
            InputMapping::Timer { interval } => Some(interval),
            InputMapping::User { .. } => None,
        }
    }
}

fn timers(inputs: &[(String, Input)]) -> BTreeSet<Duration> {
    inputs
        .iter()
        .filter_map(|(_, input)| input.timer())
        .collect()
}

fn all_outputs<'a>(
    outputs: &'a [String],
    send_stdout_as: Option<&'a str>,
) -> impl Iterator<Item = &'a str> {
    let stdout = send_stdout_as.filter(|s| !outputs.iter().any(|o| o == s));
    outputs.iter().map(String::as_str).chain(stdout)
}

/// A ROS 2 bridge node (`ros2:`): its dataflow inputs are published on ROS 2 topics or sent as
/// service requests/replies, and what arrives from ROS 2 becomes its outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ros2Bridge {
    /// ROS 2 node name (default: the dataflow node id).
    pub node_name: Option<String>,
    /// ROS 2 namespace (default `/`).
    pub namespace: Option<String>,
    /// DDS domain (default: `ROS_DOMAIN_ID`, else 0).
    pub domain_id: Option<u32>,
    /// Topics, each published or subscribed.
    pub topics: Vec<Ros2Topic>,
    /// Services, each as client or server.
    pub services: Vec<Ros2Service>,
    /// Extra folders of message packages (besides `AMENT_PREFIX_PATH`, `DORA_ROS2_MSG_PATH`
    /// and the shipped interfaces).
    pub msg_paths: Vec<String>,
}

/// One topic of a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ros2Topic {
    /// As written (`/chatter`, `chatter`, `~/out`); resolved by the bridge with ROS 2 rules.
    pub topic: String,
    /// `pkg/Type` or `pkg/msg/Type`.
    pub message_type: String,
    /// Which way the topic goes.
    pub direction: Ros2Direction,
    /// The dataflow side: the output a subscription feeds, or the input a publisher reads.
    pub dataflow_id: String,
    /// QoS of the topic's DDS reader or writer.
    pub qos: Ros2Qos,
}

/// Which way a topic goes, seen from the dataflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ros2Direction {
    /// ROS 2 → dataflow output.
    Subscribe,
    /// Dataflow input → ROS 2.
    Publish,
}

/// One service of a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ros2Service {
    /// The service name as written; resolved by the bridge with ROS 2 rules.
    pub service: String,
    /// `pkg/Type` or `pkg/srv/Type`.
    pub service_type: String,
    /// Client or server.
    pub role: Ros2Role,
    /// QoS of the service's request and reply topics.
    pub qos: Ros2Qos,
}

/// The bridge's side of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ros2Role {
    /// Each input is a request to a ROS 2 server; each reply becomes an output.
    Client,
    /// Each ROS 2 request becomes an output (with a `request_id` parameter); the input with
    /// the same `request_id` is the reply.
    Server,
}

/// ROS 2 quality of service. The defaults are ROS 2's: reliable, volatile, keep-last 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ros2Qos {
    /// Reliable (`true`, the default) or best effort delivery.
    pub reliable: bool,
    /// Transient-local durability (late joiners get the last messages) instead of
    /// volatile.
    pub transient_local: bool,
    /// `None` is keep-all.
    pub keep_last: Option<u32>,
    /// How long a message stays valid; `None` is forever.
    pub lifespan: Option<Duration>,
    /// The expected longest interval between messages; `None` is none.
    pub deadline: Option<Duration>,
    /// Liveliness lease duration (automatic liveliness).
    pub liveliness: Option<Duration>,
}

impl Default for Ros2Qos {
    fn default() -> Self {
        Self {
            reliable: true,
            transient_local: false,
            keep_last: Some(10),
            lifespan: None,
            deadline: None,
            liveliness: None,
        }
    }
}
