//! From the YAML tree to the data model, checking everything that can be checked within one
//! node: known keys, value types, ids, timers, exactly one kind per node.
//!
//! The walker never stops at the first problem: it records it and goes on with what it can
//! still read, so that one run reports every problem of the file. Checks that need the whole
//! dataflow (unique node ids, inputs naming existing outputs) are in [`crate::validate`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::error::Problems;
use crate::expand::expand;
use crate::limits::MAX_ID_BYTES;
use crate::model::*;
use crate::suggest::{did_you_mean, list, quote, shortened};
use crate::yaml::{Scalar, Yaml};

mod restart;

const TOP_KEYS: &[&str] = &["nodes", "communication", "_unstable_deploy", "deploy"];
const COMMUNICATION_KEYS: &[&str] = &["_unstable_local", "_unstable_remote"];
const DEPLOY_KEYS: &[&str] = &["machine"];
const NODE_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "env",
    "_unstable_deploy",
    "deploy",
    "path",
    "args",
    "build",
    "send_stdout_as",
    "inputs",
    "outputs",
    "custom",
    "operator",
    "operators",
    "ros2",
    "restart_policy",
    "max_restarts",
    "restart_delay",
    "max_restart_delay",
    "restart_window",
];
/// The keys that say what a node runs; a node has exactly one.
const NODE_KINDS: &[&str] = &["path", "custom", "operator", "operators", "ros2"];
const ROS2_KEYS: &[&str] = &[
    "topic",
    "message_type",
    "direction",
    "topics",
    "service",
    "service_type",
    "role",
    "node_name",
    "namespace",
    "domain_id",
    "qos",
    "msg_paths",
];
const ROS2_TOPIC_KEYS: &[&str] = &[
    "topic",
    "message_type",
    "direction",
    "output",
    "input",
    "qos",
];
const ROS2_QOS_KEYS: &[&str] = &[
    "reliable",
    "durability",
    "keep_last",
    "keep_all",
    "lifespan",
    "deadline",
    "liveliness",
];
/// Node keys that only apply to a node with `path`.
const PATH_NODE_KEYS: &[&str] = &["args", "build", "send_stdout_as", "inputs", "outputs"];
const CUSTOM_KEYS: &[&str] = &[
    "source",
    "args",
    "envs",
    "build",
    "send_stdout_as",
    "inputs",
    "outputs",
];
const OPERATOR_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "shared-library",
    "python",
    "wasm",
    "build",
    "send_stdout_as",
    "inputs",
    "outputs",
];
/// The keys that say what an operator runs; an operator has exactly one.
const OPERATOR_SOURCES: &[&str] = &["shared-library", "python", "wasm"];
const PYTHON_KEYS: &[&str] = &["source", "conda_env"];
const INPUT_KEYS: &[&str] = &["source", "queue_size"];

const TIMER_FORMS: &str = "`dora/timer/secs/N`, `dora/timer/millis/N`, `dora/timer/micros/N` \
                           or `dora/timer/hz/N`, with N a positive integer";

/// A node as parsed, with what the cross-node checks need to name its fields.
pub(crate) struct ParsedNode {
    /// The node.
    pub node: Node,
    /// The field path of each place that holds inputs, in order: the node itself (or its
    /// `custom` map) for a custom node, each operator for a runtime node.
    pub input_fields: Vec<String>,
}

/// The top level of a dataflow as parsed.
pub(crate) struct ParsedDescriptor {
    /// The nodes that could be read, in the order of the file.
    pub nodes: Vec<ParsedNode>,
    /// `communication:`.
    pub communication: Communication,
    /// The top-level `_unstable_deploy:` or `deploy:`.
    pub deploy: Deploy,
}

/// Walks the YAML tree, recording problems.
pub(crate) struct Walker<'a> {
    /// Every problem found so far.
    pub problems: Problems,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

/// The entries of a map whose keys were checked: every key is known and appears once.
struct Map<'y> {
    path: String,
    location: Location,
    entries: Vec<(&'y Scalar, &'y Yaml)>,
}

impl<'y> Map<'y> {
    /// The value of `key`, even when it is null.
    fn get(&self, key: &str) -> Option<&'y Yaml> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The value of `key`, unless it is absent or null.
    fn value(&self, key: &str) -> Option<&'y Yaml> {
        self.get(key).filter(|v| !v.is_null())
    }

    fn entry(&self, key: &str) -> Option<(&'y Scalar, &'y Yaml)> {
        self.entries.iter().find(|(k, _)| k.value == key).copied()
    }

    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

/// The dataflow side of a ROS 2 bridge node: its inputs and outputs.
struct BridgeSide<'n> {
    inputs: &'n [(String, Input)],
    outputs: &'n [String],
}

impl BridgeSide<'_> {
    /// What a topic going `direction` connects to (`output` for a subscription, `input` for a
    /// publisher), and the ids of that kind the node has.
    fn of(&self, direction: Ros2Direction) -> (&'static str, Vec<String>) {
        match direction {
            Ros2Direction::Subscribe => ("output", self.outputs.to_vec()),
            Ros2Direction::Publish => (
                "input",
                self.inputs.iter().map(|(id, _)| id.clone()).collect(),
            ),
        }
    }
}

/// `path.key`, or `key` at the top; a long key is shortened.
fn join(path: &str, key: &str) -> String {
    let key = shortened(key);
    if path.is_empty() {
        key.into_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Walker<'a> {
    /// A walker that expands `$VAR` in `env` values with `lookup`.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Walker {
            problems: Problems::default(),
            lookup,
        }
    }

    fn error(&mut self, location: Location, field: &str, message: impl Into<String>) {
        self.problems.push(location, field, message);
    }

    /// Reads the whole document (`None` when the text holds no document).
    pub fn descriptor(&mut self, root: Option<&Yaml>) -> Option<ParsedDescriptor> {
        let Some(root) = root else {
            self.error(
                Location { line: 1, column: 1 },
                "",
                "the file is empty: a dataflow is a map with a `nodes` list",
            );
            return None;
        };
        if !matches!(root, Yaml::Mapping { .. }) {
            self.error(
                root.location(),
                "",
                format!(
                    "a dataflow is a map with a `nodes` list, found {}",
                    root.kind()
                ),
            );
            return None;
        }
        let map = self.map(root, "", TOP_KEYS, "the dataflow")?;
        let nodes = match map.get("nodes") {
            None => {
                self.error(map.location, "nodes", "missing required key `nodes`");
                Vec::new()
            }
            Some(Yaml::Sequence { items, location }) => {
                if items.is_empty() {
                    self.error(*location, "nodes", "the dataflow has no nodes");
                }
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(index, item)| self.node(item, index))
                    .collect()
            }
            Some(other) => {
                self.expected(other, "nodes", "a list of nodes");
                Vec::new()
            }
        };
        let communication = match map.value("communication") {
            Some(yaml) => self.communication(yaml, "communication"),
            None => Communication::default(),
        };
        let deploy = self.deploy_of(&map);
        Some(ParsedDescriptor {
            nodes,
            communication,
            deploy,
        })
    }

    fn communication(&mut self, yaml: &Yaml, path: &str) -> Communication {
        let mut communication = Communication::default();
        let Some(map) = self.map(yaml, path, COMMUNICATION_KEYS, "`communication`") else {
            return communication;
        };
        if let Some(local) = map.value("_unstable_local") {
            let field = map.field("_unstable_local");
            if let Some(value) = self.scalar(local, &field, "`Tcp`, `Shmem` or `UnixDomain`") {
                let choices = [
                    ("Tcp", LocalCommunication::Tcp),
                    ("Shmem", LocalCommunication::Shmem),
                    ("UnixDomain", LocalCommunication::UnixDomain),
                ];
                match choices
                    .iter()
                    .find(|(name, _)| same_word(name, &value.value))
                {
                    Some((_, choice)) => communication.local = *choice,
                    None => self.error(
                        value.location,
                        &field,
                        format!(
                            "unknown local communication {}{}: expected `Tcp`, `Shmem` or \
                             `UnixDomain`",
                            quote(&value.value),
                            did_you_mean(&value.value, choices.iter().map(|(n, _)| *n)),
                        ),
                    ),
                }
            }
        }
        if let Some(remote) = map.value("_unstable_remote") {
            // Accepted for dora-rs v0.3.6 files, where `tcp` is the only choice; daemons on
            // different machines exchange messages over TCP data links between daemons.
            let field = map.field("_unstable_remote");
            if let Some(value) = self.scalar(remote, &field, "`tcp`") {
                if !same_word("tcp", &value.value) {
                    self.error(
                        value.location,
                        &field,
                        format!(
                            "unknown remote communication {}: expected `tcp`",
                            quote(&value.value)
                        ),
                    );
                }
            }
        }
        communication
    }

    /// `_unstable_deploy:` or its alias `deploy:` of the map (node or dataflow).
    fn deploy_of(&mut self, map: &Map<'_>) -> Deploy {
        if let (Some(_), Some((key, _))) = (map.entry("_unstable_deploy"), map.entry("deploy")) {
            self.error(
                key.location,
                &map.field("deploy"),
                "`deploy` and `_unstable_deploy` are the same setting: keep one",
            );
        }
        let (key, yaml) = match (map.value("_unstable_deploy"), map.value("deploy")) {
            (Some(yaml), _) => ("_unstable_deploy", yaml),
            (None, Some(yaml)) => ("deploy", yaml),
            (None, None) => return Deploy::default(),
        };
        let field = map.field(key);
        let Some(deploy) = self.map(yaml, &field, DEPLOY_KEYS, "`deploy`") else {
            return Deploy::default();
        };
        Deploy {
            machine: self.opt_string(&deploy, "machine"),
        }
    }

    fn node(&mut self, yaml: &Yaml, index: usize) -> Option<ParsedNode> {
        let path = format!("nodes[{index}]");
        let map = self.map(yaml, &path, NODE_KEYS, "a node")?;
        let id = match map.get("id") {
            Some(id) => self.id(id, &map.field("id"), "node id"),
            None => {
                self.error(map.location, &map.field("id"), "missing required key `id`");
                None
            }
        };
        let name = self.opt_string(&map, "name");
        let description = self.opt_string(&map, "description");
        let mut env = match map.value("env") {
            Some(env) => self.env(env, &map.field("env")),
            None => BTreeMap::new(),
        };
        let deploy = self.deploy_of(&map);
        let (kind_key, kind_value) = self.node_kind_key(&map, &path)?;
        self.misplaced_path_keys(&map, &kind_key.value);
        let (kind, input_fields) = self.node_kind(&map, &path, kind_key, kind_value, &mut env)?;
        let restart = self.restart(&map, &kind);
        let location = map.get("id").map_or(map.location, Yaml::location);
        Some(ParsedNode {
            node: Node {
                id: id?,
                name,
                description,
                env,
                deploy,
                kind,
                restart,
                location,
            },
            input_fields,
        })
    }

    /// The entry that says what the node runs (one of [`NODE_KINDS`]); `None`, recorded, when
    /// there is none. A second one is recorded too, and the first one wins.
    fn node_kind_key<'y>(&mut self, map: &Map<'y>, path: &str) -> Option<(&'y Scalar, &'y Yaml)> {
        let kinds: Vec<(&Scalar, &Yaml)> = NODE_KINDS
            .iter()
            .filter_map(|kind| map.entry(kind))
            .collect();
        let Some(&first) = kinds.first() else {
            self.error(
                map.location,
                path,
                "a node needs one of `path`, `custom`, `operator` or `operators` to say what it \
                 runs; found none",
            );
            return None;
        };
        if let Some((second, _)) = kinds.get(1) {
            self.error(
                second.location,
                &map.field(&second.value),
                format!(
                    "a node has exactly one of `path`, `custom`, `operator` or `operators`; \
                     found {}",
                    list(kinds.iter().map(|(k, _)| k.value.as_str()))
                ),
            );
        }
        Some(first)
    }

    /// Records each of [`PATH_NODE_KEYS`] set on a node that runs `kind` rather than a `path`,
    /// saying where the key belongs instead.
    fn misplaced_path_keys(&mut self, map: &Map<'_>, kind: &str) {
        if kind == "path" {
            return;
        }
        for key in PATH_NODE_KEYS {
            if kind == "ros2" && (*key == "inputs" || *key == "outputs") {
                continue;
            }
            if let Some((k, _)) = map.entry(key) {
                let place = match kind {
                    "custom" => "`custom`",
                    "ros2" => "a node with `path` (a bridge has no process of its own)",
                    "operators" => "each operator",
                    _ => "`operator`",
                };
                self.error(
                    k.location,
                    &map.field(key),
                    format!(
                        "`{key}` applies to a node with `path`; this node uses `{kind}`, so put \
                         `{key}` in {place}"
                    ),
                );
            }
        }
    }

    /// What the node runs, read from its kind entry, with the field path of each place that
    /// holds its inputs.
    fn node_kind(
        &mut self,
        map: &Map<'_>,
        path: &str,
        kind_key: &Scalar,
        kind_value: &Yaml,
        env: &mut BTreeMap<String, EnvValue>,
    ) -> Option<(NodeKind, Vec<String>)> {
        let kind_field = map.field(&kind_key.value);
        Some(match kind_key.value.as_str() {
            "path" => {
                let custom = self.path_node(map, kind_value, &kind_field);
                (NodeKind::Custom(custom), vec![path.to_owned()])
            }
            "ros2" => {
                let custom = self.ros2_node(map, kind_value, &kind_field)?;
                (NodeKind::Custom(custom), vec![path.to_owned()])
            }
            "custom" => {
                let custom = self.legacy_custom(kind_value, &kind_field, env)?;
                (NodeKind::Custom(custom), vec![kind_field])
            }
            "operator" => {
                let (operator, _) =
                    self.operator(kind_value, &kind_field, Some(DEFAULT_OPERATOR_ID))?;
                let runtime = RuntimeNode {
                    single: true,
                    operators: vec![operator],
                };
                (NodeKind::Runtime(runtime), vec![kind_field])
            }
            _ => {
                let (operators, fields) = self.operators(kind_value, &kind_field);
                let runtime = RuntimeNode {
                    single: false,
                    operators,
                };
                (NodeKind::Runtime(runtime), fields)
            }
        })
    }

    /// A node with `path:`: a program, `shell`, or `dynamic` (also when the path is unusable,
    /// so that the rest of the node is still checked).
    fn path_node(&mut self, map: &Map<'_>, yaml: &Yaml, field: &str) -> CustomNode {
        let source = self.path_source(yaml, field);
        CustomNode {
            source: source.unwrap_or(NodeSource::Dynamic),
            args: self.opt_string(map, "args"),
            build: self.build(map),
            send_stdout_as: self.opt_id(map, "send_stdout_as", "output id"),
            inputs: self.inputs(map.get("inputs"), &map.field("inputs")),
            outputs: self.outputs(map.get("outputs"), &map.field("outputs")),
        }
    }

    /// A node with `ros2:`: a bridge whose dataflow side is the node's `inputs` and `outputs`.
    fn ros2_node(&mut self, map: &Map<'_>, yaml: &Yaml, field: &str) -> Option<CustomNode> {
        let inputs = self.inputs(map.get("inputs"), &map.field("inputs"));
        let outputs = self.outputs(map.get("outputs"), &map.field("outputs"));
        let bridge = self.ros2(yaml, field, &inputs, &outputs)?;
        Some(CustomNode {
            source: NodeSource::Ros2(Box::new(bridge)),
            args: None,
            build: Vec::new(),
            send_stdout_as: None,
            inputs,
            outputs,
        })
    }

    /// `ros2:` — one topic, several `topics`, or one `service`, and where the dataflow side is.
    fn ros2(
        &mut self,
        yaml: &Yaml,
        path: &str,
        inputs: &[(String, Input)],
        outputs: &[String],
    ) -> Option<Ros2Bridge> {
        let map = self.map(yaml, path, ROS2_KEYS, "a ROS 2 bridge")?;
        let shared_qos = match map.value("qos") {
            Some(qos) => self.ros2_qos(qos, &map.field("qos"), Ros2Qos::default()),
            None => Ros2Qos::default(),
        };
        let domain_id = self.ros2_domain_id(&map);
        let msg_paths = self.ros2_msg_paths(&map);
        let mut bridge = Ros2Bridge {
            node_name: self.opt_string(&map, "node_name"),
            namespace: self.opt_string(&map, "namespace"),
            domain_id,
            topics: Vec::new(),
            services: Vec::new(),
            msg_paths,
        };
        let side = BridgeSide { inputs, outputs };
        let forms: Vec<&str> = ["topic", "topics", "service"]
            .into_iter()
            .filter(|k| map.get(k).is_some())
            .collect();
        match forms.as_slice() {
            ["topic"] => {
                let topic = self.ros2_single_topic(&map, path, &side, shared_qos)?;
                bridge.topics.push(topic);
            }
            ["topics"] => bridge.topics = self.ros2_topics(&map, &side, shared_qos)?,
            ["service"] => {
                let service = self.ros2_service(&map, path, &side, shared_qos)?;
                bridge.services.push(service);
            }
            [] => {
                self.error(
                    map.location,
                    path,
                    "a ROS 2 bridge needs `topic` (one topic), `topics` (a list) or `service`",
                );
                return None;
            }
            several => {
                self.error(
                    map.location,
                    path,
                    format!(
                        "a ROS 2 bridge has one of `topic`, `topics` or `service`; found {}",
                        list(several.iter().copied())
                    ),
                );
                return None;
            }
        }
        Some(bridge)
    }

    /// `domain_id:` of a bridge, 0 to 232 as DDS allows.
    fn ros2_domain_id(&mut self, map: &Map<'_>) -> Option<u32> {
        let value = map.value("domain_id")?;
        match value {
            Yaml::Scalar(s) if value.as_i64().is_some_and(|d| (0..=232).contains(&d)) => {
                s.value.parse().ok()
            }
            other => {
                self.expected(other, &map.field("domain_id"), "a DDS domain id (0 to 232)");
                None
            }
        }
    }

    /// `msg_paths:` of a bridge: extra folders of message packages.
    fn ros2_msg_paths(&mut self, map: &Map<'_>) -> Vec<String> {
        match map.value("msg_paths") {
            Some(Yaml::Sequence { items, .. }) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    self.string(item, &format!("{}[{i}]", map.field("msg_paths")))
                })
                .collect(),
            Some(other) => {
                self.expected(other, &map.field("msg_paths"), "a list of folders");
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// The bridge form with one `topic`: the node has exactly one output (subscribe) or one
    /// input (publish), and that is the topic's dataflow side.
    fn ros2_single_topic(
        &mut self,
        map: &Map<'_>,
        path: &str,
        side: &BridgeSide<'_>,
        qos: Ros2Qos,
    ) -> Option<Ros2Topic> {
        let direction = self.ros2_direction(map, "direction")?;
        let (what, ids) = side.of(direction);
        let [dataflow_id] = ids.as_slice() else {
            self.error(
                map.location,
                path,
                format!(
                    "a bridge with one topic and `direction: {}` needs exactly one {what} in the node's `{what}s`, found {}",
                    if direction == Ros2Direction::Subscribe { "subscribe" } else { "publish" },
                    ids.len()
                ),
            );
            return None;
        };
        Some(Ros2Topic {
            topic: self.required_string(map, "topic")?,
            message_type: self.required_string(map, "message_type")?,
            direction,
            dataflow_id: dataflow_id.clone(),
            qos,
        })
    }

    /// The bridge form with a `topics:` list; `None` when it is not a list. Topics with a
    /// problem are recorded and left out.
    fn ros2_topics(
        &mut self,
        map: &Map<'_>,
        side: &BridgeSide<'_>,
        shared_qos: Ros2Qos,
    ) -> Option<Vec<Ros2Topic>> {
        let field = map.field("topics");
        let Some(Yaml::Sequence { items, .. }) = map.value("topics") else {
            if let Some(other) = map.get("topics") {
                self.expected(other, &field, "a list of topics");
            }
            return None;
        };
        let topics = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                self.ros2_listed_topic(item, &format!("{field}[{i}]"), side, shared_qos)
            })
            .collect();
        Some(topics)
    }

    /// One entry of `topics:`; it names its dataflow side (`output` or `input`) itself.
    fn ros2_listed_topic(
        &mut self,
        item: &Yaml,
        item_path: &str,
        side: &BridgeSide<'_>,
        shared_qos: Ros2Qos,
    ) -> Option<Ros2Topic> {
        let topic_map = self.map(item, item_path, ROS2_TOPIC_KEYS, "a topic")?;
        let qos = match topic_map.value("qos") {
            Some(qos) => self.ros2_qos(qos, &topic_map.field("qos"), shared_qos),
            None => shared_qos,
        };
        let direction = self.ros2_direction(&topic_map, "direction")?;
        let (key, known) = side.of(direction);
        let Some(dataflow_id) = self.opt_id(&topic_map, key, &format!("{key} id")) else {
            self.error(
                topic_map.location,
                item_path,
                format!("a topic with this direction names its dataflow `{key}`"),
            );
            return None;
        };
        if !known.contains(&dataflow_id) {
            let hint = crate::suggest::closest(&dataflow_id, known.iter().map(String::as_str))
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            self.error(
                topic_map.location,
                &topic_map.field(key),
                format!(
                    "{} is not one of the node's {key}s{hint}",
                    quote(&dataflow_id)
                ),
            );
            return None;
        }
        let (Some(topic), Some(message_type)) = (
            self.required_string(&topic_map, "topic"),
            self.required_string(&topic_map, "message_type"),
        ) else {
            return None;
        };
        Some(Ros2Topic {
            topic,
            message_type,
            direction,
            dataflow_id,
            qos,
        })
    }

    /// The bridge form with one `service`, as `role: client` or `role: server`.
    fn ros2_service(
        &mut self,
        map: &Map<'_>,
        path: &str,
        side: &BridgeSide<'_>,
        qos: Ros2Qos,
    ) -> Option<Ros2Service> {
        let role = self.ros2_role(map)?;
        if side.outputs.len() != 1 || side.inputs.is_empty() {
            self.error(
                map.location,
                path,
                "a service bridge needs one output and at least one input (requests and replies)",
            );
        }
        Some(Ros2Service {
            service: self.required_string(map, "service")?,
            service_type: self.required_string(map, "service_type")?,
            role,
            qos,
        })
    }

    fn ros2_role(&mut self, map: &Map<'_>) -> Option<Ros2Role> {
        let Some(value) = map.value("role") else {
            self.error(
                map.location,
                &map.field("role"),
                "missing required key `role` (`client` or `server`)",
            );
            return None;
        };
        match self.string(value, &map.field("role")).as_deref() {
            Some("client") => Some(Ros2Role::Client),
            Some("server") => Some(Ros2Role::Server),
            Some(other) => {
                self.error(
                    value.location(),
                    &map.field("role"),
                    format!(
                        "unknown role {}: expected `client` or `server`",
                        quote(other)
                    ),
                );
                None
            }
            None => None,
        }
    }

    fn required_string(&mut self, map: &Map<'_>, key: &str) -> Option<String> {
        match map.value(key) {
            Some(value) => self.non_empty_string(value, &map.field(key), "a string"),
            None => {
                self.error(
                    map.location,
                    &map.field(key),
                    format!("missing required key `{key}`"),
                );
                None
            }
        }
    }

    fn ros2_direction(&mut self, map: &Map<'_>, key: &str) -> Option<Ros2Direction> {
        let Some(value) = map.value(key) else {
            self.error(
                map.location,
                &map.field(key),
                "missing required key `direction` (`subscribe` or `publish`)",
            );
            return None;
        };
        match self.string(value, &map.field(key)).as_deref() {
            Some("subscribe") => Some(Ros2Direction::Subscribe),
            Some("publish") => Some(Ros2Direction::Publish),
            Some(other) => {
                self.error(
                    value.location(),
                    &map.field(key),
                    format!(
                        "unknown direction {}: expected `subscribe` or `publish`",
                        quote(other)
                    ),
                );
                None
            }
            None => None,
        }
    }

    fn ros2_qos(&mut self, yaml: &Yaml, path: &str, base: Ros2Qos) -> Ros2Qos {
        let mut qos = base;
        let Some(map) = self.map(yaml, path, ROS2_QOS_KEYS, "a QoS profile") else {
            return qos;
        };
        if let Some(value) = map.value("reliable") {
            match value.as_bool() {
                Some(reliable) => qos.reliable = reliable,
                None => self.expected(value, &map.field("reliable"), "true or false"),
            }
        }
        if let Some(value) = map.value("durability") {
            match self.string(value, &map.field("durability")).as_deref() {
                Some("volatile") => qos.transient_local = false,
                Some("transient_local") => qos.transient_local = true,
                Some(other) => self.error(
                    value.location(),
                    &map.field("durability"),
                    format!(
                        "unknown durability `{other}`: expected `volatile` or `transient_local`"
                    ),
                ),
                None => {}
            }
        }
        if let Some(value) = map.value("keep_last") {
            match value.as_i64() {
                Some(depth) if depth >= 1 && depth <= i64::from(u32::MAX) => {
                    qos.keep_last = Some(depth as u32)
                }
                _ => self.expected(
                    value,
                    &map.field("keep_last"),
                    "a history depth of at least 1",
                ),
            }
        }
        if let Some(value) = map.value("keep_all") {
            match value.as_bool() {
                Some(true) => qos.keep_last = None,
                Some(false) => {}
                None => self.expected(value, &map.field("keep_all"), "true or false"),
            }
        }
        for (key, slot) in [
            ("lifespan", &mut qos.lifespan),
            ("deadline", &mut qos.deadline),
            ("liveliness", &mut qos.liveliness),
        ] {
            if let Some(value) = map.value(key) {
                match value.as_f64() {
                    Some(secs) if secs > 0.0 && secs.is_finite() => {
                        *slot = Some(Duration::from_secs_f64(secs))
                    }
                    _ => self.expected(value, &map.field(key), "a duration in seconds"),
                }
            }
        }
        qos
    }

    /// `path:`; `shell` and `dynamic` are special.
    fn path_source(&mut self, yaml: &Yaml, field: &str) -> Option<NodeSource> {
        let path = self.non_empty_string(yaml, field, "a program path, `shell` or `dynamic`")?;
        Some(match path.as_str() {
            "shell" => NodeSource::Shell,
            "dynamic" => NodeSource::Dynamic,
            _ => NodeSource::Path(path),
        })
    }

    /// The legacy `custom:` form; its `envs` are merged into the node's `env`.
    fn legacy_custom(
        &mut self,
        yaml: &Yaml,
        path: &str,
        env: &mut BTreeMap<String, EnvValue>,
    ) -> Option<CustomNode> {
        let map = self.map(yaml, path, CUSTOM_KEYS, "`custom`")?;
        let source = match map.get("source") {
            Some(source) => self.path_source(source, &map.field("source")),
            None => {
                self.error(
                    map.location,
                    &map.field("source"),
                    "missing required key `source`",
                );
                None
            }
        };
        if let Some(envs) = map.value("envs") {
            let envs_field = map.field("envs");
            for (key, value) in self.env(envs, &envs_field) {
                match env.entry(key) {
                    std::collections::btree_map::Entry::Vacant(entry) => {
                        entry.insert(value);
                    }
                    std::collections::btree_map::Entry::Occupied(entry) => {
                        let key = entry.key();
                        let location = key_location(envs, key).unwrap_or(envs.location());
                        self.error(
                            location,
                            &join(&envs_field, key),
                            format!("`{key}` is set both in the node's `env` and in `custom.envs`"),
                        );
                    }
                }
            }
        }
        Some(CustomNode {
            source: source?,
            args: self.opt_string(&map, "args"),
            build: self.build(&map),
            send_stdout_as: self.opt_id(&map, "send_stdout_as", "output id"),
            inputs: self.inputs(map.get("inputs"), &map.field("inputs")),
            outputs: self.outputs(map.get("outputs"), &map.field("outputs")),
        })
    }

    /// `operators:`: a non-empty list of operators with unique ids.
    fn operators(&mut self, yaml: &Yaml, path: &str) -> (Vec<Operator>, Vec<String>) {
        let mut operators = Vec::new();
        let mut fields = Vec::new();
        let items = match yaml {
            Yaml::Sequence { items, location } => {
                if items.is_empty() {
                    self.error(*location, path, "`operators` is empty: list at least one");
                }
                items
            }
            other => {
                self.expected(other, path, "a list of operators");
                return (operators, fields);
            }
        };
        let mut seen: HashMap<String, Location> = HashMap::new();
        // The first operator with `send_stdout_as`: its id and the line it says so on.
        let mut stdout_owner: Option<(String, usize)> = None;
        for (index, item) in items.iter().enumerate() {
            let field = format!("{path}[{index}]");
            let Some((operator, id_location)) = self.operator(item, &field, None) else {
                continue;
            };
            if operator.send_stdout_as.is_some() {
                let location = value_location(item, "send_stdout_as").unwrap_or(id_location);
                match &stdout_owner {
                    None => stdout_owner = Some((operator.id.clone(), location.line)),
                    Some((owner, line)) => self.error(
                        location,
                        &join(&field, "send_stdout_as"),
                        format!(
                            "operator `{owner}` already sets `send_stdout_as` (line {line}): \
                             the operators of a node share one process and its stdout, so at \
                             most one of them can send that stdout as an output"
                        ),
                    ),
                }
            }
            if let Some(first) = seen.get(&operator.id) {
                self.error(
                    id_location,
                    &join(&field, "id"),
                    format!(
                        "operator id `{}` is already used in this node (line {})",
                        operator.id, first.line
                    ),
                );
                continue;
            }
            seen.insert(operator.id.clone(), id_location);
            operators.push(operator);
            fields.push(field);
        }
        (operators, fields)
    }

    /// One operator, and where its id is written. `default_id` is the id of an operator
    /// without `id` (only a single `operator:` may omit it).
    fn operator(
        &mut self,
        yaml: &Yaml,
        path: &str,
        default_id: Option<&str>,
    ) -> Option<(Operator, Location)> {
        let map = self.map(yaml, path, OPERATOR_KEYS, "an operator")?;
        let id = match (map.get("id"), default_id) {
            (Some(id), _) => self.id(id, &map.field("id"), "operator id"),
            (None, Some(default)) => Some(default.to_owned()),
            (None, None) => {
                self.error(
                    map.location,
                    &map.field("id"),
                    "missing required key `id` (every operator of `operators` needs one)",
                );
                None
            }
        };
        let sources: Vec<(&Scalar, &Yaml)> = OPERATOR_SOURCES
            .iter()
            .filter_map(|key| map.entry(key))
            .collect();
        let source = match sources.as_slice() {
            [] => {
                self.error(
                    map.location,
                    path,
                    "an operator needs one of `shared-library`, `python` or `wasm`; found none",
                );
                None
            }
            [(key, value), rest @ ..] => {
                if let Some((second, _)) = rest.first() {
                    self.error(
                        second.location,
                        &map.field(&second.value),
                        format!(
                            "an operator has exactly one of `shared-library`, `python` or \
                             `wasm`; found {}",
                            list(sources.iter().map(|(k, _)| k.value.as_str()))
                        ),
                    );
                }
                self.operator_source(&key.value, value, &map.field(&key.value))
            }
        };
        let operator = Operator {
            id: id?,
            name: self.opt_string(&map, "name"),
            description: self.opt_string(&map, "description"),
            build: self.build(&map),
            send_stdout_as: self.opt_id(&map, "send_stdout_as", "output id"),
            inputs: self.inputs(map.get("inputs"), &map.field("inputs")),
            outputs: self.outputs(map.get("outputs"), &map.field("outputs")),
            conda_env: source.as_ref().and_then(|(_, conda)| conda.clone()),
            source: source?.0,
        };
        let id_location = map.get("id").map_or(map.location, Yaml::location);
        Some((operator, id_location))
    }

    /// The value of `shared-library`, `python` or `wasm`, and the conda environment of a
    /// Python operator.
    fn operator_source(
        &mut self,
        key: &str,
        yaml: &Yaml,
        field: &str,
    ) -> Option<(OperatorSource, Option<String>)> {
        if key == "python" {
            if let Yaml::Mapping { .. } = yaml {
                let map = self.map(yaml, field, PYTHON_KEYS, "`python`")?;
                let source = match map.get("source") {
                    Some(source) => {
                        self.non_empty_string(source, &map.field("source"), "a Python file")
                    }
                    None => {
                        self.error(
                            map.location,
                            &map.field("source"),
                            "missing required key `source`",
                        );
                        None
                    }
                };
                let conda_env = self.opt_string(&map, "conda_env");
                return Some((OperatorSource::Python(source?), conda_env));
            }
        }
        let source = self.non_empty_string(yaml, field, "a file path")?;
        let source = match key {
            "python" => OperatorSource::Python(source),
            "wasm" => OperatorSource::Wasm(source),
            _ => OperatorSource::SharedLibrary(source),
        };
        Some((source, None))
    }

    /// `inputs:` (absent or null means none).
    fn inputs(&mut self, yaml: Option<&Yaml>, path: &str) -> Vec<(String, Input)> {
        let Some(yaml) = yaml.filter(|y| !y.is_null()) else {
            return Vec::new();
        };
        let Some(entries) = self.entries(yaml, path, "a map of input ids to sources") else {
            return Vec::new();
        };
        entries
            .into_iter()
            .filter_map(|(key, value)| {
                let field = join(path, &key.value);
                let id = self.id_text(key, &field, "input id");
                let input = self.input(value, &field);
                Some((id?, input?))
            })
            .collect()
    }

    /// One input: `node/output`, a timer, or `{ source, queue_size }`.
    fn input(&mut self, yaml: &Yaml, field: &str) -> Option<Input> {
        let (source, queue_size) = match yaml {
            Yaml::Mapping { .. } => {
                let map = self.map(yaml, field, INPUT_KEYS, "an input")?;
                let queue_size = match map.value("queue_size") {
                    Some(size) => self.queue_size(size, &map.field("queue_size")),
                    None => Some(DEFAULT_QUEUE_SIZE),
                };
                let Some(source) = map.get("source") else {
                    self.error(
                        map.location,
                        &map.field("source"),
                        "missing required key `source`",
                    );
                    return None;
                };
                (source, queue_size)
            }
            other => (other, Some(DEFAULT_QUEUE_SIZE)),
        };
        let Yaml::Scalar(scalar) = source else {
            self.expected(
                source,
                field,
                "`node/output`, a timer such as `dora/timer/millis/100`, or a map with \
                 `source` and `queue_size`",
            );
            return None;
        };
        if scalar.is_null() {
            self.error(
                scalar.location,
                field,
                "missing source: write `node/output` or a timer such as `dora/timer/millis/100`",
            );
            return None;
        }
        let mapping = match input_mapping(&scalar.value) {
            Ok(mapping) => Some(mapping),
            Err(message) => {
                self.error(scalar.location, field, message);
                None
            }
        };
        Some(Input {
            mapping: mapping?,
            queue_size: queue_size?,
            location: scalar.location,
        })
    }

    fn queue_size(&mut self, yaml: &Yaml, field: &str) -> Option<usize> {
        let size = match yaml {
            Yaml::Scalar(s) => s.as_i64(),
            _ => None,
        };
        match size.map(usize::try_from) {
            Some(Ok(size)) if size >= 1 => Some(size),
            _ => {
                let found = match yaml {
                    Yaml::Scalar(s) if !s.is_null() => quote(&s.value),
                    other => other.kind().to_owned(),
                };
                self.error(
                    yaml.location(),
                    field,
                    format!("`queue_size` must be a whole number of at least 1, found {found}"),
                );
                None
            }
        }
    }

    /// `outputs:`: a list of distinct output ids (absent or null means none).
    fn outputs(&mut self, yaml: Option<&Yaml>, path: &str) -> Vec<String> {
        let Some(yaml) = yaml.filter(|y| !y.is_null()) else {
            return Vec::new();
        };
        let Yaml::Sequence { items, .. } = yaml else {
            self.expected(yaml, path, "a list of output ids");
            return Vec::new();
        };
        let mut outputs: Vec<String> = Vec::new();
        let mut seen: HashMap<String, Location> = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            let field = format!("{path}[{index}]");
            let Some(id) = self.id(item, &field, "output id") else {
                continue;
            };
            if let Some(first) = seen.get(&id) {
                self.error(
                    item.location(),
                    &field,
                    format!(
                        "output `{id}` is listed twice (first on line {})",
                        first.line
                    ),
                );
                continue;
            }
            seen.insert(id.clone(), item.location());
            outputs.push(id);
        }
        outputs
    }

    /// `env:` (or `custom.envs`): bools, numbers and strings; strings get `$VAR` expanded.
    fn env(&mut self, yaml: &Yaml, path: &str) -> BTreeMap<String, EnvValue> {
        let mut env = BTreeMap::new();
        let Some(entries) = self.entries(yaml, path, "a map of variable names to values") else {
            return env;
        };
        for (key, value) in entries {
            let field = join(path, &key.value);
            let Yaml::Scalar(scalar) = value else {
                self.expected(value, &field, "a boolean, a number or a string");
                continue;
            };
            let value = if scalar.is_null() {
                self.error(
                    scalar.location,
                    &field,
                    "missing value: expected a boolean, a number or a string",
                );
                continue;
            } else if let Some(b) = scalar.as_bool() {
                EnvValue::Bool(b)
            } else if let Some(i) = scalar.as_i64() {
                EnvValue::Integer(i)
            } else if let Some(x) = scalar.as_f64() {
                EnvValue::Float(x)
            } else {
                match expand(&scalar.value, self.lookup) {
                    Ok(text) => EnvValue::String(text),
                    Err(message) => {
                        self.error(scalar.location, &field, message);
                        continue;
                    }
                }
            };
            env.insert(key.value.clone(), value);
        }
        env
    }

    /// `build:`: one command per non-empty line.
    fn build(&mut self, map: &Map<'_>) -> Vec<String> {
        self.opt_string(map, "build")
            .map(|text| {
                text.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks that `yaml` is a map without duplicate keys; returns its entries.
    fn entries<'y>(
        &mut self,
        yaml: &'y Yaml,
        path: &str,
        expected: &str,
    ) -> Option<Vec<(&'y Scalar, &'y Yaml)>> {
        let Yaml::Mapping { entries, .. } = yaml else {
            self.expected(yaml, path, expected);
            return None;
        };
        let mut seen: HashMap<&str, Location> = HashMap::new();
        let mut unique = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if let Some(first) = seen.get(key.value.as_str()) {
                self.error(
                    key.location,
                    &join(path, &key.value),
                    format!(
                        "duplicate key `{}` (first on line {}, column {})",
                        key.value, first.line, first.column
                    ),
                );
                continue;
            }
            seen.insert(&key.value, key.location);
            unique.push((key, value));
        }
        Some(unique)
    }

    /// Checks that `yaml` is a map whose keys are all in `keys`, each once. `what` names the
    /// map in messages ("a node").
    fn map<'y>(
        &mut self,
        yaml: &'y Yaml,
        path: &str,
        keys: &[&str],
        what: &str,
    ) -> Option<Map<'y>> {
        let entries = self.entries(yaml, path, &format!("{what} (a map)"))?;
        let mut known = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if keys.contains(&key.value.as_str()) {
                known.push((key, value));
                continue;
            }
            let hint = match crate::suggest::closest(&key.value, keys.iter().copied()) {
                Some(close) => format!(" (did you mean `{close}`?)"),
                None => format!("; the keys of {what} are {}", list(keys.iter().copied())),
            };
            self.error(
                key.location,
                &join(path, &key.value),
                format!("unknown key {}{hint}", quote(&key.value)),
            );
        }
        Some(Map {
            path: path.to_owned(),
            location: yaml.location(),
            entries: known,
        })
    }

    fn scalar<'y>(&mut self, yaml: &'y Yaml, field: &str, expected: &str) -> Option<&'y Scalar> {
        match yaml {
            Yaml::Scalar(s) if !s.is_null() => Some(s),
            other => {
                self.expected(other, field, expected);
                None
            }
        }
    }

    fn string(&mut self, yaml: &Yaml, field: &str) -> Option<String> {
        self.scalar(yaml, field, "a string")
            .map(|s| s.value.clone())
    }

    fn non_empty_string(&mut self, yaml: &Yaml, field: &str, expected: &str) -> Option<String> {
        let scalar = self.scalar(yaml, field, expected)?;
        if scalar.value.trim().is_empty() {
            self.error(
                scalar.location,
                field,
                format!("expected {expected}, found an empty string"),
            );
            return None;
        }
        Some(scalar.value.clone())
    }

    /// An optional string key: absent or null means `None`.
    fn opt_string(&mut self, map: &Map<'_>, key: &str) -> Option<String> {
        let value = map.value(key)?;
        self.string(value, &map.field(key))
    }

    /// An optional id key: absent or null means `None`.
    fn opt_id(&mut self, map: &Map<'_>, key: &str, what: &str) -> Option<String> {
        let value = map.value(key)?;
        self.id(value, &map.field(key), what)
    }

    /// A node, operator, input or output id: a non-empty string without `/`.
    fn id(&mut self, yaml: &Yaml, field: &str, what: &str) -> Option<String> {
        let scalar = self.scalar(yaml, field, &with_article(what))?;
        self.id_text(scalar, field, what)
    }

    fn id_text(&mut self, scalar: &Scalar, field: &str, what: &str) -> Option<String> {
        let id = scalar.value.as_str();
        if id.trim().is_empty() {
            self.error(
                scalar.location,
                field,
                format!("{} cannot be empty", with_article(what)),
            );
            None
        } else if id.len() > MAX_ID_BYTES {
            self.error(
                scalar.location,
                field,
                format!(
                    "{} is at most {MAX_ID_BYTES} bytes, found {}",
                    with_article(what),
                    quote(id)
                ),
            );
            None
        } else if id.contains('/') {
            self.error(
                scalar.location,
                field,
                format!(
                    "{} cannot contain `/`, found {}",
                    with_article(what),
                    quote(id)
                ),
            );
            None
        } else if id.chars().any(char::is_control) {
            self.error(
                scalar.location,
                field,
                format!(
                    "{} cannot contain control characters, found {}",
                    with_article(what),
                    quote(id)
                ),
            );
            None
        } else {
            Some(id.to_owned())
        }
    }

    fn expected(&mut self, found: &Yaml, field: &str, expected: &str) {
        self.error(
            found.location(),
            field,
            format!("expected {expected}, found {}", found.kind()),
        );
    }
}

/// Where `key` is written in a map.
fn key_location(map: &Yaml, key: &str) -> Option<Location> {
    match map {
        Yaml::Mapping { entries, .. } => entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(k, _)| k.location),
        _ => None,
    }
}

/// Where the value of `key` is written in a map.
fn value_location(map: &Yaml, key: &str) -> Option<Location> {
    match map {
        Yaml::Mapping { entries, .. } => entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v.location()),
        _ => None,
    }
}

/// "a node id", "an output id".
fn with_article(what: &str) -> String {
    let vowel = what.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {what}", if vowel { "an" } else { "a" })
}

/// `Tcp` matches `tcp`, `UnixDomain` matches `unix_domain` and `unix-domain`.
fn same_word(canonical: &str, written: &str) -> bool {
    let normalized: String = written.chars().filter(|c| *c != '_' && *c != '-').collect();
    normalized.eq_ignore_ascii_case(canonical)
}

/// Reads an input source: `node/output`, `node/operator/output`, or a `dora/timer/...`.
/// The error explains the valid forms.
pub(crate) fn input_mapping(source: &str) -> Result<InputMapping, String> {
    if let Some(rest) = source.strip_prefix("dora/") {
        return timer(rest, source).map(|interval| InputMapping::Timer { interval });
    }
    let parts: Vec<&str> = source.split('/').collect();
    let (node, operator, output) = match parts.as_slice() {
        _ if parts.iter().any(|p| p.trim().is_empty()) => None,
        [node, output] => Some((*node, None, *output)),
        [node, operator, output] => Some((*node, Some((*operator).to_owned()), *output)),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "invalid input source {}: expected `node/output`, `node/operator/output` \
             or a timer ({TIMER_FORMS})",
            quote(source)
        )
    })?;
    Ok(InputMapping::User {
        source: node.to_owned(),
        operator,
        output: output.to_owned(),
    })
}

/// `timer/UNIT/N` (after `dora/`).
fn timer(rest: &str, source: &str) -> Result<Duration, String> {
    let invalid = |why: &str| {
        format!(
            "invalid timer {}: {why}; timers are {TIMER_FORMS}",
            quote(source)
        )
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let [kind, unit, count] = parts.as_slice() else {
        return Err(if parts.first() == Some(&"timer") {
            invalid("expected `dora/timer/UNIT/N`")
        } else {
            format!(
                "unknown dora input {}: the only `dora/` inputs are timers: {TIMER_FORMS}",
                quote(source)
            )
        });
    };
    if *kind != "timer" {
        return Err(format!(
            "unknown dora input {}: the only `dora/` inputs are timers: {TIMER_FORMS}",
            quote(source)
        ));
    }
    let units = ["secs", "millis", "micros", "hz"];
    if !units.contains(unit) {
        return Err(invalid(&format!(
            "unknown unit {}{}",
            quote(unit),
            did_you_mean(unit, units.iter().copied())
        )));
    }
    let n: u64 = match count.parse() {
        Ok(0) => return Err(invalid("N must be at least 1")),
        Ok(n) => n,
        Err(_) => return Err(invalid(&format!("{} is not a whole number", quote(count)))),
    };
    let interval = match *unit {
        "secs" => Duration::from_secs(n),
        "millis" => Duration::from_millis(n),
        "micros" => Duration::from_micros(n),
        _ => {
            if n > 1_000_000_000 {
                return Err(invalid("the highest frequency is 1000000000 hz"));
            }
            Duration::from_nanos(1_000_000_000 / n)
        }
    };
    Ok(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers() {
        let t = |s: &str| match input_mapping(s) {
            Ok(InputMapping::Timer { interval }) => interval,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(t("dora/timer/secs/2"), Duration::from_secs(2));
        assert_eq!(t("dora/timer/millis/5"), Duration::from_millis(5));
        assert_eq!(t("dora/timer/micros/7"), Duration::from_micros(7));
        assert_eq!(t("dora/timer/hz/4"), Duration::from_millis(250));
        for bad in [
            "dora/timer/millis/0",
            "dora/timer/furlongs/3",
            "dora/timer/millis/-1",
            "dora/timer/millis",
            "dora/clock",
            "dora/timer/hz/9999999999",
        ] {
            assert!(input_mapping(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_inputs() {
        assert_eq!(
            input_mapping("a/b/c"),
            Ok(InputMapping::User {
                source: "a".into(),
                operator: Some("b".into()),
                output: "c".into()
            })
        );
        for bad in ["a", "a/", "/b", "a/b/c/d", "a//c"] {
            assert!(input_mapping(bad).is_err(), "{bad}");
        }
    }
}
