//! Starting node processes.
//!
//! Each node runs in the dataflow's folder, in its own process group (so a Ctrl-C in the
//! terminal reaches dora, which stops nodes cleanly, and a kill reaches everything the node
//! started), with `DORA_NODE_CONFIG` set, its data sockets inherited, and a parent-death
//! signal so that a daemon that dies abruptly does not leave its nodes running.

use std::{
    os::fd::{AsRawFd, OwnedFd},
    path::{Path, PathBuf},
    process::Stdio,
};

use dora_descriptor::{CustomNode, Node, NodeKind, NodeSource, OperatorSource, RuntimeNode};
use dora_message::config::{self, NodeConfig, OperatorConfig, RuntimeConfig};
use eyre::{bail, WrapErr};
use tokio::process::{Child, Command};

use dora_message::config::DATAFLOW_PATH_ENV;

/// The program and arguments a node runs.
#[derive(Debug, Clone)]
pub struct Program {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

/// Works out what to execute for `node` (checking that executables and operator libraries
/// exist), and for a runtime node the operators `dora runtime` must load.
pub fn resolve(
    node: &Node,
    working_dir: &Path,
    dataflow_path: Option<&Path>,
) -> eyre::Result<(Program, Option<RuntimeConfig>)> {
    match &node.kind {
        NodeKind::Custom(custom) => {
            resolve_custom(node, custom, working_dir, dataflow_path).map(|p| (p, None))
        }
        NodeKind::Runtime(runtime) => {
            let operators = resolve_operators(node, runtime, working_dir)?;
            let mut program = match python_runtime(node, &operators)? {
                Some(program) => program,
                None => Program {
                    program: std::env::current_exe()
                        .wrap_err("locating the dora executable to run `dora runtime`")?,
                    args: vec!["runtime".into()],
                    env: Vec::new(),
                },
            };
            program.env.extend(dataflow_path_env(dataflow_path));
            Ok((program, Some(RuntimeConfig { operators })))
        }
    }
}

/// Whether `node` is `path: dynamic`: started by the user, not by dora.
pub fn is_dynamic(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Custom(custom) if custom.source == NodeSource::Dynamic)
}

/// The variable that tells a Python operator runtime to reload changed operator files.
pub const HOT_RELOAD_ENV: &str = "DORA_HOT_RELOAD";

/// For a node whose operators are Python files: the Python runtime (`python -m
/// dora.runtime`, in the operators' conda environment if they name one). `None` when no
/// operator is a Python one; an error when Python and other operators are mixed.
fn python_runtime(node: &Node, operators: &[OperatorConfig]) -> eyre::Result<Option<Program>> {
    let python: Vec<&OperatorConfig> = operators
        .iter()
        .filter(|op| matches!(op.source, config::OperatorSource::Python { .. }))
        .collect();
    if python.is_empty() {
        return Ok(None);
    }
    if python.len() != operators.len() {
        bail!(
            "node `{}` mixes Python operators with shared-library operators; put them in \
             separate nodes (Python operators run in a Python process)",
            node.id
        );
    }
    let mut envs = python.iter().filter_map(|op| match &op.source {
        config::OperatorSource::Python { conda_env, .. } => conda_env.clone(),
        _ => None,
    });
    let conda_env = envs.next();
    if envs.any(|other| Some(&other) != conda_env.as_ref()) {
        bail!(
            "node `{}`: its Python operators name different conda environments; one node \
             runs in one Python process",
            node.id
        );
    }
    let runtime_args = ["-m".to_owned(), "dora.runtime".to_owned()];
    Ok(Some(match conda_env {
        Some(env) => Program {
            program: "conda".into(),
            args: ["run", "--no-capture-output", "-n", &env, "python"]
                .into_iter()
                .map(str::to_owned)
                .chain(runtime_args)
                .collect(),
            env: python_env(),
        },
        None => Program {
            program: crate::python::interpreter(),
            args: runtime_args.to_vec(),
            env: python_env(),
        },
    }))
}

/// Environment of Python processes: unbuffered output, so that their lines reach the logs
/// (and `send_stdout_as`) as they are printed.
fn python_env() -> Vec<(String, String)> {
    vec![("PYTHONUNBUFFERED".into(), "1".into())]
}

/// Tells a node where the dataflow file is (the Python API's `dataflow_descriptor()`, the
/// ROS 2 bridge).
fn dataflow_path_env(dataflow_path: Option<&Path>) -> Option<(String, String)> {
    dataflow_path.map(|path| (DATAFLOW_PATH_ENV.to_owned(), path.display().to_string()))
}

fn resolve_operators(
    node: &Node,
    runtime: &RuntimeNode,
    working_dir: &Path,
) -> eyre::Result<Vec<OperatorConfig>> {
    runtime
        .operators
        .iter()
        .map(|op| {
            let missing = |path: &str| {
                eyre::eyre!(
                    "operator `{}/{}`: `{path}` not found in {}; did you run `dora build` first?",
                    node.id,
                    op.id,
                    working_dir.display()
                )
            };
            let source = match &op.source {
                OperatorSource::SharedLibrary(path) => config::OperatorSource::SharedLibrary(
                    shared_library(path, working_dir).ok_or_else(|| missing(path))?,
                ),
                OperatorSource::Python(path) => config::OperatorSource::Python {
                    path: existing(path, working_dir).ok_or_else(|| missing(path))?,
                    conda_env: op.conda_env.clone(),
                },
                OperatorSource::Wasm(path) => config::OperatorSource::Wasm(
                    existing(path, working_dir).ok_or_else(|| missing(path))?,
                ),
            };
            Ok(OperatorConfig {
                id: op.id.clone(),
                source,
                inputs: op.inputs.iter().map(|(id, _)| id.clone()).collect(),
                outputs: op.outputs.clone(),
                send_stdout_as: op.send_stdout_as.clone(),
            })
        })
        .collect()
}

fn existing(path: &str, working_dir: &Path) -> Option<PathBuf> {
    let path = working_dir.join(path);
    path.exists().then_some(path)
}

/// A shared library as dora-rs v0.3.6 names it: the path as written, or with the platform's
/// prefix and suffix added to its file name (`build/op` → `build/libop.so`).
fn shared_library(path: &str, working_dir: &Path) -> Option<PathBuf> {
    existing(path, working_dir).or_else(|| {
        let path = working_dir.join(path);
        let name = path.file_name()?.to_str()?;
        let adjusted = path.with_file_name(format!(
            "{}{name}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        adjusted.exists().then_some(adjusted)
    })
}

fn resolve_custom(
    node: &Node,
    custom: &CustomNode,
    working_dir: &Path,
    dataflow_path: Option<&Path>,
) -> eyre::Result<Program> {
    let args = match &custom.args {
        Some(args) => shell_words::split(args)
            .wrap_err_with(|| format!("node `{}`: cannot split `args: {args}`", node.id))?,
        None => Vec::new(),
    };
    match &custom.source {
        NodeSource::Shell => Ok(Program {
            program: "sh".into(),
            args: vec!["-c".into(), custom.args.clone().unwrap_or_default()],
            env: Vec::new(),
        }),
        NodeSource::Ros2(_) => Ok(Program {
            program: std::env::current_exe()
                .wrap_err("locating the dora executable to run the ROS 2 bridge")?,
            args: vec!["ros2-bridge".into()],
            env: dataflow_path_env(dataflow_path).into_iter().collect(),
        }),
        NodeSource::Dynamic => bail!(
            "node `{}` is `path: dynamic`: the user starts it, dora does not",
            node.id
        ),
        NodeSource::Path(path) => {
            let resolved = find_executable(path, working_dir).ok_or_else(|| {
                eyre::eyre!(
                    "node `{}`: `path: {path}` not found (looked in {} and in PATH); \
                     did you run `dora build` first?",
                    node.id,
                    working_dir.display()
                )
            })?;
            let env = dataflow_path_env(dataflow_path).into_iter();
            if path.ends_with(".py") {
                let mut python_args = vec![resolved.display().to_string()];
                python_args.extend(args);
                Ok(Program {
                    program: crate::python::interpreter(),
                    args: python_args,
                    env: env.chain(python_env()).collect(),
                })
            } else {
                Ok(Program {
                    program: resolved,
                    args,
                    env: env.collect(),
                })
            }
        }
    }
}

fn find_executable(path: &str, working_dir: &Path) -> Option<PathBuf> {
    let candidate = Path::new(path);
    if candidate.is_absolute() {
        return candidate.exists().then(|| candidate.to_owned());
    }
    let local = working_dir.join(candidate);
    if local.exists() {
        return Some(local);
    }
    if candidate.components().count() == 1 {
        let search = std::env::var_os("PATH")?;
        return std::env::split_paths(&search)
            .map(|dir| dir.join(candidate))
            .find(|p| p.is_file());
    }
    None
}

/// Spawns a node with piped stdout/stderr.
pub fn spawn(
    node: &Node,
    program: &Program,
    working_dir: &Path,
    config: &NodeConfig,
    inherited: &[OwnedFd],
) -> eyre::Result<Child> {
    let config_json = serde_json::to_string(config).wrap_err("serializing node config")?;
    let mut command = Command::new(&program.program);
    command
        .args(&program.args)
        .current_dir(working_dir)
        .envs(node.env.iter().map(|(k, v)| (k, v.to_string())))
        .envs(program.env.iter().map(|(k, v)| (k, v)))
        .env(dora_message::NODE_CONFIG_ENV, config_json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let fds: Vec<i32> = inherited.iter().map(|fd| fd.as_raw_fd()).collect();
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe
    // functions (fcntl, prctl, getppid, _exit) on values captured by copy.
    unsafe {
        command.pre_exec(move || {
            for &fd in &fds {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    command.spawn().wrap_err_with(|| {
        format!(
            "node `{}`: cannot start `{}`",
            node.id,
            program.program.display()
        )
    })
}
