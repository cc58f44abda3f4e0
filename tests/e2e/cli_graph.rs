//! `dora graph`: the mermaid text, the self-contained HTML page, and errors for bad files.

use std::process::{Command, Output};

use crate::support::{dora, fixture, text};

fn dora_graph(args: &[&std::ffi::OsStr], cwd: &std::path::Path) -> Output {
    Command::new(dora())
        .arg("graph")
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("failed to run dora")
}

#[test]
fn graph_mermaid_prints_v0_3_6_flowchart() {
    let dataflow = fixture("cli/dataflow.yml");
    let cwd = tempfile::tempdir().expect("temp dir");
    let out = dora_graph(&[dataflow.as_os_str(), "--mermaid".as_ref()], cwd.path());
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let expected = r"flowchart TB
  camera
  sensor[\sensor/]
  detector[detector]
subgraph runtime-node
  runtime-node/filter[filter]
  runtime-node/logger[/logger\]
end
  plot[/plot\]
subgraph ___dora___ [dora]
  subgraph ___timer_timer___ [timer]
    dora/timer/millis/50[\millis/50/]
    dora/timer/secs/1[\secs/1/]
  end
end
  dora/timer/millis/50 -- tick --> camera
  camera -- image --> detector
  sensor -- reading as raw --> runtime-node/filter
  dora/timer/secs/1 -- tick --> runtime-node/filter
  runtime-node/filter -- smoothed --> runtime-node/logger
  detector -- bbox --> runtime-node/logger
  camera -- image --> plot
  detector -- bbox as boxes --> plot
  runtime-node/filter -- smoothed as value --> plot
  dora/timer/millis/50 -- tick --> plot
";
    assert_eq!(text(&out.stdout), expected);
    // --mermaid writes no page.
    let written: Vec<_> = std::fs::read_dir(cwd.path()).expect("read cwd").collect();
    assert!(written.is_empty(), "unexpected files: {written:?}");
}

#[test]
fn graph_writes_self_contained_html_into_working_dir() {
    let dataflow = fixture("cli/dataflow.yml");
    let cwd = tempfile::tempdir().expect("temp dir");
    let out = dora_graph(&[dataflow.as_os_str()], cwd.path());
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));

    let page_path = cwd
        .path()
        .canonicalize()
        .expect("canonical cwd")
        .join("dataflow-graph.html");
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout,
        format!(
            "View graph by opening the following in your browser:\n  file://{}\n",
            page_path.display()
        )
    );

    let page = std::fs::read_to_string(&page_path).expect("page written");
    assert!(page.contains("<title>dataflow.yml"), "title missing");
    assert!(page.contains("<svg"), "no inline svg");
    assert!(page.contains("runtime-node / filter"), "operator not drawn");
    assert!(page.contains("smoothed as value"), "edge label not drawn");
    assert!(page.contains("timer secs/1"), "timer not drawn");
    assert!(page.contains("<details"), "no mermaid text");
    assert!(
        page.contains("camera -- image --&gt; detector"),
        "mermaid text missing"
    );
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "page has a script");
    assert!(!lower.contains("<link"), "page links a resource");
    for remote in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(
            !lower.contains(remote),
            "page loads a remote resource: {remote}"
        );
    }
}

#[test]
fn graph_of_invalid_file_fails_with_position() {
    let dataflow = fixture("cli/invalid.yml");
    let cwd = tempfile::tempdir().expect("temp dir");
    let out = dora_graph(&[dataflow.as_os_str()], cwd.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("invalid.yml:5:"),
        "no file:line: in error: {stderr}"
    );
    assert!(
        stderr.contains("camera"),
        "error does not name the missing node: {stderr}"
    );
    assert!(
        std::fs::read_dir(cwd.path())
            .expect("read cwd")
            .next()
            .is_none(),
        "a page was written for an invalid dataflow"
    );
}

#[test]
fn graph_of_missing_file_fails() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let out = dora_graph(&["no-such-dataflow.yml".as_ref()], cwd.path());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no-such-dataflow.yml"),
        "error does not name the file: {}",
        text(&out.stderr)
    );
}

#[test]
fn graph_open_without_opener_fails_clearly() {
    let dataflow = fixture("cli/dataflow.yml");
    let cwd = tempfile::tempdir().expect("temp dir");
    let empty_path = tempfile::tempdir().expect("temp dir");
    let out = Command::new(dora())
        .arg("graph")
        .arg(&dataflow)
        .arg("--open")
        .current_dir(cwd.path())
        .env("PATH", empty_path.path())
        .env_remove("RUST_LOG")
        .output()
        .expect("failed to run dora");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot open a browser"), "{stderr}");
    assert!(stderr.contains("xdg-open"), "{stderr}");
    // The page is still there to open by hand.
    assert!(cwd.path().join("dataflow-graph.html").exists());
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn graph_open_runs_xdg_open_with_the_page() {
    use std::os::unix::fs::PermissionsExt;

    let dataflow = fixture("cli/dataflow.yml");
    let cwd = tempfile::tempdir().expect("temp dir");
    let bin = tempfile::tempdir().expect("temp dir");
    let opened = bin.path().join("opened");
    let opener = bin.path().join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .expect("write fake xdg-open");
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755))
        .expect("make fake xdg-open executable");

    let out = Command::new(dora())
        .arg("graph")
        .arg(&dataflow)
        .arg("--open")
        .current_dir(cwd.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .env_remove("RUST_LOG")
        .output()
        .expect("failed to run dora");
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let page = cwd
        .path()
        .canonicalize()
        .expect("canonical cwd")
        .join("dataflow-graph.html");
    assert_eq!(
        std::fs::read_to_string(&opened).expect("xdg-open ran"),
        page.display().to_string()
    );
}
