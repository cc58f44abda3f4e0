//! Finding the Python interpreter that runs `.py` nodes and Python operators, and checking
//! that it has the `dora` module of this version.
//!
//! The interpreter is the active virtual environment's (`$VIRTUAL_ENV/bin/python`), else
//! `python3` on `PATH`, else `python` on `PATH`. `dora check` and the daemon use the same
//! rule, so what `dora check` reports is what the nodes will get.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The version of the `dora` Python module this CLI works with.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How to install the `dora` Python module, for error messages.
pub const INSTALL_HINT: &str =
    "install it with `pip install ./apis/python` from a checkout of dora (or the `dora-rs` \
     package of the same version)";

/// The interpreter for `.py` nodes and Python operators (see the module doc).
pub fn interpreter() -> PathBuf {
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        let python = Path::new(&venv).join("bin").join("python");
        if python.is_file() {
            return python;
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["python3", "python"] {
        if let Some(found) = std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
        {
            return found;
        }
    }
    PathBuf::from("python3")
}

/// What is wrong with the `dora` module of a Python interpreter.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The interpreter could not be started.
    #[error("cannot run the Python interpreter {}: {source}", python.display())]
    NoInterpreter {
        /// The interpreter that was tried.
        python: PathBuf,
        /// Why it could not be started.
        source: std::io::Error,
    },
    /// `import dora` failed.
    #[error(
        "the `dora` Python module is not installed for {}: {INSTALL_HINT}{}",
        python.display(),
        detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    Missing {
        /// The interpreter that was asked.
        python: PathBuf,
        /// The last line of its error output, if any.
        detail: Option<String>,
    },
    /// The module is of another version than this dora.
    #[error(
        "the `dora` Python module of {} is version {found}, but this dora is version \
         {VERSION}; {INSTALL_HINT}",
        python.display()
    )]
    Mismatch {
        /// The interpreter that was asked.
        python: PathBuf,
        /// The version of its `dora` module.
        found: String,
    },
}

/// Checks that `python` imports `dora` of [`VERSION`]; returns the module's version.
pub fn check_module(python: &Path) -> Result<String, ModuleError> {
    let output = Command::new(python)
        .args(["-c", "import dora, sys; sys.stdout.write(dora.__version__)"])
        .output()
        .map_err(|source| ModuleError::NoInterpreter {
            python: python.to_owned(),
            source,
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(ModuleError::Missing {
            python: python.to_owned(),
            detail: stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_owned()),
        });
    }
    let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if found != VERSION {
        return Err(ModuleError::Mismatch {
            python: python.to_owned(),
            found,
        });
    }
    Ok(found)
}
