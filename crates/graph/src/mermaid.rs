//! The mermaid flowchart of a dataflow, line for line as dora-rs v0.3.6 writes it.

use std::fmt::Write;

use dora_descriptor::Descriptor;

use super::{Graph, Role, Vertex, VertexKind};

/// The mermaid `flowchart TB` text of `descriptor` (see the module doc of [`crate`] for
/// the drawing rules). Ends with a newline.
pub fn mermaid(descriptor: &Descriptor) -> String {
    render(&Graph::from_descriptor(descriptor))
}

pub(super) fn render(graph: &Graph) -> String {
    let mut out = String::from("flowchart TB\n");

    let mut open_group: Option<&str> = None;
    let mut timers = Vec::new();
    for vertex in &graph.vertices {
        let group = match &vertex.kind {
            VertexKind::Operator { node } => Some(node.as_str()),
            _ => None,
        };
        if open_group.is_some() && open_group != group {
            out.push_str("end\n");
        }
        if group.is_some() && open_group != group {
            line(
                &mut out,
                format_args!("subgraph {}", group.unwrap_or_default()),
            );
        }
        open_group = group;

        match &vertex.kind {
            VertexKind::CustomNode => match vertex.role {
                Role::Source => line(&mut out, format_args!("  {0}[\\{0}/]", vertex.id)),
                Role::Sink => line(&mut out, format_args!("  {0}[/{0}\\]", vertex.id)),
                Role::Normal => line(&mut out, format_args!("  {}", vertex.id)),
            },
            VertexKind::SingleOperatorNode | VertexKind::Operator { .. } => {
                shaped(&mut out, "  ", vertex)
            }
            VertexKind::Timer { .. } => timers.push(vertex),
        }
    }
    if open_group.is_some() {
        out.push_str("end\n");
    }

    if !timers.is_empty() {
        out.push_str("subgraph ___dora___ [dora]\n");
        out.push_str("  subgraph ___timer_timer___ [timer]\n");
        for timer in timers {
            line(
                &mut out,
                format_args!("    {}[\\{}/]", timer.id, timer.label),
            );
        }
        out.push_str("  end\n");
        out.push_str("end\n");
    }

    for edge in &graph.edges {
        line(
            &mut out,
            format_args!("  {} -- {} --> {}", edge.from, edge.label, edge.to),
        );
    }
    out
}

/// A vertex with an explicit shape: `[\label/]` source, `[/label\]` sink, `[label]` otherwise.
fn shaped(out: &mut String, indent: &str, vertex: &Vertex) {
    let (open, close) = match vertex.role {
        Role::Source => ("[\\", "/]"),
        Role::Sink => ("[/", "\\]"),
        Role::Normal => ("[", "]"),
    };
    line(
        out,
        format_args!("{indent}{}{open}{}{close}", vertex.id, vertex.label),
    );
}

fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    // Writing to a String cannot fail.
    let _ = out.write_fmt(args);
    out.push('\n');
}
