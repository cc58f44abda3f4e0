//! Whom the daemon acts for, and how it proves itself.
//!
//! - A daemon joins its coordinator only with the coordinator's token (`--token-file`, or
//!   the default file of the coordinator's daemon port, read again before every attempt so
//!   that a restarted coordinator's new token is picked up).
//! - Data links between daemons present the same token, and a daemon accepts only links
//!   that present the token it joined with.
//! - Nodes run as the user who started the dataflow: a daemon never runs them on behalf of
//!   another user. A spawn whose starter is not the daemon's own user is refused with a
//!   reason naming both uids ([`check_starter`]).

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use dora_control::access::{self, Token};

/// The token the daemon last joined its coordinator with, shared with the tasks that
/// accept and open data links.
#[derive(Debug, Clone, Default)]
pub struct SharedToken(Arc<Mutex<Option<Token>>>);

impl SharedToken {
    /// The current token, if the daemon has read one.
    pub fn get(&self) -> Option<Token> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, token: Token) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
    }

    /// Reads the token file (`explicit`, else the default of the coordinator's daemon port
    /// `port`) and keeps the token for data links.
    pub fn load(&self, explicit: Option<&std::path::Path>, port: u16) -> eyre::Result<Token> {
        let path: PathBuf = access::token_path(explicit, port)?;
        let token = Token::read(&path).map_err(|err| {
            eyre::eyre!(
                "{err} (the coordinator writes its token there when it starts; on another \
                 machine, copy the coordinator's token file and pass it with --token-file)"
            )
        })?;
        self.set(token.clone());
        Ok(token)
    }

    /// Checks the token a connecting daemon presented.
    pub fn admit(&self, presented: Option<&str>) -> Result<(), String> {
        match self.get() {
            Some(token) => token.admit(presented),
            None => Err("this daemon has not joined a coordinator yet".into()),
        }
    }
}

/// Whether this daemon may run nodes for the user `started_by`: only when it runs as that
/// user. `machine` names the daemon in the reason.
pub fn check_starter(started_by: u32, machine: &str) -> Result<(), String> {
    let daemon_uid = access::effective_uid();
    if started_by == daemon_uid {
        return Ok(());
    }
    Err(format!(
        "the dataflow was started by uid {started_by}, but the daemon of {} runs as uid \
         {daemon_uid}, and a daemon runs nodes only as its own user; start a daemon as uid \
         {started_by} (or start the dataflow as uid {daemon_uid})",
        dora_control::Machine(machine)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_daemons_own_user_may_start_nodes() {
        let me = access::effective_uid();
        assert!(check_starter(me, "").is_ok());
        let other = me.wrapping_add(1);
        let reason = check_starter(other, "mars").expect_err("another user");
        assert!(
            reason.contains(&format!("started by uid {other}")),
            "{reason}"
        );
        assert!(reason.contains(&format!("runs as uid {me}")), "{reason}");
        assert!(reason.contains("start a daemon as uid"), "{reason}");
    }
}
