//! The dataflow drawn as SVG, laid out in Rust by `layout-rs` (no JavaScript, no network).

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::{Graph, Role, Vertex, VertexKind};

const FONT_SIZE: usize = 14;

/// Fill and line colours of a vertex, by what it is.
fn look(vertex: &Vertex) -> StyleAttr {
    let (fill, line, rounded) = match (&vertex.kind, vertex.role) {
        (VertexKind::Timer { .. }, _) => ("#fff3bf", "#e67700", 18),
        (VertexKind::SingleOperatorNode | VertexKind::Operator { .. }, _) => {
            ("#f3d9fa", "#862e9c", 10)
        }
        (VertexKind::CustomNode, Role::Source) => ("#d3f9d8", "#2b8a3e", 4),
        (VertexKind::CustomNode, Role::Sink) => ("#d0ebff", "#1864ab", 4),
        (VertexKind::CustomNode, Role::Normal) => ("#f1f3f5", "#343a40", 4),
    };
    StyleAttr::new(
        Color::fast(line),
        2,
        Some(Color::fast(fill)),
        rounded,
        FONT_SIZE,
    )
}

/// The text in a vertex's box: operators carry their node's id so they read on their own.
fn text(vertex: &Vertex) -> String {
    match &vertex.kind {
        VertexKind::Operator { node } => format!("{node} / {}", vertex.label),
        VertexKind::Timer { .. } => format!("timer {}", vertex.label),
        _ => vertex.label.clone(),
    }
}

/// The SVG document (an `<svg>` element, without XML declaration) that draws `graph` top to
/// bottom. Returns `None` if the layout engine gave up on the graph.
pub fn svg(graph: &Graph) -> Option<String> {
    if graph.vertices.is_empty() {
        return Some(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" height=\"40\">\
             <text x=\"10\" y=\"25\">(no nodes)</text></svg>"
                .to_owned(),
        );
    }

    let orientation = Orientation::TopToBottom;
    let mut visual = VisualGraph::new(orientation);
    let mut handles = HashMap::new();
    for vertex in &graph.vertices {
        let shape = ShapeKind::new_box(&text(vertex));
        // Taller than layout-rs's tight fit, so labels get some air.
        let size = get_shape_size(orientation, &shape, FONT_SIZE, false).add(Point::new(8., 14.));
        let element = Element::create(shape, look(vertex), orientation, size);
        handles.insert(vertex.id.as_str(), visual.add_node(element));
    }

    let edge_look = StyleAttr::new(Color::fast("#495057"), 2, None, 0, 12);
    for edge in &graph.edges {
        let (Some(&from), Some(&to)) = (
            handles.get(edge.from.as_str()),
            handles.get(edge.to.as_str()),
        ) else {
            // A validated dataflow has no dangling inputs; draw what is there.
            tracing::debug!(from = %edge.from, to = %edge.to, "edge without vertex not drawn");
            continue;
        };
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            LineStyleKind::Normal,
            &edge.label,
            &edge_look,
            &None,
            &None,
        );
        visual.add_edge(arrow, from, to);
    }

    // layout-rs is young and may panic on shapes it does not expect; a missing picture must
    // not cost the user the rest of the page.
    let rendered = panic::catch_unwind(AssertUnwindSafe(move || {
        let mut writer = SVGWriter::new();
        visual.do_it(false, false, false, &mut writer);
        writer.finalize()
    }));
    match rendered {
        Ok(document) => Some(strip_xml_declaration(&document).to_owned()),
        Err(_) => {
            tracing::warn!("the layout engine failed to draw the dataflow");
            None
        }
    }
}

/// Inline SVG inside HTML must not carry an XML declaration.
fn strip_xml_declaration(document: &str) -> &str {
    match document.find("<svg") {
        Some(start) => &document[start..],
        None => document,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn svg_has_every_vertex_and_edge_label() {
        let graph = crate::Graph::from_descriptor(&crate::tests::sample());
        let svg = super::svg(&graph).expect("sample graph lays out");
        assert!(svg.starts_with("<svg"));
        for text in [
            "camera",
            "runtime-node / filter",
            "timer millis/50",
            "bbox as boxes",
        ] {
            assert!(svg.contains(text), "{text} missing from {svg}");
        }
    }
}
