//! Running the `build:` commands of a dataflow (`dora build`).
//!
//! It owns the order in which build commands run and how a failure is reported. It never
//! starts a node, never talks to a coordinator or daemon, and never runs two commands at
//! once; it does not read the dataflow file either (the caller passes the parsed
//! [`Descriptor`]).
//!
//! Every node's `build:` commands, and those of every operator, run one after the other in
//! file order, each through the shell (`sh -c` on Unix, `cmd /C` on Windows) in the folder
//! given by the caller (the dataflow file's folder for `dora build`). Their stdout and stderr
//! are the caller's, so output streams as it comes. The first command that cannot be started
//! or does not exit successfully ends the run: later commands do not run.
//!
//! dora-rs v0.3.6 splits each command into words and runs the program directly; running it
//! through the shell also accepts every such command, and allows pipes, `&&` and variables.

use std::io;
use std::path::Path;
use std::process::{Command, ExitStatus};

use dora_descriptor::{Descriptor, NodeKind};

/// One build command and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildCommand {
    /// The node id, or `node/operator` for an operator of a node with several operators.
    pub owner: String,
    /// The command line, run by the shell.
    pub command: String,
}

/// Why a build stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The shell could not be started.
    #[error("failed to start build command of `{owner}`: `{command}`")]
    Spawn {
        /// Whose command it is (see [`BuildCommand::owner`]).
        owner: String,
        /// The command line.
        command: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The command did not exit successfully.
    #[error("build command of `{owner}` failed: `{command}` {}", describe(.status))]
    Failed {
        /// Whose command it is (see [`BuildCommand::owner`]).
        owner: String,
        /// The command line.
        command: String,
        /// How it ended.
        status: ExitStatus,
    },
}

/// `exited with status N` or `was killed by signal N`.
fn describe(status: &ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => format!("ended with {status}"),
    }
}

/// The build commands of `descriptor`, in file order (blank lines skipped).
pub fn build_commands(descriptor: &Descriptor) -> Vec<BuildCommand> {
    let mut commands = Vec::new();
    let mut push = |owner: &str, lines: &[String]| {
        for line in lines {
            let command = line.trim();
            if !command.is_empty() {
                commands.push(BuildCommand {
                    owner: owner.to_owned(),
                    command: command.to_owned(),
                });
            }
        }
    };
    for node in &descriptor.nodes {
        match &node.kind {
            NodeKind::Custom(custom) => push(&node.id, &custom.build),
            NodeKind::Runtime(runtime) => {
                for operator in &runtime.operators {
                    if runtime.single {
                        push(&node.id, &operator.build);
                    } else {
                        push(&format!("{}/{}", node.id, operator.id), &operator.build);
                    }
                }
            }
        }
    }
    commands
}

/// Runs `commands` in order in `working_dir`, calling `before_each` before starting each one.
/// Stops at the first command that fails; returns how many ran successfully.
pub fn run_build_commands(
    commands: &[BuildCommand],
    working_dir: &Path,
    mut before_each: impl FnMut(&BuildCommand),
) -> Result<usize, BuildError> {
    for (done, build) in commands.iter().enumerate() {
        before_each(build);
        let status = shell(&build.command)
            .current_dir(working_dir)
            .status()
            .map_err(|source| BuildError::Spawn {
                owner: build.owner.clone(),
                command: build.command.clone(),
                source,
            })?;
        if !status.success() {
            return Err(BuildError::Failed {
                owner: build.owner.clone(),
                command: build.command.clone(),
                status,
            });
        }
        tracing::debug!(owner = %build.owner, command = %build.command, done = done + 1, "build command succeeded");
    }
    Ok(commands.len())
}

/// Runs every build command of `descriptor` in `working_dir` (see the module doc).
pub fn build_dataflow(
    descriptor: &Descriptor,
    working_dir: &Path,
    before_each: impl FnMut(&BuildCommand),
) -> Result<usize, BuildError> {
    run_build_commands(&build_commands(descriptor), working_dir, before_each)
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(command);
    shell
}

#[cfg(windows)]
fn shell(command: &str) -> Command {
    let mut shell = Command::new("cmd");
    shell.arg("/C").arg(command);
    shell
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn command(owner: &str, command: &str) -> BuildCommand {
        BuildCommand {
            owner: owner.to_owned(),
            command: command.to_owned(),
        }
    }

    #[test]
    fn stops_at_first_failure() {
        let dir = tempfile::tempdir().expect("temp dir");
        let commands = [
            command("a", "echo one >> log"),
            command("b", "exit 3"),
            command("c", "echo three >> log"),
        ];
        let mut seen = Vec::new();
        let err = run_build_commands(&commands, dir.path(), |c| seen.push(c.owner.clone()))
            .expect_err("second command fails");
        assert_eq!(seen, ["a", "b"]);
        assert_eq!(
            err.to_string(),
            "build command of `b` failed: `exit 3` exited with status 3"
        );
        let log = std::fs::read_to_string(dir.path().join("log")).expect("log written");
        assert_eq!(log, "one\n");
    }

    #[test]
    fn reports_signals() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = run_build_commands(&[command("a", "kill -9 $$")], dir.path(), |_| {})
            .expect_err("killed");
        assert!(err.to_string().ends_with("was killed by signal 9"), "{err}");
    }

    #[test]
    fn lists_commands_in_file_order() {
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/cli/dataflow.yml");
        let mut descriptor = match Descriptor::read(&fixture) {
            Ok(descriptor) => descriptor,
            Err(err) => panic!("fixture {} is invalid:\n{err}", fixture.display()),
        };
        if let NodeKind::Custom(custom) = &mut descriptor.nodes[0].kind {
            custom.build = vec!["make camera".into(), "  ".into()];
        }
        if let NodeKind::Runtime(runtime) = &mut descriptor.nodes[2].kind {
            runtime.operators[0].build = vec!["make detector".into()];
        }
        if let NodeKind::Runtime(runtime) = &mut descriptor.nodes[3].kind {
            runtime.operators[1].build = vec!["make logger".into()];
        }
        assert_eq!(
            build_commands(&descriptor),
            [
                command("camera", "make camera"),
                command("detector", "make detector"),
                command("runtime-node/logger", "make logger"),
            ]
        );
    }
}
