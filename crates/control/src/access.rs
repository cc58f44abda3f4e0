//! Who may use a coordinator.
//!
//! - **Local users** reach the coordinator through a Unix socket ([`control_socket_path`]),
//!   named after its control port so that several coordinators coexist. The coordinator
//!   learns the peer's uid from the kernel (`SO_PEERCRED`) and serves only its own user and
//!   root ([`may_serve`]); the CLI checks the coordinator's uid the same way, so that a
//!   socket another user planted is not trusted. The socket's folder belongs to the
//!   coordinator's user and is writable by nobody else ([`ensure_private_dir`]).
//! - **TCP** (other machines: CLIs and daemons) requires a [`Token`]: 32 random bytes as hex
//!   in a file only its owner can read. Without `--token-file`, a coordinator writes its
//!   token to [`default_token_path`] for each of its ports, and daemons and CLIs on the same
//!   machine find it there by the port they connect to.
//!
//! A token is compared in constant time and never printed (its `Debug` shows nothing of it).

use std::{
    fmt,
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

/// Bytes of randomness in a token made by [`Token::generate`].
pub const TOKEN_BYTES: usize = 32;

/// The environment variable naming a token file (as `--token-file` does).
pub const TOKEN_FILE_ENV: &str = "DORA_TOKEN_FILE";

/// Why access material could not be made, read or checked.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No randomness was available for a new token.
    #[error("no randomness for a new token: {0}")]
    Random(String),
    /// A token file or its folder could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done ("writing the token file").
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The token file holds no valid token.
    #[error(
        "the token file {} holds no valid token (expected at least {} hex digits, as \
         `dora coordinator` writes)",
        path.display(),
        TOKEN_BYTES * 2
    )]
    Malformed {
        /// The file.
        path: PathBuf,
    },
    /// The token file may be read by other users.
    #[error(
        "the token file {} may be read by other users (mode {mode:04o}); make it private \
         with `chmod 600`",
        path.display()
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A folder that must be private to this user is not.
    #[error(
        "{} {problem}; dora needs it to belong to uid {uid} and be writable by nobody else \
         (remove it, or choose another port)",
        path.display()
    )]
    UnsafeDir {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// This process's effective uid.
        uid: u32,
    },
    /// Without `HOME`, there is no default place for token files.
    #[error("HOME is not set, so there is no default token file; pass --token-file (or set {TOKEN_FILE_ENV})")]
    NoHome,
}

/// A shared secret that TCP peers present in their handshake. See the [module docs](self).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// A new token of [`TOKEN_BYTES`] random bytes from the operating system.
    pub fn generate() -> Result<Self, AccessError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|err| AccessError::Random(err.to_string()))?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The token in `path`. Refuses a file other users may read, and one that holds no
    /// token; surrounding whitespace is ignored.
    pub fn read(path: &Path) -> Result<Self, AccessError> {
        let io = |source| AccessError::Io {
            what: "reading the token file",
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mode = file.metadata().map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(AccessError::Exposed {
                path: path.to_owned(),
                mode: mode & 0o7777,
            });
        }
        let mut text = String::new();
        io::Read::read_to_string(&mut io::Read::take(file, 4096), &mut text).map_err(io)?;
        let token = text.trim();
        let valid = token.len() >= TOKEN_BYTES * 2
            && token.len() % 2 == 0
            && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(AccessError::Malformed {
                path: path.to_owned(),
            });
        }
        Ok(Self(token.to_ascii_lowercase()))
    }

    /// Writes the token to `path`, replacing any file there atomically: the text goes to a
    /// new file created with mode 0600 in the same folder, which is then renamed over
    /// `path`, so the token is never readable by others, not even for a moment, and a
    /// reader never sees half a token. The folder is created (0700) when missing.
    pub fn write(&self, path: &Path) -> Result<(), AccessError> {
        let io = |what, source| AccessError::Io {
            what,
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|err| io("creating the folder of the token file", err))?;
            }
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = path.with_file_name(format!(".{name}.{}.new", std::process::id()));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temporary)?;
            writeln!(file, "{}", self.0)?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)
        })();
        if let Err(err) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(io("writing the token file", err));
        }
        Ok(())
    }

    /// Whether `presented` is this token, compared in constant time (for tokens of equal
    /// length; the length itself is not secret).
    pub fn matches(&self, presented: &str) -> bool {
        let (ours, theirs) = (self.0.as_bytes(), presented.trim().as_bytes());
        if ours.len() != theirs.len() {
            return false;
        }
        let difference = ours
            .iter()
            .zip(theirs)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()));
        std::hint::black_box(difference) == 0
    }

    /// The text to present in a handshake.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Checks the token a peer presented; `Err` is the reason to give it (which never
    /// contains either token).
    pub fn admit(&self, presented: Option<&str>) -> Result<(), String> {
        match presented {
            None => Err(format!(
                "TCP connections need the coordinator's token and none was presented; pass \
                 --token-file (or set {TOKEN_FILE_ENV}) naming a copy of the coordinator's \
                 token file"
            )),
            Some(token) if self.matches(token) => Ok(()),
            Some(_) => Err(format!(
                "the token presented is not the coordinator's; check the file given with \
                 --token-file (or {TOKEN_FILE_ENV}), and copy it again if the coordinator was \
                 restarted with a new one"
            )),
        }
    }
}

/// Where a coordinator listening on `port` (its daemon or its control port) keeps its token
/// when no `--token-file` is given: `$HOME/.dora/coordinator-<port>.token`.
pub fn default_token_path(port: u16) -> Result<PathBuf, AccessError> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(AccessError::NoHome)?;
    Ok(PathBuf::from(home)
        .join(".dora")
        .join(format!("coordinator-{port}.token")))
}

/// The token file to use: `explicit` (from `--token-file` or [`TOKEN_FILE_ENV`]), else the
/// default of `port`.
pub fn token_path(explicit: Option<&Path>, port: u16) -> Result<PathBuf, AccessError> {
    match explicit {
        Some(path) => Ok(path.to_owned()),
        None => match std::env::var_os(TOKEN_FILE_ENV).filter(|p| !p.is_empty()) {
            Some(path) => Ok(PathBuf::from(path)),
            None => default_token_path(port),
        },
    }
}

/// The folder of the Unix socket of the coordinator whose control port is `port`.
pub fn control_socket_dir(port: u16) -> PathBuf {
    PathBuf::from(format!("/tmp/dora-coordinator-{port}"))
}

/// The Unix socket where the coordinator whose control port is `port` serves local CLIs.
pub fn control_socket_path(port: u16) -> PathBuf {
    control_socket_dir(port).join("control.sock")
}

/// This process's effective uid.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether a coordinator running as `owner` serves a local peer running as `peer`: its own
/// user and root only.
pub fn may_serve(owner: u32, peer: u32) -> bool {
    peer == owner || peer == 0
}

/// Whether a CLI running as `me` trusts a coordinator running as `server`: one of its own
/// user or root's; root trusts every user's coordinator.
pub fn may_trust(me: u32, server: u32) -> bool {
    server == me || server == 0 || me == 0
}

/// Makes sure `dir` is a folder of this user that nobody else can write to, creating it
/// with `mode` when missing. Refuses a symbolic link, a folder of another user, and one
/// that others can write to (they could replace what dora puts there).
pub fn ensure_private_dir(dir: &Path, mode: u32) -> Result<(), AccessError> {
    let uid = effective_uid();
    let unsafe_dir = |problem: String| AccessError::UnsafeDir {
        path: dir.to_owned(),
        problem,
        uid,
    };
    match std::fs::DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => {
            // The umask may have taken bits the folder needs (others reaching the socket).
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).map_err(
                |source| AccessError::Io {
                    what: "setting the permissions of",
                    path: dir.to_owned(),
                    source,
                },
            )?;
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(AccessError::Io {
                what: "creating the folder",
                path: dir.to_owned(),
                source,
            })
        }
    }
    // Checked after creating too: someone may have made it first.
    let metadata = std::fs::symlink_metadata(dir).map_err(|source| AccessError::Io {
        what: "inspecting",
        path: dir.to_owned(),
        source,
    })?;
    if !metadata.file_type().is_dir() {
        return Err(unsafe_dir("is not a folder".into()));
    }
    if metadata.uid() != uid {
        return Err(unsafe_dir(format!(
            "belongs to uid {}, another user",
            metadata.uid()
        )));
    }
    if metadata.mode() & 0o022 != 0 {
        return Err(unsafe_dir(format!(
            "may be written by other users (mode {:04o})",
            metadata.mode() & 0o7777
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_token_reads_back_and_is_private() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("sub/token");
        let token = Token::generate().expect("a token");
        token.write(&path).expect("writing");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Token::read(&path).expect("reading"), token);
        assert_eq!(token.expose().len(), TOKEN_BYTES * 2);
        // Rewriting replaces it.
        let other = Token::generate().expect("a token");
        other.write(&path).expect("rewriting");
        assert_eq!(Token::read(&path).expect("reading"), other);
        assert_ne!(token, other);
    }

    #[test]
    fn readable_or_malformed_token_files_are_refused() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "ab".repeat(32)).expect("writing");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = Token::read(&path).expect_err("world-readable");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(Token::read(&path).is_ok());
        std::fs::write(&path, "not a token").expect("writing");
        let err = Token::read(&path).expect_err("malformed");
        assert!(err.to_string().contains("no valid token"), "{err}");
    }

    #[test]
    fn tokens_are_compared_exactly_and_never_shown() {
        let token = Token::generate().expect("a token");
        assert!(token.matches(token.expose()));
        assert!(token.matches(&token.expose().to_ascii_uppercase()));
        let mut wrong = token.expose().to_owned();
        wrong.replace_range(0..1, if wrong.starts_with('0') { "1" } else { "0" });
        assert!(!token.matches(&wrong));
        assert!(!token.matches(&token.expose()[1..]));
        assert!(!format!("{token:?}").contains(token.expose()));
        let refusal = token.admit(Some(&wrong)).expect_err("wrong token");
        assert!(!refusal.contains(&wrong) && !refusal.contains(token.expose()));
        assert!(token.admit(None).is_err());
        assert!(token.admit(Some(token.expose())).is_ok());
    }

    #[test]
    fn private_dirs_are_created_and_checked() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let private = dir.path().join("sock");
        ensure_private_dir(&private, 0o755).expect("creating");
        let mode = std::fs::metadata(&private)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        ensure_private_dir(&private, 0o755).expect("an existing private folder is fine");
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = ensure_private_dir(&private, 0o755).expect_err("writable by others");
        assert!(err.to_string().contains("written by other users"), "{err}");
        let file = dir.path().join("file");
        std::fs::write(&file, "").expect("writing");
        assert!(ensure_private_dir(&file, 0o755).is_err());
    }

    #[test]
    fn who_may_talk_to_whom() {
        assert!(may_serve(1000, 1000) && may_serve(1000, 0) && !may_serve(1000, 1001));
        assert!(may_serve(0, 0) && !may_serve(0, 65534));
        assert!(may_trust(1000, 1000) && may_trust(1000, 0) && !may_trust(1000, 1001));
        assert!(may_trust(0, 65534));
    }
}
