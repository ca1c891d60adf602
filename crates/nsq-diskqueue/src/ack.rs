//! Popped-but-unacknowledged records: the crash-safe read path.
//!
//! Why it exists: a plain [`pop`](crate::DiskQueue::pop) commits the read position at once,
//! so once a sync has persisted a position beyond a record that the owner still holds only
//! in memory (an nsqd message in flight), a crash loses that record. Records taken with
//! [`pop_unacked`](crate::DiskQueue::pop_unacked) instead pin the *persisted* read
//! position — the "floor" — at the oldest of them until they are acknowledged, and keep
//! the data files from that record on, so that after a crash reading resumes at the floor
//! (at-least-once: records acknowledged after it are handed out again).
//!
//! The in-memory read position still moves on at every pop, so `depth`, `is_empty` and the
//! order of records are exactly those of plain pops; only the metadata written by a sync
//! and the deletion of fully read files look at the floor. The metadata stays in
//! go-diskqueue v1.1.0's format with the floor as its read position and, as depth, the
//! number of records from the floor to the write position, which is exactly what the
//! reference counts down to 0 when it reads from there (so it reports no corruption).
//!
//! Bookkeeping: every pop, acknowledged or not, gets the next sequence number of this queue
//! instance; unacknowledged ones sit in a `BTreeMap` from sequence number to the position
//! where the record starts (O(log n) insert and acknowledge; the floor is the first entry).
//! The number of records between the floor and the read position is then
//! `next_seq - floor_seq`. Fully read files below the floor's file are deleted, or renamed
//! to `.bad` if a read error was met in them, once the floor has left them: by the next
//! sync, right after it has written metadata that no longer points into them (so that a
//! crash never finds the persisted read position in a deleted file).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tracing::{debug, error, warn};

use crate::error::DiskQueueError;
use crate::files::bad_file_name;
use crate::state::State;

/// Source of instance ids, so that a token can never acknowledge a record of another queue
/// instance (for example of the same queue reopened in the same process).
static NEXT_QUEUE_ID: AtomicU64 = AtomicU64::new(1);

/// A record handed out by [`pop_unacked`](crate::DiskQueue::pop_unacked) or
/// [`pop_batch_unacked`](crate::DiskQueue::pop_batch_unacked) and not yet acknowledged.
///
/// Opaque and `Copy`: it names one pop of one queue instance (instance id + pop sequence
/// number). Passing it to [`ack`](crate::DiskQueue::ack) of that queue acknowledges the
/// record; passing it again, after [`empty`](crate::DiskQueue::empty), after close, or to
/// another queue does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckToken {
    queue: u64,
    seq: u64,
}

/// Where a record starts on disk: data file number and byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordPos {
    pub(crate) file_num: i64,
    pub(crate) pos: i64,
}

/// Unacknowledged records and the fully read files kept for them.
///
/// Invariants: every key of `records` is below `next_seq`, and their positions increase
/// with the key (records are popped in file order); `retained_from` ≤ the floor's file
/// number ≤ the read file number, and every fully read data file from `retained_from` on is
/// still on disk (unless it was missing or removed by someone else); `bad` only holds file
/// numbers in `retained_from..read_file_num`.
#[derive(Debug)]
pub(crate) struct Acks {
    /// This queue instance's id, stamped on its tokens.
    queue: u64,
    /// Sequence number of the next pop (plain or unacknowledged).
    next_seq: u64,
    /// Unacknowledged pops: sequence number → where the record starts.
    records: BTreeMap<u64, RecordPos>,
    /// Lowest number of a fully read data file not yet deleted.
    pub(crate) retained_from: i64,
    /// Fully read files in which a read error was met: renamed to `.bad`, not deleted,
    /// when released.
    bad: BTreeSet<i64>,
    /// The floor moved since the last sync, so the metadata on disk is stale (only
    /// acknowledgements do this without also counting an operation).
    pub(crate) floor_moved: bool,
}

impl Acks {
    /// Fresh bookkeeping for a queue whose reader starts in file `read_file_num`.
    pub(crate) fn new(read_file_num: i64) -> Acks {
        Acks {
            queue: NEXT_QUEUE_ID.fetch_add(1, Ordering::Relaxed),
            next_seq: 0,
            records: BTreeMap::new(),
            retained_from: read_file_num,
            bad: BTreeSet::new(),
            floor_moved: false,
        }
    }

    /// Counts one pop (plain or not); returns its token, which only unacknowledged pops
    /// keep.
    pub(crate) fn next_token(&mut self) -> AckToken {
        let seq = self.next_seq;
        self.next_seq += 1;
        AckToken {
            queue: self.queue,
            seq,
        }
    }

    /// Oldest unacknowledged record: its position and how many records (itself included)
    /// have been popped since it.
    pub(crate) fn floor(&self) -> Option<(RecordPos, i64)> {
        self.records.first_key_value().map(|(seq, pos)| {
            let behind = i64::try_from(self.next_seq - seq).unwrap_or(i64::MAX);
            (*pos, behind)
        })
    }

    /// Number of unacknowledged records.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Marks fully read file `num` as corrupt, to be renamed rather than deleted.
    pub(crate) fn mark_bad(&mut self, num: i64) {
        self.bad.insert(num);
    }
}

impl State {
    /// Pops one record and keeps it unacknowledged.
    pub(crate) fn pop_unacked(&mut self) -> Option<(Bytes, AckToken)> {
        if self.closed {
            return None;
        }
        let out = self.pop_one().map(|(payload, start, token)| {
            self.acks.records.insert(token.seq, start);
            (payload, token)
        });
        self.after_op();
        out
    }

    /// Pops up to `max` records, each kept unacknowledged, syncing in between as single
    /// pops would.
    pub(crate) fn pop_batch_unacked(
        &mut self,
        max: usize,
        out: &mut Vec<(Bytes, AckToken)>,
    ) -> usize {
        let mut taken = 0;
        while taken < max && !self.closed {
            let Some((payload, start, token)) = self.pop_one() else {
                break;
            };
            self.acks.records.insert(token.seq, start);
            out.push((payload, token));
            taken += 1;
            self.after_op();
        }
        self.after_op();
        taken
    }

    /// Acknowledges one record; unknown tokens are ignored. If the floor moves, the
    /// metadata becomes due at the next tick once `sync_timeout` has elapsed, or at the
    /// next operation or tick at once if the floor left a data file (which that sync then
    /// deletes, after writing metadata that no longer points into it).
    pub(crate) fn ack(&mut self, token: AckToken) {
        if self.closed || token.queue != self.acks.queue {
            return;
        }
        let was_floor = self
            .acks
            .records
            .first_key_value()
            .is_some_and(|(seq, _)| *seq == token.seq);
        if self.acks.records.remove(&token.seq).is_none() || !was_floor {
            return;
        }
        self.acks.floor_moved = true;
        if self.keep_from() > self.acks.retained_from {
            self.need_sync = true;
        }
    }

    /// First data file that must stay on disk: the floor's file, or the read file when
    /// nothing is unacknowledged.
    fn keep_from(&self) -> i64 {
        match self.acks.floor() {
            Some((pos, _)) => pos.file_num.min(self.read_file_num),
            None => self.read_file_num,
        }
    }

    /// Deletes (or renames to `.bad`) every fully read file below [`Self::keep_from`].
    /// Files already gone are skipped silently. Returns the last failure; the bookkeeping
    /// moves on regardless (as go-diskqueue, which logs and forgets a failed removal).
    pub(crate) fn release_files(&mut self) -> Result<(), DiskQueueError> {
        let keep_from = self.keep_from();
        let mut result = Ok(());
        while self.acks.retained_from < keep_from {
            let num = self.acks.retained_from;
            self.acks.retained_from += 1;
            let path = self.data_file(num);
            if self.acks.bad.remove(&num) {
                let renamed = bad_file_name(&path);
                warn!(
                    "DISKQUEUE({}) saving bad file as {}",
                    self.name,
                    renamed.display()
                );
                match std::fs::rename(&path, &renamed) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        debug!("DISKQUEUE({}) {} already gone", self.name, path.display());
                    }
                    Err(e) => {
                        error!(
                            "DISKQUEUE({}) failed to rename bad diskqueue file {} to {} - {}",
                            self.name,
                            path.display(),
                            renamed.display(),
                            e
                        );
                        result = Err(DiskQueueError::io("rename", path, e));
                    }
                }
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    debug!("DISKQUEUE({}) {} already gone", self.name, path.display());
                }
                Err(e) => {
                    error!(
                        "DISKQUEUE({}) failed to Remove({}) - {}",
                        self.name,
                        path.display(),
                        e
                    );
                    result = Err(DiskQueueError::io("remove", path, e));
                }
            }
        }
        result
    }

    /// Forgets every unacknowledged record (their tokens become no-ops), as `empty` does.
    pub(crate) fn forget_unacked(&mut self) {
        if !self.acks.records.is_empty() {
            self.acks.records.clear();
            self.acks.floor_moved = true;
        }
    }

    /// Number of unacknowledged records.
    pub(crate) fn unacked(&self) -> usize {
        self.acks.len()
    }
}
