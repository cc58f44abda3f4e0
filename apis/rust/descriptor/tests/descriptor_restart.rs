//! Restart settings of a node: `restart_policy`, `max_restarts`, `restart_delay`,
//! `max_restart_delay`, `restart_window`.

mod common;

use std::{path::Path, time::Duration};

use common::{assert_diagnostic, diagnostic, parse};
use dora_descriptor::{Descriptor, Restart, RestartPolicy};

fn restart_of(extra: &str) -> Restart {
    let text = format!("nodes:\n  - id: a\n    path: ./a\n{extra}");
    match parse(&text) {
        Ok(descriptor) => descriptor.nodes[0].restart,
        Err(err) => panic!("{err}"),
    }
}

#[test]
fn default_is_never() {
    assert_eq!(restart_of(""), Restart::default());
    assert_eq!(restart_of("").policy, RestartPolicy::Never);
}

#[test]
fn every_key_is_read() {
    let restart = restart_of(
        "    restart_policy: on-failure\n    max_restarts: 2\n    restart_delay: 0.5\n    \
         max_restart_delay: 4s\n    restart_window: 1m\n",
    );
    assert_eq!(
        restart,
        Restart {
            policy: RestartPolicy::OnFailure,
            max_restarts: 2,
            delay: Duration::from_millis(500),
            max_delay: Some(Duration::from_secs(4)),
            window: Some(Duration::from_secs(60)),
        }
    );
    assert_eq!(
        restart_of("    restart_policy: always\n    restart_delay: 250ms\n").delay,
        Duration::from_millis(250)
    );
}

#[test]
fn delay_doubles_up_to_its_cap() {
    let restart =
        restart_of("    restart_policy: always\n    restart_delay: 1\n    max_restart_delay: 3\n");
    let delays: Vec<Duration> = (1..=4).map(|n| restart.delay_before(n)).collect();
    assert_eq!(
        delays,
        [1, 2, 3, 3].map(Duration::from_secs).to_vec(),
        "1 s, 2 s, then capped at 3 s"
    );
}

#[test]
fn policies_say_which_exits_restart() {
    let on_failure = restart_of("    restart_policy: on-failure\n");
    assert!(on_failure.applies_to(false));
    assert!(!on_failure.applies_to(true));
    let always = restart_of("    restart_policy: always\n");
    assert!(always.applies_to(true) && always.applies_to(false));
    assert!(!restart_of("    restart_policy: never\n").applies_to(false));
}

#[test]
fn runtime_nodes_and_bridges_take_restart_settings() {
    let text =
        "nodes:\n  - id: ops\n    restart_policy: always\n    operator:\n      python: op.py\n";
    let descriptor = parse(text).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(descriptor.nodes[0].restart.policy, RestartPolicy::Always);
}

#[test]
fn unknown_policy_names_file_line_and_field() {
    let text = "nodes:\n  - id: a\n    path: ./a\n    restart_policy: sometimes\n";
    let error = Descriptor::parse(text, Some(Path::new("flow.yml"))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "flow.yml:4:21: nodes[0].restart_policy: unknown restart policy `sometimes`: expected \
         `never`, `on-failure` or `always`"
    );
}

#[test]
fn negative_max_restarts() {
    let d = diagnostic("nodes:\n  - id: a\n    path: ./a\n    max_restarts: -1\n");
    assert_diagnostic(
        &d,
        4,
        19,
        "nodes[0].max_restarts",
        "expected a whole number of at least 0 (0 means no limit), found `-1`",
    );
}

#[test]
fn bad_durations() {
    let d = diagnostic("nodes:\n  - id: a\n    path: ./a\n    restart_delay: abc\n");
    assert_diagnostic(&d, 4, 20, "nodes[0].restart_delay", "expected a duration");
    assert!(d.message.ends_with("found `abc`"), "{d}");
    let d = diagnostic("nodes:\n  - id: a\n    path: ./a\n    restart_window: 0\n");
    assert_diagnostic(
        &d,
        4,
        21,
        "nodes[0].restart_window",
        "above zero, found `0`",
    );
    let d = diagnostic("nodes:\n  - id: a\n    path: ./a\n    max_restart_delay: [1]\n");
    assert_diagnostic(&d, 4, 24, "nodes[0].max_restart_delay", "found a list");
}

#[test]
fn long_values_are_cut_in_errors() {
    let long = "x".repeat(10_000);
    let d = diagnostic(&format!(
        "nodes:\n  - id: a\n    path: ./a\n    restart_policy: {long}\n"
    ));
    assert!(d.message.len() < 300, "{}", d.message.len());
}

#[test]
fn dynamic_nodes_cannot_restart() {
    let d = diagnostic("nodes:\n  - id: a\n    path: dynamic\n    restart_policy: always\n");
    assert_diagnostic(
        &d,
        4,
        21,
        "nodes[0].restart_policy",
        "a dynamic node is started by the user",
    );
    // `never` says nothing dora would have to do.
    restart_of("    restart_policy: never\n");
}

#[test]
fn misspelled_key_is_suggested() {
    let d = diagnostic("nodes:\n  - id: a\n    path: ./a\n    restart_polcy: always\n");
    assert!(d.message.contains("did you mean `restart_policy`"), "{d}");
}
