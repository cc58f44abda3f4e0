//! Restarting nodes under their `restart_policy`.
//!
//! # What a restart is
//!
//! When a node with a policy exits (`on-failure`: with a non-zero code or a signal; `always`:
//! however it exits), the dataflow is not stopping, and its budget allows (`max_restarts`
//! within `restart_window`), the daemon waits `restart_delay` (doubling with each restart in
//! the window, capped by `max_restart_delay`) and starts the same program again, with the same
//! configuration. Once the budget is spent, the node ends with a reason such as "exited with
//! code 1; restarted 2 times (max_restarts: 2), giving up", which fails the dataflow as any
//! node failure does. A stop cancels every pending restart: a node waiting for one ends with
//! how its last process ended, and a node being started again is stopped like the others.
//!
//! # Connections
//!
//! The new process connects to the daemon's control endpoint afresh (a new control
//! connection, which the timers and the daemon's other inputs then feed). Its data
//! connections are the same socket pairs, renewed rather than recreated: the daemon keeps
//! its own copy of a restartable node's ends, so that the node's exit does not hang up its
//! peers (they would see their inputs closed). While the node is down, the daemon reads
//! what peers send to it and drops it, counting the messages (one notice per restart, with
//! the timer ticks and daemon-fed messages dropped meanwhile). Before the new process starts,
//! the daemon writes [`DataPacket::PeerRestarted`] on each of the node's ends: each peer then
//! forgets the old process (its shared memory regions, release ring, pending releases), and
//! answers with the same packet, after which everything it sends is for the new process. The
//! daemon stops reading an end once it saw the answer (or after [`ANSWER_TIMEOUT`], or when
//! the peer is gone), then starts the process. Reusing the socket pairs needs no descriptor
//! passing to running processes, so it works whatever the control channel (Unix socket or
//! TCP), and the order of packets on one socket separates the two processes exactly.
//!
//! # What receivers see
//!
//! No `InputClosed` while a restart is pending: a restartable peer's inputs close only when
//! its connection closes, that is when the node finally ends. After a restart, the first
//! message on each input fed by the node carries the metadata parameter
//! [`dora_message::RESTARTED_PARAMETER`] (`restarted`: how many times the sender has been
//! restarted); messages sent to a node while it was down are dropped and counted.
//!
//! # Scope
//!
//! A node made of operators restarts as a whole (its `dora runtime` process). Dynamic nodes
//! cannot have a policy: the user starts them. A bridge to another machine is told of the
//! restart like a local peer.
//!
//! # Limits
//!
//! - A message a peer's user thread was sending at the very moment the peer handled
//!   [`DataPacket::PeerRestarted`] may reach the new process naming a region it does not
//!   have; the new process then gets an error event for that message, nothing else.
//! - Receivers on other machines see a restartable node's outputs close when its process
//!   exits cleanly (the bridge forwards the closing), unlike local peers.
//! - A node that crashes before it connects keeps every node at the start barrier until it
//!   connects or its budget is spent.

use std::{
    collections::VecDeque,
    os::fd::{AsRawFd, OwnedFd},
    path::PathBuf,
    time::Duration,
};

use dora_descriptor::{Node, Restart, RestartPolicy};
use dora_message::{
    config::NodeConfig,
    coordinator::DaemonToCoordinator,
    data::{decode_packet, encode_packet, DataPacket},
};
use dora_transport::{Peer, Received};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};

use crate::{dataflow::Internal, node_output::LogSink, spawn::Program, NodeExit};

/// How often the daemon reads a down node's connections.
const DRAIN_INTERVAL: Duration = Duration::from_millis(10);

/// How long the daemon waits for a peer to answer [`DataPacket::PeerRestarted`] before
/// starting the new process anyway (a peer that is itself down never answers).
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// What the daemon decides after a restartable node exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The policy does not restart after this exit: the node ends.
    Stay,
    /// Restart number `count` (counted over the node's whole run), after `delay`.
    Restart { count: u32, delay: Duration },
    /// The budget is spent: the node ends with this reason.
    GiveUp(String),
}

/// The restarts a node has had, against its policy.
#[derive(Debug)]
pub(crate) struct Budget {
    restart: Restart,
    /// When the restarts that still count (within the window) happened, oldest first.
    recent: VecDeque<Instant>,
    /// Every restart of the node.
    total: u32,
}

impl Budget {
    pub(crate) fn new(restart: Restart) -> Self {
        Self {
            restart,
            recent: VecDeque::new(),
            total: 0,
        }
    }

    /// Whether and when to restart after `exit`, which happened at `now`.
    pub(crate) fn decide(&mut self, exit: &NodeExit, now: Instant) -> Decision {
        if !self.restart.applies_to(exit.is_success()) {
            return Decision::Stay;
        }
        if let Some(window) = self.restart.window {
            while self
                .recent
                .front()
                .is_some_and(|&at| now.duration_since(at) >= window)
            {
                self.recent.pop_front();
            }
        }
        let max = self.restart.max_restarts;
        if max > 0 && self.recent.len() >= max as usize {
            return Decision::GiveUp(self.give_up_reason(exit));
        }
        self.recent.push_back(now);
        self.total += 1;
        Decision::Restart {
            count: self.total,
            delay: self.restart.delay_before(self.recent.len() as u32),
        }
    }

    fn give_up_reason(&self, exit: &NodeExit) -> String {
        let max = self.restart.max_restarts;
        let times = match self.recent.len() {
            1 => "1 time".to_owned(),
            n => format!("{n} times"),
        };
        match self.restart.window {
            Some(window) => format!(
                "{exit}; restarted {times} within {window:?} (max_restarts: {max}, \
                 restart_window: {window:?}), giving up"
            ),
            None => format!("{exit}; restarted {times} (max_restarts: {max}), giving up"),
        }
    }
}

/// What starting a node again needs, kept from its first start.
pub(crate) struct Restartable {
    pub(crate) node: Node,
    pub(crate) program: Program,
    pub(crate) config: NodeConfig,
    /// The node's ends of its data connections: each new process inherits them, and the
    /// daemon's holding them keeps the peers' connections open while the node is down.
    pub(crate) fds: Vec<OwnedFd>,
    pub(crate) budget: Budget,
}

/// The restartable nodes of a dataflow (by node index) and where they run.
pub(crate) struct Respawner {
    pub(crate) working_dir: PathBuf,
    pub(crate) internal: mpsc::UnboundedSender<Internal>,
    pub(crate) nodes: Vec<Option<Restartable>>,
}

impl Respawner {
    /// The node ended for good: its connections close, so its peers see its inputs closed.
    pub(crate) fn forget(&mut self, index: usize) {
        if let Some(slot) = self.nodes.get_mut(index) {
            *slot = None;
        }
    }

    /// Starts the wait before restart `count` of node `index`: reads and drops what its
    /// peers send it for `delay`, renews its connections, then reports
    /// [`Internal::RestartDue`] with how many messages were dropped.
    pub(crate) fn bridge_gap(
        &self,
        index: usize,
        count: u32,
        delay: Duration,
    ) -> eyre::Result<JoinHandle<()>> {
        let Some(Some(restartable)) = self.nodes.get(index) else {
            eyre::bail!("node {index} has no restart policy");
        };
        let mut ends = Vec::with_capacity(restartable.fds.len());
        for (fd, peer) in restartable.fds.iter().zip(&restartable.config.peers) {
            let copy = fd
                .try_clone()
                .map_err(|err| eyre::eyre!("duplicating a data connection: {err}"))?;
            ends.push(Peer::from_owned(peer.node_id.clone(), copy));
        }
        let internal = self.internal.clone();
        Ok(tokio::spawn(async move {
            let dropped = renew(&ends, count, delay).await;
            let _ = internal.send(Internal::RestartDue(index, dropped));
        }))
    }
}

/// Drops what arrives on `ends` for `delay`, then announces restart `count` on each and drops
/// what arrives until each peer answered. Returns how many messages were dropped.
async fn renew(ends: &[Peer], count: u32, delay: Duration) -> u64 {
    let mut dropped = 0;
    let mut buf = vec![0u8; dora_message::data::MAX_PACKET_LEN];
    let until = Instant::now() + delay;
    loop {
        for end in ends {
            dropped += drain(end, &mut buf, false).0;
        }
        if Instant::now() >= until {
            break;
        }
        tokio::time::sleep(DRAIN_INTERVAL.min(until - Instant::now())).await;
    }
    let mut packet = Vec::new();
    let announce = DataPacket::PeerRestarted { restarts: count };
    if encode_packet(&mut packet, &announce, &[]).is_err() {
        return dropped;
    }
    // Per end: announced, answered (or gone).
    let mut progress = vec![(false, false); ends.len()];
    let give_up = Instant::now() + ANSWER_TIMEOUT;
    loop {
        for (end, (announced, answered)) in ends.iter().zip(&mut progress) {
            if *answered {
                continue;
            }
            if !*announced {
                match try_send(end, &packet) {
                    SendOutcome::Sent => *announced = true,
                    SendOutcome::Full => {}
                    SendOutcome::Gone => {
                        *answered = true;
                        continue;
                    }
                }
            }
            let (count, done) = drain(end, &mut buf, *announced);
            dropped += count;
            *answered = done;
        }
        if progress.iter().all(|&(_, answered)| answered) || Instant::now() >= give_up {
            return dropped;
        }
        tokio::time::sleep(DRAIN_INTERVAL).await;
    }
}

enum SendOutcome {
    Sent,
    Full,
    Gone,
}

/// Writes `packet` on `end` without blocking.
fn try_send(end: &Peer, packet: &[u8]) -> SendOutcome {
    use nix::sys::socket::{send, MsgFlags};
    loop {
        match send(
            end.as_raw_fd(),
            packet,
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
        ) {
            Ok(_) => return SendOutcome::Sent,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::EAGAIN) => return SendOutcome::Full,
            Err(_) => return SendOutcome::Gone,
        }
    }
}

/// Reads what is waiting on `end`, counting messages; with `until_answer`, stops right after
/// the peer's [`DataPacket::PeerRestarted`]. Returns the count and whether the reading of
/// this end is over (answered, or the peer is gone).
fn drain(end: &Peer, buf: &mut [u8], until_answer: bool) -> (u64, bool) {
    let mut messages = 0;
    loop {
        match end.try_recv(buf) {
            Ok(Received::Packet { len, .. }) => match decode_packet(&buf[..len]) {
                Ok((DataPacket::Message { .. }, _)) => messages += 1,
                Ok((DataPacket::PeerRestarted { .. }, _)) if until_answer => {
                    return (messages, true)
                }
                _ => {}
            },
            Ok(Received::WouldBlock) => return (messages, false),
            Ok(Received::Closed) | Err(_) => return (messages, true),
        }
    }
}

/// Tells the attached CLIs (or the terminal of `dora run`) and the coordinator that a node
/// is restarted.
pub(crate) fn report(
    sink: &LogSink,
    dataflow_id: &str,
    node_id: &str,
    count: u32,
    exit: &NodeExit,
    delay: Duration,
) {
    let when = if delay.is_zero() {
        String::new()
    } else {
        format!(" in {delay:?}")
    };
    sink.notice(
        dataflow_id,
        &format!("node `{node_id}` {exit}; restarting it{when} (restart {count})"),
    );
    if let Some(forward) = &sink.forward {
        let _ = forward.send(DaemonToCoordinator::NodeRestarted {
            dataflow_id: dataflow_id.to_owned(),
            node_id: node_id.to_owned(),
            count,
            reason: exit.to_string(),
        });
    }
}

/// Whether a node has a policy that may restart it.
pub(crate) fn is_restartable(node: &Node) -> bool {
    node.restart.policy != RestartPolicy::Never
}

/// Marks, in every node's configuration, the peers that may be restarted, so that their
/// outputs closing does not close the inputs they feed (see the module documentation).
pub(crate) fn mark_restartable_peers(configs: &mut [NodeConfig], nodes: &[&Node]) {
    for config in configs {
        for peer in &mut config.peers {
            peer.restartable = nodes
                .iter()
                .any(|n| n.id == peer.node_id && is_restartable(n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dora_descriptor::RestartPolicy;

    fn budget(policy: RestartPolicy, max: u32, window: Option<u64>) -> Budget {
        Budget::new(Restart {
            policy,
            max_restarts: max,
            delay: Duration::from_millis(100),
            max_delay: None,
            window: window.map(Duration::from_secs),
        })
    }

    #[test]
    fn on_failure_restarts_failures_until_the_budget_is_spent() {
        let mut b = budget(RestartPolicy::OnFailure, 2, None);
        let now = Instant::now();
        assert_eq!(b.decide(&NodeExit::Success, now), Decision::Stay);
        let crash = NodeExit::Code(1);
        assert_eq!(
            b.decide(&crash, now),
            Decision::Restart {
                count: 1,
                delay: Duration::from_millis(100)
            }
        );
        assert_eq!(
            b.decide(&crash, now),
            Decision::Restart {
                count: 2,
                delay: Duration::from_millis(200)
            }
        );
        assert_eq!(
            b.decide(&crash, now),
            Decision::GiveUp(
                "exited with code 1; restarted 2 times (max_restarts: 2), giving up".into()
            )
        );
    }

    #[test]
    fn always_restarts_successes_and_signals() {
        let mut b = budget(RestartPolicy::Always, 0, None);
        let now = Instant::now();
        for exit in [NodeExit::Success, NodeExit::Signal(9), NodeExit::Code(3)] {
            assert!(matches!(b.decide(&exit, now), Decision::Restart { .. }));
        }
    }

    #[test]
    fn restarts_older_than_the_window_do_not_count() {
        let mut b = budget(RestartPolicy::OnFailure, 1, Some(10));
        let start = Instant::now();
        let crash = NodeExit::Code(1);
        assert!(matches!(b.decide(&crash, start), Decision::Restart { .. }));
        let later = start + Duration::from_secs(11);
        assert_eq!(
            b.decide(&crash, later),
            Decision::Restart {
                count: 2,
                delay: Duration::from_millis(100)
            },
            "the first restart left the window: the delay starts over too"
        );
        match b.decide(&crash, later + Duration::from_secs(1)) {
            Decision::GiveUp(reason) => assert_eq!(
                reason,
                "exited with code 1; restarted 1 time within 10s (max_restarts: 1, \
                 restart_window: 10s), giving up"
            ),
            other => panic!("{other:?}"),
        }
    }
}
