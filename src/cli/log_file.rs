//! `--log-file`: where a coordinator or daemon running in the background writes its
//! diagnostics. Its stderr (file descriptor 2) is redirected into the file, so tracing
//! output, panics and a fatal error all land there; the file is capped at
//! [`MAX_LOG_BYTES`]: past that it is renamed to `FILE.1` (replacing the previous one) and
//! a new `FILE` is started, so one process never keeps more than twice the cap on disk.
//!
//! `dora up` puts these files in [`default_dir`].

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    os::{
        fd::AsRawFd,
        unix::fs::{DirBuilderExt, OpenOptionsExt},
    },
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock},
};

use eyre::WrapErr;

/// The size at which a log file is rotated.
pub const MAX_LOG_BYTES: u64 = 8 * 1024 * 1024;

/// The log file stderr is redirected to, once [`redirect_stderr`] ran.
static TARGET: OnceLock<Mutex<PathBuf>> = OnceLock::new();

/// The folder of the log files of the processes `dora up` starts:
/// `$XDG_STATE_HOME/dora/log`, else `$HOME/.local/state/dora/log`, else `log` in the run
/// root (`$TMPDIR/dora-<uid>`).
pub fn default_dir() -> eyre::Result<PathBuf> {
    let state_home = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| Path::new(&home).join(".local/state"))
        });
    match state_home {
        Some(dir) => Ok(dir.join("dora/log")),
        None => Ok(dora_daemon::run_folder::root()
            .wrap_err("finding a folder for log files")?
            .join("log")),
    }
}

/// Opens `path` for appending (creating it, mode 0600, and its folder, mode 0700).
pub fn open(path: &Path) -> eyre::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .wrap_err_with(|| format!("creating the log folder {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .wrap_err_with(|| format!("opening the log file {}", path.display()))
}

/// Sends everything this process writes on stderr to `path` from now on, rotating it at
/// [`MAX_LOG_BYTES`].
pub fn redirect_stderr(path: &Path) -> eyre::Result<()> {
    let file = open(path)?;
    point_stderr_at(&file).wrap_err_with(|| format!("redirecting stderr to {}", path.display()))?;
    let _ = TARGET.set(Mutex::new(path.to_owned()));
    Ok(())
}

fn point_stderr_at(file: &File) -> io::Result<()> {
    nix::unistd::dup2(file.as_raw_fd(), io::stderr().as_raw_fd())
        .map(drop)
        .map_err(io::Error::from)
}

/// Rotates the log file when it reached the cap. Errors are ignored: logging must not fail
/// the process, and the next write tries again.
fn rotate_if_full() {
    let Some(target) = TARGET.get() else {
        return;
    };
    let Ok(path) = target.lock() else {
        return;
    };
    let full = nix::sys::stat::fstat(io::stderr().as_raw_fd())
        .is_ok_and(|stat| stat.st_size as u64 >= MAX_LOG_BYTES);
    if !full {
        return;
    }
    let mut rotated = path.as_os_str().to_owned();
    rotated.push(".1");
    if fs::rename(&*path, &rotated).is_ok() {
        if let Ok(file) = open(&path) {
            let _ = point_stderr_at(&file);
        }
    }
}

/// Stderr for tracing: writes go to file descriptor 2 and rotate the log file when full.
pub struct Stderr;

/// A [`tracing_subscriber`] writer factory: [`Stderr`].
pub fn stderr() -> Stderr {
    Stderr
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = io::stderr().write(buf)?;
        rotate_if_full();
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// The last `lines` lines `path` received after it was `from` bytes long (from its start
/// if it was rotated meanwhile), for an error message.
pub fn tail(path: &Path, from: u64, lines: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = if len < from { 0 } else { from };
    // Only the end matters; a runaway log must not be read whole.
    let start = start.max(len.saturating_sub(64 * 1024));
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_reads_only_what_came_after_the_offset() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("x.log");
        fs::write(&path, "old 1\nold 2\n").expect("writing");
        let from = fs::metadata(&path).expect("metadata").len();
        let mut file = open(&path).expect("opening");
        writeln!(file, "new 1\nnew 2\nnew 3").expect("appending");
        assert_eq!(tail(&path, from, 2), "new 2\nnew 3");
        assert_eq!(tail(&path, from, 10), "new 1\nnew 2\nnew 3");
        // Rotated meanwhile: the new file is read from its start.
        fs::write(&path, "fresh\n").expect("writing");
        assert_eq!(tail(&path, from, 10), "fresh");
    }
}
