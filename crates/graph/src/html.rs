//! The self-contained HTML page of `dora graph`: an inline SVG drawing and, beside it, the
//! mermaid text. The page loads nothing: no scripts, no stylesheets, no fonts from anywhere.

use std::fmt::Write;

use dora_descriptor::Descriptor;

use super::{mermaid, svg, Graph};

/// The HTML page that shows `descriptor`, titled `title` (the dataflow's file name).
pub fn html(descriptor: &Descriptor, title: &str) -> String {
    let graph = Graph::from_descriptor(descriptor);
    let drawing = svg::svg(&graph).unwrap_or_else(|| {
        "<p class=\"note\">The layout engine could not draw this dataflow; \
         the mermaid text beside this note describes it.</p>"
            .to_owned()
    });
    let mermaid_text = mermaid::render(&graph);
    let title = escape(title);

    let mut page = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · dora graph</title>
<style>
  body {{ margin: 0; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #212529; background: #f8f9fa; }}
  header {{ padding: 1rem 1.5rem; background: #fff; border-bottom: 1px solid #dee2e6; }}
  h1 {{ margin: 0 0 .25rem; font-size: 1.4rem; }}
  .summary {{ margin: 0; color: #495057; }}
  .legend {{ display: flex; flex-wrap: wrap; gap: .75rem; margin-top: .5rem; font-size: .85rem; }}
  .legend span::before {{ content: ""; display: inline-block; width: .9em; height: .9em; margin-right: .3em; vertical-align: -.1em; border: 2px solid var(--line); background: var(--fill); border-radius: 3px; }}
  main {{ display: flex; flex-wrap: wrap; gap: 1.5rem; padding: 1.5rem; align-items: flex-start; }}
  #graph {{ flex: 3 1 32rem; overflow: auto; background: #fff; border: 1px solid #dee2e6; border-radius: 6px; padding: 1rem; }}
  #graph svg {{ max-width: 100%; height: auto; display: block; margin: 0 auto; }}
  #graph svg text {{ font-family: ui-monospace, "DejaVu Sans Mono", monospace; }}
  details {{ flex: 1 1 18rem; background: #fff; border: 1px solid #dee2e6; border-radius: 6px; padding: .75rem 1rem; }}
  summary {{ cursor: pointer; font-weight: 600; }}
  pre {{ overflow: auto; font-size: .8rem; line-height: 1.35; }}
  .note {{ color: #c92a2a; }}
</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="summary">{summary}</p>
<div class="legend">
<span style="--fill:#d3f9d8;--line:#2b8a3e">source</span>
<span style="--fill:#f1f3f5;--line:#343a40">node</span>
<span style="--fill:#d0ebff;--line:#1864ab">sink</span>
<span style="--fill:#f3d9fa;--line:#862e9c">operator</span>
<span style="--fill:#fff3bf;--line:#e67700">timer</span>
</div>
</header>
<main>
<section id="graph">
{drawing}
</section>
<details open>
<summary>Mermaid</summary>
<pre>{mermaid}</pre>
</details>
</main>
</body>
</html>
"#,
        summary = graph.summary(),
        mermaid = escape(&mermaid_text),
    );
    page
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_is_self_contained() {
        let page = super::html(&crate::tests::sample(), "demo<1>.yml");
        assert!(page.contains("<title>demo&lt;1&gt;.yml · dora graph</title>"));
        assert!(page.contains("<svg"));
        assert!(page.contains("camera -- image --&gt; detector"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("<link"));
    }
}
