//! Drawing a dataflow: the mermaid flowchart of `dora graph --mermaid` and the self-contained
//! HTML page of `dora graph`.
//!
//! It owns the drawing rules below and the layout and rendering of the SVG. Every function is
//! a pure function of a [`Descriptor`] that returns text: this crate never reads or writes
//! files, opens a browser or starts anything (the CLI does that), and the page it makes loads
//! nothing from the network and holds no script.
//!
//! Both drawings come from one [`Graph`]: the vertices (nodes, operators, timers) and the
//! edges (one per input) of a [`Descriptor`], so the mermaid text and the SVG always show the
//! same thing.
//!
//! Drawing rules (those of dora-rs v0.3.6):
//! - A node without inputs is a *source*, a node without outputs (but with inputs) a *sink*.
//! - A runtime node with exactly one operator whose id is the default `op` (the single
//!   `operator:` form) is drawn as one vertex named after the node, with the operator's
//!   inputs and outputs; edges from or to it use the node id alone.
//! - Every other runtime node is a group of operator vertices named `node/operator`.
//! - Every distinct timer interval is one vertex `dora/timer/<unit>/<n>`, in the order of the
//!   interval length.
//! - Edges follow the nodes in file order, and inside a node its (operators' and) inputs in
//!   file order.

mod html;
mod mermaid;
mod svg;

use std::collections::BTreeSet;
use std::time::Duration;

use dora_descriptor::{
    Descriptor, Input, InputMapping, NodeKind, RuntimeNode, DEFAULT_OPERATOR_ID,
};

pub use html::html;
pub use mermaid::mermaid;

/// The drawable view of a dataflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// Node and operator vertices in file order, then timer vertices by interval.
    pub vertices: Vec<Vertex>,
    /// One edge per input, in file order.
    pub edges: Vec<Edge>,
    /// Number of dataflow nodes (a runtime node counts once, whatever its operators).
    pub node_count: usize,
}

/// One box of the drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vertex {
    /// Unique id: `node`, `node/operator` or `dora/timer/<unit>/<n>`.
    pub id: String,
    /// The text shown in the box: the node id, the operator id, or `<unit>/<n>` for timers.
    pub label: String,
    /// Where it sits in the flow of data.
    pub role: Role,
    /// What it stands for.
    pub kind: VertexKind,
}

/// Where a vertex sits in the flow of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No inputs (timers are sources too).
    Source,
    /// Inputs but no outputs.
    Sink,
    /// Inputs and outputs.
    Normal,
}

/// What a vertex stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VertexKind {
    /// A node that is its own process (`path:`).
    CustomNode,
    /// A runtime node with its single default operator, drawn as one vertex.
    SingleOperatorNode,
    /// One operator of the runtime node `node`.
    Operator {
        /// The id of the runtime node.
        node: String,
    },
    /// A `dora/timer/...` input source.
    Timer {
        /// How often the timer ticks.
        interval: Duration,
    },
}

/// One input: data flowing from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Id of the source vertex.
    pub from: String,
    /// Id of the target vertex.
    pub to: String,
    /// `output`, or `output as input` when the input id differs from the output id.
    pub label: String,
}

impl Graph {
    /// Collects the vertices and edges of `descriptor`.
    pub fn from_descriptor(descriptor: &Descriptor) -> Graph {
        let mut vertices = Vec::new();
        let mut edges = Vec::new();
        let mut timers = BTreeSet::new();

        for node in &descriptor.nodes {
            match &node.kind {
                NodeKind::Custom(custom) => {
                    vertices.push(Vertex {
                        id: node.id.clone(),
                        label: node.id.clone(),
                        role: role(&custom.inputs, &custom.outputs),
                        kind: VertexKind::CustomNode,
                    });
                    add_edges(
                        descriptor,
                        &node.id,
                        &custom.inputs,
                        &mut edges,
                        &mut timers,
                    );
                }
                NodeKind::Runtime(runtime) => match single_operator(runtime) {
                    Some(operator) => {
                        vertices.push(Vertex {
                            id: node.id.clone(),
                            label: node.id.clone(),
                            role: role(&operator.inputs, &operator.outputs),
                            kind: VertexKind::SingleOperatorNode,
                        });
                        add_edges(
                            descriptor,
                            &node.id,
                            &operator.inputs,
                            &mut edges,
                            &mut timers,
                        );
                    }
                    None => {
                        for operator in &runtime.operators {
                            let id = format!("{}/{}", node.id, operator.id);
                            vertices.push(Vertex {
                                id: id.clone(),
                                label: operator.id.clone(),
                                role: role(&operator.inputs, &operator.outputs),
                                kind: VertexKind::Operator {
                                    node: node.id.clone(),
                                },
                            });
                            add_edges(descriptor, &id, &operator.inputs, &mut edges, &mut timers);
                        }
                    }
                },
            }
        }

        for interval in timers {
            let id = InputMapping::Timer { interval }.to_string();
            let label = id.trim_start_matches("dora/timer/").to_owned();
            vertices.push(Vertex {
                id,
                label,
                role: Role::Source,
                kind: VertexKind::Timer { interval },
            });
        }

        Graph {
            vertices,
            edges,
            node_count: descriptor.nodes.len(),
        }
    }

    /// Number of distinct timer intervals.
    pub fn timer_count(&self) -> usize {
        self.vertices
            .iter()
            .filter(|v| matches!(v.kind, VertexKind::Timer { .. }))
            .count()
    }

    /// One line such as `5 nodes, 10 edges, 2 timers`.
    pub fn summary(&self) -> String {
        format!(
            "{}, {}, {}",
            plural(self.node_count, "node"),
            plural(self.edges.len(), "edge"),
            plural(self.timer_count(), "timer")
        )
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The operator of a runtime node drawn as a single vertex, if it is one.
fn single_operator(runtime: &RuntimeNode) -> Option<&dora_descriptor::Operator> {
    match runtime.operators.as_slice() {
        [operator] if operator.id == DEFAULT_OPERATOR_ID => Some(operator),
        _ => None,
    }
}

fn role(inputs: &[(String, Input)], outputs: &[String]) -> Role {
    if inputs.is_empty() {
        Role::Source
    } else if outputs.is_empty() {
        Role::Sink
    } else {
        Role::Normal
    }
}

fn add_edges(
    descriptor: &Descriptor,
    target: &str,
    inputs: &[(String, Input)],
    edges: &mut Vec<Edge>,
    timers: &mut BTreeSet<Duration>,
) {
    for (input_id, input) in inputs {
        let edge = match &input.mapping {
            mapping @ InputMapping::Timer { interval } => {
                timers.insert(*interval);
                Edge {
                    from: mapping.to_string(),
                    to: target.to_owned(),
                    label: input_id.clone(),
                }
            }
            InputMapping::User {
                source,
                operator,
                output,
            } => {
                let label = if output == input_id {
                    output.clone()
                } else {
                    format!("{output} as {input_id}")
                };
                Edge {
                    from: source_vertex(descriptor, source, operator.as_deref()),
                    to: target.to_owned(),
                    label,
                }
            }
        };
        edges.push(edge);
    }
}

/// Id of the vertex that draws output `source[/operator]/...`.
fn source_vertex(descriptor: &Descriptor, source: &str, operator: Option<&str>) -> String {
    let Some(operator) = operator else {
        return source.to_owned();
    };
    let drawn_as_node = descriptor.nodes.iter().any(|node| {
        node.id == source
            && matches!(&node.kind, NodeKind::Runtime(runtime) if single_operator(runtime).is_some())
    });
    if drawn_as_node {
        source.to_owned()
    } else {
        format!("{source}/{operator}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use dora_descriptor::Descriptor;

    /// The dataflow of `tests/fixtures/cli/dataflow.yml`, with every kind of vertex: timers, a
    /// source, a normal node, a single-operator node, a multi-operator node and a sink.
    pub(crate) fn sample() -> Descriptor {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/cli/dataflow.yml");
        match Descriptor::read(&path) {
            Ok(descriptor) => descriptor,
            Err(err) => panic!("fixture {} is invalid:\n{err}", path.display()),
        }
    }

    #[test]
    fn graph_counts_vertices_edges_and_timers() {
        let graph = super::Graph::from_descriptor(&sample());
        assert_eq!(graph.vertices.len(), 8);
        assert_eq!(graph.edges.len(), 10);
        assert_eq!(graph.timer_count(), 2);
        assert_eq!(graph.summary(), "5 nodes, 10 edges, 2 timers");
    }

    #[test]
    fn single_operator_node_is_one_vertex() {
        let graph = super::Graph::from_descriptor(&sample());
        let detector: Vec<_> = graph
            .vertices
            .iter()
            .filter(|vertex| vertex.id.starts_with("detector"))
            .collect();
        assert_eq!(detector.len(), 1);
        assert_eq!(detector[0].kind, super::VertexKind::SingleOperatorNode);
        assert!(graph.edges.iter().any(|edge| edge.from == "detector"
            && edge.to == "plot"
            && edge.label == "bbox as boxes"));
    }
}
