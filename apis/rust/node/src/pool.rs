//! The sender's pool of shared memory regions.
//!
//! A region is lent to the user as a [`DataSample`](crate::DataSample), filled in place, then
//! sent: every receiver it went to holds one token and answers `Release` when it no longer
//! reads the message. A region whose tokens all came back is free and is reused for the next
//! sample that fits, so a steady stream of large messages maps no new memory. Tokens held by a
//! peer that hangs up are returned at once. At most [`MAX_FREE_REGIONS`] free regions are
//! kept; beyond that the largest are retired (receivers are told to unmap them), at most
//! [`RETIRE_PER_LEND`] per new region so that shrinking a pool grown by a burst never stalls a
//! send.

use std::sync::Arc;

use crate::{error::NodeError, shared_memory::OwnedRegion};

/// Free regions kept for reuse.
pub const MAX_FREE_REGIONS: usize = 8;

/// Regions retired per new region created.
pub const RETIRE_PER_LEND: usize = 2;

/// One region and its bookkeeping.
#[derive(Debug)]
struct PoolRegion {
    id: u64,
    memory: Arc<OwnedRegion>,
    /// Lent to the user as a sample that has not been sent yet.
    lent: bool,
    /// Outstanding tokens per peer index.
    tokens: Vec<u32>,
    /// Peers that already have this region's file descriptor.
    shared_with: Vec<bool>,
}

impl PoolRegion {
    fn is_free(&self) -> bool {
        !self.lent && self.tokens.iter().all(|&t| t == 0)
    }
}

/// A region taken from the pool for one sample.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub id: u64,
    pub memory: Arc<OwnedRegion>,
}

/// A region taken out of service: its id and the peers that must be told to unmap it.
pub(crate) type Retired = (u64, Vec<usize>);

/// The regions of one sending node.
#[derive(Debug)]
pub(crate) struct Pool {
    name_prefix: String,
    peers: usize,
    regions: Vec<PoolRegion>,
    next_id: u64,
}

impl Pool {
    pub fn new(name_prefix: String, peers: usize) -> Self {
        Self {
            name_prefix,
            peers,
            regions: Vec::new(),
            next_id: 0,
        }
    }

    /// Lends a free region of at least `len` bytes, creating one when none fits. Returns the
    /// regions retired to make room (their peers must be told).
    pub fn lend(&mut self, len: usize) -> Result<(Lease, Vec<Retired>), NodeError> {
        // The smallest free region that fits without wasting more than half of it.
        let best = self
            .regions
            .iter_mut()
            .filter(|r| r.is_free() && r.memory.capacity() >= len)
            .filter(|r| r.memory.capacity() / 2 <= len.max(64 * 1024))
            .min_by_key(|r| r.memory.capacity());
        if let Some(region) = best {
            region.lent = true;
            let lease = Lease {
                id: region.id,
                memory: region.memory.clone(),
            };
            return Ok((lease, self.retire_surplus()));
        }
        let retired = self.retire_surplus();
        let id = self.next_id;
        self.next_id += 1;
        let memory = Arc::new(OwnedRegion::create(
            &format!("{}-{id}", self.name_prefix),
            len,
        )?);
        self.regions.push(PoolRegion {
            id,
            memory: memory.clone(),
            lent: true,
            tokens: vec![0; self.peers],
            shared_with: vec![false; self.peers],
        });
        Ok((Lease { id, memory }, retired))
    }

    /// Returns a lent region that was not sent.
    pub fn give_back(&mut self, id: u64) {
        if let Some(region) = self.regions.iter_mut().find(|r| r.id == id) {
            region.lent = false;
        }
    }

    /// Records that region `id` was sent to `peer`; returns true when the peer does not have
    /// the region's file descriptor yet (it must be attached, and is then marked shared).
    pub fn sent_to(&mut self, id: u64, peer: usize) -> bool {
        let Some(region) = self.regions.iter_mut().find(|r| r.id == id) else {
            return false;
        };
        region.tokens[peer] += 1;
        !std::mem::replace(&mut region.shared_with[peer], true)
    }

    /// Undoes [`Pool::sent_to`] for a send that failed.
    pub fn unsend(&mut self, id: u64, peer: usize, attached: bool) {
        if let Some(region) = self.regions.iter_mut().find(|r| r.id == id) {
            region.tokens[peer] = region.tokens[peer].saturating_sub(1);
            if attached {
                region.shared_with[peer] = false;
            }
        }
    }

    /// The send of region `id` is complete (all tokens handed out).
    pub fn finish_send(&mut self, id: u64) {
        if let Some(region) = self.regions.iter_mut().find(|r| r.id == id) {
            region.lent = false;
        }
    }

    /// A token for region `id` came back from `peer`.
    pub fn release(&mut self, id: u64, peer: usize) {
        if let Some(region) = self.regions.iter_mut().find(|r| r.id == id) {
            region.tokens[peer] = region.tokens[peer].saturating_sub(1);
        }
    }

    /// `peer` hung up: its tokens come back and it forgets every region.
    pub fn peer_gone(&mut self, peer: usize) {
        for region in &mut self.regions {
            region.tokens[peer] = 0;
            region.shared_with[peer] = false;
        }
    }

    /// Drops free regions beyond [`MAX_FREE_REGIONS`], largest first. Returns each retired
    /// region's id and the peers that must be told to unmap it.
    fn retire_surplus(&mut self) -> Vec<Retired> {
        let mut retired = Vec::new();
        while retired.len() < RETIRE_PER_LEND
            && self.regions.iter().filter(|r| r.is_free()).count() >= MAX_FREE_REGIONS
        {
            let Some(index) = self
                .regions
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_free())
                .max_by_key(|(_, r)| r.memory.capacity())
                .map(|(index, _)| index)
            else {
                break;
            };
            let region = self.regions.swap_remove(index);
            let peers = (0..self.peers).filter(|&p| region.shared_with[p]).collect();
            retired.push((region.id, peers));
        }
        retired
    }
}
