//! The sender's pool of shared memory regions.
//!
//! A region is lent to the user (the node API's `DataSample`), filled in place, then
//! sent: every receiver it went to holds one token and gives it back when it no longer reads
//! the message — through the connection's [release ring](crate::release_ring), which the pool
//! reads when it needs a free region and when the I/O thread looks, or with a `Release`
//! packet. A region whose tokens all came back is free and is reused for the next sample that
//! fits, so a steady stream of large messages maps no new memory. Tokens held by a peer that
//! hangs up are returned at once. At most [`MAX_FREE_REGIONS`] free regions are kept; beyond
//! that the least recently used are retired (receivers are told to unmap them), at most
//! [`RETIRE_PER_CALL`] per token that came back — by the I/O thread, never on the send path,
//! so that shrinking the pool after a burst never delays a message.
//!
//! Every operation is a map lookup, whatever the pool size: a burst into a deep queue can
//! leave thousands of regions behind, and a linear scan per message would then cost more than
//! the message.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use crate::{error::TransportError, release_ring::RingConsumer, shared_memory::OwnedRegion};

/// Free regions kept for reuse.
pub const MAX_FREE_REGIONS: usize = 8;

/// Regions retired per token that came back, while more than [`MAX_FREE_REGIONS`] are free:
/// each token frees at most one region, so this keeps up, and a peer that hangs up holding
/// many regions does not make one call unmap all of them at once.
pub const RETIRE_PER_CALL: usize = 2;

/// One region and its bookkeeping.
#[derive(Debug)]
struct PoolRegion {
    memory: Arc<OwnedRegion>,
    /// When the region was last lent (a counter): retirement takes the least recently used.
    last_used: u64,
    /// Lent to the user as a sample that has not been sent yet.
    lent: bool,
    /// Outstanding tokens per peer index.
    tokens: Vec<u32>,
    /// Sum of `tokens`.
    outstanding: u32,
    /// Peers that already have this region's file descriptor.
    shared_with: Vec<bool>,
    /// A peer restarted after this region's descriptor was closed: the new process can never
    /// get it, so the region is retired once free instead of reused.
    stale: bool,
}

impl PoolRegion {
    fn is_free(&self) -> bool {
        !self.lent && self.outstanding == 0
    }
}

/// A region taken from the pool for one sample: the lender may write into `memory` until it
/// sends the sample ([`Pool::sent_to`], [`Pool::finish_send`]) or gives it back
/// ([`Pool::give_back`]).
#[derive(Debug, Clone)]
pub struct Lease {
    /// The region's id, which receivers use to name it.
    pub id: u64,
    /// The region.
    pub memory: Arc<OwnedRegion>,
}

/// A region taken out of service: its id and the peers that must be told to unmap it
/// ([`Notice::Retire`](crate::Notice::Retire)).
pub type Retired = (u64, Vec<usize>);

/// The release ring of the connection to one peer.
#[derive(Debug)]
enum Ring {
    /// Not created yet: the peer has not been sent a region.
    NotYet,
    Active(RingConsumer),
    /// Could not be created or sent, or the peer hung up: releases come as packets.
    Unavailable,
}

/// The regions of one sending node.
///
/// Peers are named by their index in the sender's list of connections. The pool does not
/// send anything: its caller sends packets and tells it what happened, and tells the peers
/// of [`Retired`] regions to unmap them.
#[derive(Debug)]
pub struct Pool {
    name_prefix: String,
    peers: usize,
    /// Peers that receive some output of this node: once a region's descriptor reached all of
    /// them it is closed.
    routed: Vec<bool>,
    regions: HashMap<u64, PoolRegion>,
    /// Free regions by (capacity, id).
    free: BTreeSet<(usize, u64)>,
    /// The same free regions by (last use, id).
    free_by_use: BTreeSet<(u64, u64)>,
    next_id: u64,
    /// Counts lends, to order regions by last use.
    clock: u64,
    /// Per peer.
    rings: Vec<Ring>,
    /// Scratch space for the ids read from a ring.
    collected: Vec<u64>,
    /// Stale regions that became free, to retire on the next [`Pool::collect_and_retire`].
    doomed: Vec<u64>,
}

impl Pool {
    /// An empty pool whose regions are named after `name_prefix` (in `/proc/<pid>/fd` and
    /// `/proc/<pid>/maps` only). `routed[peer]` says whether `peer` receives any output of
    /// this sender (a region's descriptor is closed once every such peer has it).
    pub fn new(name_prefix: String, routed: Vec<bool>) -> Self {
        Self {
            name_prefix,
            peers: routed.len(),
            rings: (0..routed.len()).map(|_| Ring::NotYet).collect(),
            routed,
            regions: HashMap::new(),
            free: BTreeSet::new(),
            free_by_use: BTreeSet::new(),
            next_id: 0,
            clock: 0,
            collected: Vec::new(),
            doomed: Vec::new(),
        }
    }

    /// The smallest free region of at least `len` bytes that does not waste more than half
    /// of itself.
    #[inline]
    fn fitting(&self, len: usize) -> Option<(usize, u64)> {
        self.free
            .range((len, 0)..)
            .next()
            .copied()
            .filter(|&(capacity, _)| capacity / 2 <= len.max(64 * 1024))
    }

    /// Lends a free region of at least `len` bytes, creating one when none fits (after
    /// collecting what receivers released into their rings).
    #[inline]
    pub fn lend(&mut self, len: usize) -> Result<Lease, TransportError> {
        let mut fitting = self.fitting(len);
        if fitting.is_none() && self.collect_released() > 0 {
            fitting = self.fitting(len);
        }
        self.clock += 1;
        if let Some(key @ (_, id)) = fitting {
            self.free.remove(&key);
            if let Some(region) = self.regions.get_mut(&id) {
                self.free_by_use.remove(&(region.last_used, id));
                region.last_used = self.clock;
                region.lent = true;
                return Ok(Lease {
                    id,
                    memory: region.memory.clone(),
                });
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let memory = Arc::new(OwnedRegion::create(
            &format!("{}-{id}", self.name_prefix),
            len,
        )?);
        self.regions.insert(
            id,
            PoolRegion {
                memory: memory.clone(),
                last_used: self.clock,
                lent: true,
                tokens: vec![0; self.peers],
                outstanding: 0,
                shared_with: vec![false; self.peers],
                stale: false,
            },
        );
        Ok(Lease { id, memory })
    }

    /// Puts `id` on the free list if nothing holds it anymore.
    #[inline]
    fn update_free(&mut self, id: u64) {
        if let Some(region) = self.regions.get(&id) {
            if region.is_free() && region.stale {
                if !self.doomed.contains(&id) {
                    self.doomed.push(id);
                }
            } else if region.is_free() {
                self.free.insert((region.memory.capacity(), id));
                self.free_by_use.insert((region.last_used, id));
            }
        }
    }

    /// Returns a lent region that was not sent.
    #[inline]
    pub fn give_back(&mut self, id: u64) {
        if let Some(region) = self.regions.get_mut(&id) {
            region.lent = false;
        }
        self.update_free(id);
    }

    /// Records that region `id` was sent to `peer`; returns true when the peer does not have
    /// the region's file descriptor yet (it must be attached, and is then marked shared).
    #[inline]
    pub fn sent_to(&mut self, id: u64, peer: usize) -> bool {
        let Some(region) = self.regions.get_mut(&id) else {
            return false;
        };
        region.tokens[peer] += 1;
        region.outstanding += 1;
        !std::mem::replace(&mut region.shared_with[peer], true)
    }

    /// Undoes [`Pool::sent_to`] for a send that failed.
    #[inline]
    pub fn unsend(&mut self, id: u64, peer: usize, attached: bool) {
        if let Some(region) = self.regions.get_mut(&id) {
            if region.tokens[peer] > 0 {
                region.tokens[peer] -= 1;
                region.outstanding -= 1;
            }
            if attached {
                region.shared_with[peer] = false;
            }
        }
    }

    /// The send of region `id` is complete (all tokens handed out).
    #[inline]
    pub fn finish_send(&mut self, id: u64) {
        if let Some(region) = self.regions.get_mut(&id) {
            region.lent = false;
            let everyone_has_it = (0..self.peers).all(|p| !self.routed[p] || region.shared_with[p]);
            if everyone_has_it {
                region.memory.close_fd();
            }
        }
        self.update_free(id);
    }

    /// A token for region `id` came back from `peer`.
    #[inline]
    pub fn release(&mut self, id: u64, peer: usize) {
        if let Some(region) = self.regions.get_mut(&id) {
            if region.tokens[peer] > 0 {
                region.tokens[peer] -= 1;
                region.outstanding -= 1;
            }
        }
        self.update_free(id);
    }

    /// The release ring to send to `peer` before the first region: created on the first
    /// call for that peer; `None` on later calls, or when it cannot be created (the peer then
    /// releases with packets). Report the outcome with [`Pool::ring_sent`].
    #[inline]
    pub fn ring_to_share(&mut self, peer: usize) -> Option<std::os::fd::RawFd> {
        let ring = self.rings.get_mut(peer)?;
        if !matches!(ring, Ring::NotYet) {
            return None;
        }
        match RingConsumer::create(&format!("{}-release-ring-{peer}", self.name_prefix)) {
            Ok(consumer) => {
                let fd = consumer.raw_fd();
                *ring = Ring::Active(consumer);
                fd
            }
            Err(_) => {
                *ring = Ring::Unavailable;
                None
            }
        }
    }

    /// Whether the ring from [`Pool::ring_to_share`] reached `peer`.
    pub fn ring_sent(&mut self, peer: usize, delivered: bool) {
        if let Some(ring) = self.rings.get_mut(peer) {
            match ring {
                Ring::Active(consumer) if delivered => consumer.close_fd(),
                _ => *ring = Ring::Unavailable,
            }
        }
    }

    /// Takes back the tokens receivers wrote into their rings; returns how many.
    #[inline]
    fn collect_released(&mut self) -> u64 {
        let mut ids = std::mem::take(&mut self.collected);
        let mut count = 0;
        for peer in 0..self.rings.len() {
            if let Ring::Active(consumer) = &mut self.rings[peer] {
                ids.clear();
                count += consumer.collect(|id| ids.push(id));
                for &id in &ids {
                    self.release(id, peer);
                }
            }
        }
        self.collected = ids;
        count
    }

    /// Whether the I/O thread should look into the rings now and then (at least every
    /// [`COLLECT_INTERVAL`](crate::release_ring::COLLECT_INTERVAL)): the pool holds more
    /// regions than it keeps free, so regions released into a ring may be surplus to retire.
    /// (A smaller pool needs no look: [`Pool::lend`] collects what it needs.)
    #[inline]
    pub fn wants_collection(&self) -> bool {
        !self.doomed.is_empty()
            || (self.regions.len() > MAX_FREE_REGIONS
                && self
                    .rings
                    .iter()
                    .any(|ring| matches!(ring, Ring::Active(_))))
    }

    /// The I/O thread's turn: takes back the tokens receivers wrote into their release rings
    /// and retires the surplus of free regions that `extra_tokens` (tokens that came back as
    /// packets) and the collected ones allow. Returns the retired regions.
    #[inline]
    pub fn collect_and_retire(&mut self, extra_tokens: usize) -> Vec<Retired> {
        let collected = self.collect_released() as usize;
        let mut retired = self.retire_doomed();
        retired.extend(self.retire_surplus(RETIRE_PER_CALL * (collected + extra_tokens)));
        retired
    }

    /// `peer` was restarted on the same connection: like [`Pool::peer_gone`], its tokens come
    /// back and it has no region; a new release ring will be shared with it. Regions whose
    /// descriptor was already closed cannot reach it anymore: they are retired once free.
    /// Returns the regions retired now.
    pub fn peer_restarted(&mut self, peer: usize) -> Vec<Retired> {
        self.peer_gone(peer);
        if let Some(ring) = self.rings.get_mut(peer) {
            *ring = Ring::NotYet;
        }
        if !self.routed.get(peer).copied().unwrap_or(false) {
            return Vec::new();
        }
        for (&id, region) in &mut self.regions {
            if region.memory.raw_fd().is_none() {
                region.stale = true;
                if region.is_free() {
                    self.free.remove(&(region.memory.capacity(), id));
                    self.free_by_use.remove(&(region.last_used, id));
                    self.doomed.push(id);
                }
            }
        }
        self.retire_doomed()
    }

    /// Retires the stale regions that became free.
    fn retire_doomed(&mut self) -> Vec<Retired> {
        let mut retired = Vec::new();
        for id in std::mem::take(&mut self.doomed) {
            if let Some(region) = self.regions.remove(&id) {
                let peers = (0..self.peers).filter(|&p| region.shared_with[p]).collect();
                retired.push((id, peers));
            }
        }
        retired
    }

    /// `peer` hung up: its tokens come back and it forgets every region.
    pub fn peer_gone(&mut self, peer: usize) {
        if let Some(ring) = self.rings.get_mut(peer) {
            *ring = Ring::Unavailable;
        }
        let mut now_free = Vec::new();
        let mut doomed = Vec::new();
        for (&id, region) in &mut self.regions {
            region.outstanding -= std::mem::take(&mut region.tokens[peer]);
            region.shared_with[peer] = false;
            if region.is_free() && region.stale {
                doomed.push(id);
            } else if region.is_free() {
                now_free.push((region.memory.capacity(), region.last_used, id));
            }
        }
        for id in doomed {
            if !self.doomed.contains(&id) {
                self.doomed.push(id);
            }
        }
        for (capacity, last_used, id) in now_free {
            self.free.insert((capacity, id));
            self.free_by_use.insert((last_used, id));
        }
    }

    /// Drops free regions beyond [`MAX_FREE_REGIONS`], least recently used first (the ones
    /// the current message sizes need stay), at most `limit` of them. Returns each retired
    /// region's id and the peers that must be told to unmap it.
    #[inline]
    fn retire_surplus(&mut self, limit: usize) -> Vec<Retired> {
        let mut retired = Vec::new();
        while retired.len() < limit && self.free.len() > MAX_FREE_REGIONS {
            let Some(key @ (_, id)) = self.free_by_use.iter().next().copied() else {
                break;
            };
            self.free_by_use.remove(&key);
            if let Some(region) = self.regions.remove(&id) {
                self.free.remove(&(region.memory.capacity(), id));
                let peers = (0..self.peers).filter(|&p| region.shared_with[p]).collect();
                retired.push((id, peers));
            }
        }
        retired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_reused_once_released_and_surplus_is_retired() {
        let mut pool = Pool::new("dora-test-pool".into(), vec![true]);
        let first = pool.lend(10_000).expect("a region");
        assert!(pool.sent_to(first.id, 0), "the first send attaches the fd");
        pool.finish_send(first.id);
        // Still held by the peer: a new region is needed.
        let second = pool.lend(10_000).expect("a region");
        assert_ne!(first.id, second.id);
        pool.give_back(second.id);
        pool.release(first.id, 0);
        let again = pool.lend(10_000).expect("a region");
        assert!(
            again.id == first.id || again.id == second.id,
            "a free region is reused"
        );
        assert!(!pool.sent_to(first.id, 0) || again.id != first.id);
        // Many free regions shrink back to the limit, a few per call.
        let leases: Vec<_> = (0..20)
            .map(|_| pool.lend(5000).expect("a region"))
            .collect();
        for lease in &leases {
            pool.give_back(lease.id);
        }
        let mut rounds = 0;
        while !pool.retire_surplus(RETIRE_PER_CALL).is_empty() {
            rounds += 1;
        }
        assert!(rounds > 1, "retiring is spread over several calls");
        assert_eq!(pool.free.len(), MAX_FREE_REGIONS);
    }

    #[test]
    fn a_restarted_peer_gets_tokens_back_and_never_a_region_without_descriptor() {
        let mut pool = Pool::new("dora-test-pool-restart".into(), vec![true]);
        let held = pool.lend(10_000).expect("a region");
        assert!(pool.sent_to(held.id, 0));
        pool.finish_send(held.id);
        // Every routed peer has it: its descriptor is closed, and the old process still
        // holds a token.
        assert!(held.memory.raw_fd().is_none());
        let retired = pool.peer_restarted(0);
        assert_eq!(
            retired,
            vec![(held.id, vec![])],
            "free and stale: retired at once"
        );
        let next = pool.lend(10_000).expect("a region");
        assert_ne!(next.id, held.id, "the stale region is not lent again");
        assert!(
            pool.sent_to(next.id, 0),
            "the new process gets the descriptor"
        );
        pool.finish_send(next.id);
    }
}
