//! What an accept loop does when `accept` fails.
//!
//! A listening socket whose process ran out of file descriptors (`EMFILE`, `ENFILE`) or
//! kernel memory (`ENOBUFS`, `ENOMEM`) stays readable: the pending connection is still in
//! the backlog, so a loop that logs and retries at once spins on one core and writes a
//! warning per iteration — megabytes of log per second, while the descriptors it needs are
//! only freed by other tasks that the spinning starves. [`AcceptBackoff`] makes such a loop
//! sleep instead, doubling the pause from [`AcceptBackoff::FIRST_PAUSE`] up to
//! [`AcceptBackoff::MAX_PAUSE`], and logs at most one warning per
//! [`AcceptBackoff::WARN_INTERVAL`], counting the failures it did not log. The first
//! successful accept resets the pause.
//!
//! Failures that concern only the one connection being accepted (it was reset or aborted
//! by the peer before it was taken) are no reason to pause: they are counted and logged the
//! same way, and the loop goes on at once.

use std::{
    io,
    time::{Duration, Instant},
};

/// The state of one accept loop's error handling. See the [module docs](self).
#[derive(Debug)]
pub struct AcceptBackoff {
    /// What the loop accepts ("CLI connections"), for the warnings.
    what: &'static str,
    /// The pause after the next resource failure.
    pause: Duration,
    /// When the last warning was written.
    last_warning: Option<Instant>,
    /// Failures since the last warning that were not logged.
    suppressed: u64,
}

/// What to do about one failure (see [`AcceptBackoff::on_error`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// How long to wait before accepting again (zero: go on at once).
    pub pause: Duration,
    /// The warning to log now, if one is due.
    pub warning: Option<String>,
}

impl AcceptBackoff {
    /// The first pause after a resource failure.
    pub const FIRST_PAUSE: Duration = Duration::from_millis(5);
    /// The longest pause.
    pub const MAX_PAUSE: Duration = Duration::from_secs(1);
    /// At most one warning is logged per this interval.
    pub const WARN_INTERVAL: Duration = Duration::from_secs(5);

    /// The error handling of a loop accepting `what` (e.g. "CLI connections").
    pub fn new(what: &'static str) -> Self {
        Self {
            what,
            pause: Self::FIRST_PAUSE,
            last_warning: None,
            suppressed: 0,
        }
    }

    /// The outcome of one `accept`: the connection, or `None` once the error was handled (a
    /// warning when one is due, and the pause it calls for), so that the loop just goes on.
    pub async fn outcome<T>(&mut self, accepted: io::Result<T>) -> Option<T> {
        match accepted {
            Ok(connection) => {
                self.accepted();
                Some(connection)
            }
            Err(err) => {
                self.failed(&err).await;
                None
            }
        }
    }

    /// A connection was accepted: the next resource failure pauses briefly again.
    fn accepted(&mut self) {
        self.pause = Self::FIRST_PAUSE;
    }

    /// Handles a failed `accept`: logs a warning when one is due and waits as long as the
    /// failure calls for.
    async fn failed(&mut self, err: &io::Error) {
        let reaction = self.on_error(err, Instant::now());
        if let Some(warning) = reaction.warning {
            tracing::warn!("{warning}");
        }
        if !reaction.pause.is_zero() {
            tokio::time::sleep(reaction.pause).await;
        }
    }

    /// What to do about `err`, which happened at `now`: the pure part of [`Self::failed`].
    pub fn on_error(&mut self, err: &io::Error, now: Instant) -> Reaction {
        let pause = if concerns_one_connection(err) {
            Duration::ZERO
        } else {
            let pause = self.pause;
            self.pause = (self.pause * 2).min(Self::MAX_PAUSE);
            pause
        };
        let due = self
            .last_warning
            .is_none_or(|last| now.saturating_duration_since(last) >= Self::WARN_INTERVAL);
        let warning = if due {
            let warning = match self.suppressed {
                0 => format!("accepting {} failed: {err}", self.what),
                n => format!(
                    "accepting {} failed: {err} ({n} more failures since the last warning)",
                    self.what
                ),
            };
            self.last_warning = Some(now);
            self.suppressed = 0;
            Some(match pause.is_zero() {
                true => warning,
                false => format!("{warning}; pausing up to {:?} between attempts", pause),
            })
        } else {
            self.suppressed += 1;
            None
        };
        Reaction { pause, warning }
    }
}

/// Whether `err` is about the one connection being accepted, not the listener or the
/// process (which would fail the next accept too).
fn concerns_one_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    ) || err.raw_os_error() == Some(libc::EPROTO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> io::Error {
        io::Error::from_raw_os_error(libc::EMFILE)
    }

    #[test]
    fn resource_failures_pause_longer_each_time_up_to_the_maximum() {
        let mut backoff = AcceptBackoff::new("test connections");
        let now = Instant::now();
        let pauses: Vec<Duration> = (0..12)
            .map(|_| backoff.on_error(&emfile(), now).pause)
            .collect();
        assert_eq!(pauses[0], AcceptBackoff::FIRST_PAUSE);
        assert_eq!(pauses[1], AcceptBackoff::FIRST_PAUSE * 2);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(pauses[11], AcceptBackoff::MAX_PAUSE);
    }

    #[test]
    fn a_success_resets_the_pause() {
        let mut backoff = AcceptBackoff::new("test connections");
        let now = Instant::now();
        for _ in 0..5 {
            backoff.on_error(&emfile(), now);
        }
        backoff.accepted();
        assert_eq!(
            backoff.on_error(&emfile(), now).pause,
            AcceptBackoff::FIRST_PAUSE
        );
    }

    #[test]
    fn warnings_are_rate_limited_and_count_what_they_left_out() {
        let mut backoff = AcceptBackoff::new("test connections");
        let start = Instant::now();
        let first = backoff.on_error(&emfile(), start).warning;
        assert!(first.is_some_and(|w| w.contains("accepting test connections failed")));
        for i in 1..=1000 {
            let at = start + Duration::from_millis(i);
            assert_eq!(backoff.on_error(&emfile(), at).warning, None);
        }
        let later = start + AcceptBackoff::WARN_INTERVAL;
        let warning = backoff.on_error(&emfile(), later).warning;
        assert!(
            warning
                .as_deref()
                .is_some_and(|w| w.contains("1000 more failures")),
            "{warning:?}"
        );
    }

    #[test]
    fn failures_of_one_connection_do_not_pause() {
        let mut backoff = AcceptBackoff::new("test connections");
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        let reaction = backoff.on_error(&aborted, Instant::now());
        assert_eq!(reaction.pause, Duration::ZERO);
        // Nor do they lengthen the pause of a later resource failure.
        assert_eq!(
            backoff.on_error(&emfile(), Instant::now()).pause,
            AcceptBackoff::FIRST_PAUSE
        );
    }
}
