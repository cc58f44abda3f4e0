//! Checks that need the whole dataflow: node ids are unique, and every input names a node
//! and an output that exist. Also resolves `node/output` inputs of a single-operator node to
//! its operator.

use std::collections::HashMap;

use crate::error::Problems;
use crate::model::{InputMapping, Location, Node, NodeKind};
use crate::parse::ParsedNode;
use crate::suggest::{closest, did_you_mean, list, quote};

/// What other nodes can read from a node.
enum Target {
    /// A custom node and its outputs.
    Custom(Vec<String>),
    /// A node made of operators: each operator's id and outputs.
    Runtime {
        single: bool,
        operators: Vec<(String, Vec<String>)>,
    },
}

impl Target {
    fn of(node: &Node) -> Target {
        match &node.kind {
            NodeKind::Custom(custom) => {
                Target::Custom(custom.all_outputs().map(str::to_owned).collect())
            }
            NodeKind::Runtime(runtime) => Target::Runtime {
                single: runtime.single,
                operators: runtime
                    .operators
                    .iter()
                    .map(|op| (op.id.clone(), op.all_outputs().map(str::to_owned).collect()))
                    .collect(),
            },
        }
    }
}

/// Checks the dataflow, recording problems; resolves single-operator inputs in place.
pub(crate) fn validate(nodes: &mut [ParsedNode], problems: &mut Problems) {
    let mut targets: HashMap<String, Target> = HashMap::new();
    let mut first_of: HashMap<String, Location> = HashMap::new();
    for (index, parsed) in nodes.iter().enumerate() {
        let node = &parsed.node;
        if let Some(first) = first_of.get(&node.id) {
            problems.push(
                node.location,
                format!("nodes[{index}].id"),
                format!(
                    "node id {} is already used by the node on line {}",
                    quote(&node.id),
                    first.line
                ),
            );
            continue;
        }
        first_of.insert(node.id.clone(), node.location);
        targets.insert(node.id.clone(), Target::of(node));
    }
    let node_ids: Vec<String> = nodes.iter().map(|p| p.node.id.clone()).collect();

    for parsed in nodes.iter_mut() {
        let holders = match &mut parsed.node.kind {
            NodeKind::Custom(custom) => vec![&mut custom.inputs],
            NodeKind::Runtime(runtime) => runtime
                .operators
                .iter_mut()
                .map(|op| &mut op.inputs)
                .collect(),
        };
        for (inputs, path) in holders.into_iter().zip(&parsed.input_fields) {
            for (id, input) in inputs.iter_mut() {
                let field = format!("{path}.inputs.{id}");
                if let Err(message) = resolve(&mut input.mapping, &targets, &node_ids) {
                    problems.push(input.location, field, message);
                }
            }
        }
    }
}

/// Checks that the source of an input exists; fills in the operator of a single-operator
/// source. The error explains what exists instead.
fn resolve(
    mapping: &mut InputMapping,
    targets: &HashMap<String, Target>,
    node_ids: &[String],
) -> Result<(), String> {
    let InputMapping::User {
        source,
        operator,
        output,
    } = mapping
    else {
        return Ok(());
    };
    let Some(target) = targets.get(source.as_str()) else {
        let ids = node_ids.iter().map(String::as_str);
        return Err(match closest(source, ids.clone()) {
            Some(close) => format!("unknown node {} (did you mean `{close}`?)", quote(source)),
            None => format!(
                "unknown node {}; the nodes are {}",
                quote(source),
                list(ids)
            ),
        });
    };
    match (target, operator.as_deref()) {
        (Target::Custom(outputs), None) => {
            check_output(&format!("node `{source}`"), output, outputs)
        }
        (Target::Custom(outputs), Some(op)) => {
            let hint = if outputs.iter().any(|o| o == op) {
                format!(" (did you mean `{source}/{op}`?)")
            } else {
                String::new()
            };
            Err(format!(
                "node `{source}` has no operators, so `{source}/{op}/{output}` cannot exist; \
                 read its outputs as `{source}/OUTPUT`{hint}"
            ))
        }
        (Target::Runtime { single, operators }, None) => {
            if let (true, [(op_id, outputs)]) = (*single, operators.as_slice()) {
                check_output(&format!("node `{source}`"), output, outputs)?;
                *operator = Some(op_id.clone());
                return Ok(());
            }
            let having: Vec<&str> = operators
                .iter()
                .filter(|(_, outputs)| outputs.iter().any(|o| o == output))
                .map(|(id, _)| id.as_str())
                .collect();
            let hint = match having.as_slice() {
                [op] => format!(" (did you mean `{source}/{op}/{output}`?)"),
                _ => String::new(),
            };
            Err(format!(
                "node `{source}` is made of operators: name one, as in \
                 `{source}/OPERATOR/{output}`{hint}; its operators are {}",
                list(operators.iter().map(|(id, _)| id.as_str()))
            ))
        }
        (Target::Runtime { operators, .. }, Some(op)) => {
            let Some((_, outputs)) = operators.iter().find(|(id, _)| id == op) else {
                let ids = operators.iter().map(|(id, _)| id.as_str());
                return Err(format!(
                    "node `{source}` has no operator `{op}`{}; its operators are {}",
                    did_you_mean(op, ids.clone()),
                    list(ids)
                ));
            };
            check_output(&format!("operator `{source}/{op}`"), output, outputs)
        }
    }
}

fn check_output(owner: &str, output: &str, outputs: &[String]) -> Result<(), String> {
    if outputs.iter().any(|o| o == output) {
        return Ok(());
    }
    let declared = outputs.iter().map(String::as_str);
    if outputs.is_empty() {
        return Err(format!(
            "{owner} has no output {}: it declares no outputs",
            quote(output)
        ));
    }
    Err(format!(
        "{owner} has no output {}{}; its outputs are {}",
        quote(output),
        did_you_mean(output, declared.clone()),
        list(declared)
    ))
}
