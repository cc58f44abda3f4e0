//! `dora --help` lists the commands of dora-rs v0.3.6, in its order and with its one-line
//! descriptions, plus `run`.

use std::process::Command;

use crate::support::dora;

/// (name, description) as dora-rs v0.3.6 prints them, with `run` added before `help`.
const EXPECTED: &[(&str, &str)] = &[
    ("check", "Check if the coordinator and the daemon is running"),
    (
        "graph",
        "Generate a visualization of the given graph using mermaid.js. Use --open to open browser",
    ),
    ("build", "Run build commands provided in the given dataflow"),
    (
        "new",
        "Generate a new project, node or operator. Choose the language between Rust, Python, C or C++",
    ),
    ("up", "Spawn a coordinator and a daemon"),
    (
        "destroy",
        "Destroy running coordinator and daemon. If some dataflows are still running, they will be stopped first",
    ),
    (
        "start",
        "Start the given dataflow path. Attach a name to the running dataflow by using --name",
    ),
    (
        "stop",
        "Stop the given dataflow UUID. If no id is provided, you will be able to choose between the running dataflows",
    ),
    ("list", "List running dataflows"),
    ("logs", "Show logs of a given dataflow and node"),
    ("daemon", "Run daemon"),
    ("runtime", "Run runtime"),
    ("coordinator", "Run coordinator"),
    (
        "run",
        "Run the given dataflow on this machine, without a coordinator or daemon running",
    ),
    ("help", "Print this message or the help of the given subcommand(s)"),
];

/// The `Commands:` section as (name, description) pairs, continuation lines joined.
fn commands(help: &str) -> Vec<(String, String)> {
    let mut commands: Vec<(String, String)> = Vec::new();
    let section = help
        .split_once("Commands:\n")
        .map(|(_, rest)| rest)
        .expect("help has a Commands: section");
    for line in section.lines() {
        if line.trim().is_empty() {
            break;
        }
        let indent = line.len() - line.trim_start().len();
        let words: Vec<&str> = line.split_whitespace().collect();
        match commands.last_mut() {
            // Wrapped description: indented deeper than the command names.
            Some((_, description)) if indent > 2 => {
                if !description.is_empty() {
                    description.push(' ');
                }
                description.push_str(&words.join(" "));
            }
            _ => commands.push((words[0].to_owned(), words[1..].join(" "))),
        }
    }
    commands
}

fn check_help(columns: &str) {
    let out = Command::new(dora())
        .arg("--help")
        .env("COLUMNS", columns)
        .output()
        .expect("failed to run dora");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).expect("utf-8 help");
    assert!(help.starts_with("dora-rs cli client\n"), "{help}");
    assert!(help.contains("Usage: dora <COMMAND>"), "{help}");

    let expected: Vec<(String, String)> = EXPECTED
        .iter()
        .map(|(name, description)| (name.to_string(), description.to_string()))
        .collect();
    assert_eq!(commands(&help), expected, "help was:\n{help}");
}

#[test]
fn help_lists_commands_in_original_order() {
    check_help("200");
}

#[test]
fn help_lists_commands_when_wrapped() {
    check_help("60");
}
