//! The coordinator's listeners and whom they admit (see `dora_control::access`).
//!
//! - The daemon port and the control port (TCP) admit a peer only with the coordinator's
//!   token in its handshake.
//! - The local control socket, a Unix socket named after the control port, admits CLIs of
//!   the coordinator's own user and root, as the kernel reports them (`SO_PEERCRED`); others
//!   are refused with both uids named. Requests keep the uid of whoever sent them, so a
//!   dataflow's nodes run as the user who started it.
//!
//! The token comes from `--token-file` (read when the file exists, else created there), or
//! is made anew and written to the default path of each TCP port, from where daemons and
//! CLIs of this user on this machine pick it up by the port they connect to. Files this
//! coordinator created by default, and its socket, are removed when it exits.

use std::{
    os::unix::fs::{FileTypeExt, PermissionsExt},
    path::{Path, PathBuf},
};

use dora_control::access::{self, Token};
use eyre::WrapErr;
use tokio::net::{TcpListener, UnixListener};

use super::CoordinatorOptions;

/// The bound listeners, the token they require, and what to remove on exit.
pub(crate) struct Listeners {
    pub daemons: TcpListener,
    pub control: TcpListener,
    pub local: UnixListener,
    pub token: Token,
    /// The uid the coordinator runs as: whom the local socket serves, besides root.
    pub owner: u32,
}

/// Files and folders removed when the coordinator exits (dropped last in `run`).
#[derive(Default)]
pub(crate) struct Cleanup {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
        for dir in &self.dirs {
            // Only when empty: anything else there is not ours to remove.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Binds the daemon port, the control port and the local control socket, and sets up the
/// token. Fails, naming what and why, when a port is taken or a folder is unsafe.
pub(crate) async fn bind(options: &CoordinatorOptions) -> eyre::Result<(Listeners, Cleanup)> {
    let mut cleanup = Cleanup::default();
    let daemons = TcpListener::bind(options.daemon_addr)
        .await
        .wrap_err_with(|| format!("binding the daemon port {}", options.daemon_addr))?;
    let control = TcpListener::bind(options.control_addr)
        .await
        .wrap_err_with(|| format!("binding the control port {}", options.control_addr))?;
    // The control port is ours now, so a socket named after it is a stale one.
    let local = bind_local(options.control_addr.port(), &mut cleanup)?;
    let token = token(options, &mut cleanup)?;
    let listeners = Listeners {
        daemons,
        control,
        local,
        token,
        owner: access::effective_uid(),
    };
    Ok((listeners, cleanup))
}

/// Binds the local control socket of control port `port` in a folder of this user.
fn bind_local(port: u16, cleanup: &mut Cleanup) -> eyre::Result<UnixListener> {
    let dir = access::control_socket_dir(port);
    let path = access::control_socket_path(port);
    // Others may enter the folder (to be told they are refused), not write to it.
    access::ensure_private_dir(&dir, 0o755)
        .wrap_err("preparing the folder of the coordinator's local control socket")?;
    cleanup.dirs.push(dir);
    remove_stale_socket(&path)?;
    let listener = UnixListener::bind(&path)
        .wrap_err_with(|| format!("binding the local control socket {}", path.display()))?;
    cleanup.files.push(path.clone());
    // Anyone may connect; the kernel's peer credentials decide who is served.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))
        .wrap_err_with(|| format!("opening the local control socket {}", path.display()))?;
    Ok(listener)
}

fn remove_stale_socket(path: &Path) -> eyre::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_socket() => std::fs::remove_file(path)
            .wrap_err_with(|| format!("removing the stale socket {}", path.display())),
        Ok(_) => eyre::bail!(
            "{} is in the way of the local control socket and is not a socket; remove it",
            path.display()
        ),
        Err(_) => Ok(()),
    }
}

/// The token TCP peers must present, from `--token-file` or made anew.
fn token(options: &CoordinatorOptions, cleanup: &mut Cleanup) -> eyre::Result<Token> {
    if let Some(path) = &options.token_file {
        if path.exists() {
            return Token::read(path).wrap_err("reading the coordinator's token");
        }
        let token = Token::generate()?;
        token
            .write(path)
            .wrap_err("creating the coordinator's token")?;
        tracing::info!("wrote a new token to {}", path.display());
        return Ok(token);
    }
    let token = Token::generate()?;
    for port in [options.daemon_addr.port(), options.control_addr.port()] {
        let path = access::default_token_path(port)?;
        if let Some(dir) = path.parent() {
            access::ensure_private_dir(dir, 0o700)
                .wrap_err("preparing the folder of the coordinator's token")?;
        }
        token
            .write(&path)
            .wrap_err("writing the coordinator's token")?;
        cleanup.files.push(path);
    }
    Ok(token)
}
