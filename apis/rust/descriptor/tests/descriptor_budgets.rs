//! Every budget of reading a dataflow holds: hostile files are refused quickly, with a
//! position, and with errors of a readable size (see `dora_descriptor::limits`).

mod common;

use std::time::{Duration, Instant};

use common::parse;
use dora_descriptor::limits::{MAX_EXPANDED_BYTES, MAX_FILE_BYTES, MAX_ID_BYTES, MAX_KEY_BYTES};
use dora_descriptor::Descriptor;

/// Generous: each case takes milliseconds in a debug build; it took up to 30 s before the
/// suggestion search was bounded.
const TIME_BUDGET: Duration = Duration::from_secs(5);

fn one_node(id: &str) -> String {
    format!("nodes:\n  - id: {id}\n    path: shell\n    args: echo a\n")
}

#[test]
fn a_nul_byte_is_refused_where_it_is() {
    let text = "nodes:\n  - id: a\n    path: shell\n    args: \"echo a\"\n\0  - id: b\n    path: [[[ bad\n";
    let error = parse(text).unwrap_err();
    assert_eq!(
        error.to_string(),
        "<input>:5:1: <root>: control character U+0000 in the file: a dataflow file is text, \
         where only tabs and line breaks may be control characters"
    );
}

#[test]
fn control_characters_are_refused_but_tabs_and_line_breaks_are_not() {
    for (text, column) in [("nodes: a\u{1b}", 9), ("x: \u{7f}", 4), ("x: é\u{85}", 5)] {
        let error = parse(text).unwrap_err();
        let d = &error.diagnostics()[0];
        assert_eq!((d.line, d.column), (1, column), "{d}");
        assert!(d.message.starts_with("control character U+"), "{d}");
    }
    let fine = "nodes:\r\n  - id: a\r\n    path: shell\r\n    args: \"echo\ta\"\r\n";
    parse(fine).unwrap();
}

#[test]
fn an_alias_bomb_over_a_string_is_refused_at_the_alias() {
    // 10 KB of text behind an anchor, then each level doubles it ten times over: about
    // 10 KB * 10^5 = 1 GB once expanded, from a file of about 10.5 KB.
    let mut text = format!("a: &a \"{}\"\n", "x".repeat(10_000));
    for level in 1..=5u8 {
        let prev = (b'a' + level - 1) as char;
        let name = (b'a' + level) as char;
        let items = vec![format!("*{prev}"); 10].join(", ");
        text.push_str(&format!("{name}: &{name} [{items}]\n"));
    }
    assert!(text.len() < 11_000, "{}", text.len());
    let started = Instant::now();
    let error = parse(&text).unwrap_err();
    assert!(started.elapsed() < TIME_BUDGET);
    let d = &error.diagnostics()[0];
    assert!(
        d.message
            .contains(&format!("more than {MAX_EXPANDED_BYTES} bytes of text")),
        "{d}"
    );
    // Levels `b` to `d` (0.1, 1 and 10 MB) fit; the first alias of `e` crosses 16 MB.
    assert_eq!(d.line, 5, "{d}");
}

#[test]
fn a_100000_character_id_and_a_near_miss_are_quick() {
    let long = "n".repeat(100_000);
    let text = format!(
        "nodes:\n  - id: {long}\n    path: a\n    outputs: [o]\n  - id: b\n    path: b\n    \
         inputs: {{ i: {long}x/o }}\n"
    );
    let started = Instant::now();
    let error = parse(&text).unwrap_err();
    assert!(started.elapsed() < TIME_BUDGET, "{:?}", started.elapsed());
    for d in error.diagnostics() {
        assert!(d.to_string().len() < 300, "{d}");
    }
}

#[test]
fn ten_thousand_nodes_with_unknown_inputs_are_quick() {
    let mut text = String::from("nodes:\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "  - id: node{i}\n    path: p\n    outputs: [o]\n    inputs: {{ i: nod{i}/o }}\n"
        ));
    }
    let started = Instant::now();
    let error = parse(&text).unwrap_err();
    assert!(started.elapsed() < TIME_BUDGET, "{:?}", started.elapsed());
    let d = &error.diagnostics()[0];
    assert!(
        d.message
            .starts_with("unknown node `nod0`; the nodes are `node0`"),
        "{d}"
    );
    assert!(d.message.ends_with("and 9980 more"), "{d}");
}

#[test]
fn a_10_mb_id_is_not_echoed() {
    let id = "i".repeat(10 * 1024 * 1024);
    let error = parse(&one_node(&id)).unwrap_err();
    let text = error.to_string();
    assert!(
        text.len() < 200,
        "{} bytes: {}",
        text.len(),
        &text[..300.min(text.len())]
    );
    assert!(
        text.starts_with("<input>:2:9: nodes[0].id: a node id is at most 256 bytes, found `iii"),
        "{text}"
    );
    assert!(text.ends_with("…` (10485760 bytes)"), "{text}");
}

#[test]
fn ids_at_the_cap_are_accepted_and_one_more_byte_is_refused() {
    let at_cap = "a".repeat(MAX_ID_BYTES);
    parse(&one_node(&at_cap)).unwrap();
    let error = parse(&one_node(&format!("{at_cap}a"))).unwrap_err();
    assert!(error.to_string().contains("at most 256 bytes"), "{error}");

    let input = |id: &str| {
        format!(
            "nodes:\n  - id: a\n    path: a\n    outputs: [o]\n  - id: b\n    path: b\n    \
             inputs: {{ {id}: a/o }}\n"
        )
    };
    parse(&input(&at_cap)).unwrap();
    let error = parse(&input(&format!("{at_cap}a"))).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("an input id is at most 256 bytes"),
        "{error}"
    );

    let output = |id: &str| format!("nodes:\n  - id: a\n    path: a\n    outputs: [{id}]\n");
    parse(&output(&at_cap)).unwrap();
    let error = parse(&output(&format!("{at_cap}a"))).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("an output id is at most 256 bytes"),
        "{error}"
    );
}

#[test]
fn keys_at_the_cap_are_read_and_one_more_byte_is_refused() {
    // An explicit key (`? key`), since YAML itself limits implicit keys to 1024 characters.
    let env =
        |key: &str| format!("nodes:\n  - id: a\n    path: a\n    env:\n      ? {key}\n      : 1\n");
    let at_cap = "K".repeat(MAX_KEY_BYTES);
    parse(&env(&at_cap)).unwrap();
    let error = parse(&env(&format!("{at_cap}K"))).unwrap_err();
    let d = &error.diagnostics()[0];
    assert_eq!((d.line, d.column), (5, 9), "{d}");
    assert!(d.message.contains("longer than 1024 bytes"), "{d}");
    assert!(d.to_string().len() < 250, "{d}");
}

#[test]
fn files_at_the_size_cap_are_read_and_one_more_byte_is_refused() {
    let node = one_node("a");
    // A comment fills the file up to the cap.
    let filler = MAX_FILE_BYTES - node.len() - 3;
    let at_cap = format!("{node}# {}\n", "c".repeat(filler));
    assert_eq!(at_cap.len(), MAX_FILE_BYTES);
    parse(&at_cap).unwrap();
    let over = format!("{at_cap} ");
    let error = parse(&over).unwrap_err();
    assert!(
        error.to_string().contains("larger than 16777216 bytes"),
        "{error}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yml");
    std::fs::write(&path, over).unwrap();
    let error = Descriptor::read(&path).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("big.yml:1:1: <root>: the file is larger"),
        "{error}"
    );
}
