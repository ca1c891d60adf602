//! What sits behind a topic's or channel's memory queue when it is full.
//!
//! * `Disk`: a go-diskqueue compatible file queue (non-ephemeral topics and channels).
//! * `Discard`: ephemeral topics/channels: overflow is dropped, as in the reference.
//! * `Bounded`: no secondary storage (only when a disk queue could not be opened): overflow
//!   is refused, so a publisher gets `E_PUB_FAILED` instead of a silent loss.
//!
//! Every disk write updates the daemon's [`Health`], like the reference.

use std::path::Path;
use std::sync::Arc;

use bytes::BytesMut;
pub use nsq_diskqueue::AckToken;
use nsq_diskqueue::{DiskQueue, DiskQueueConfig};
use nsq_protocol::message::MESSAGE_HEADER_LEN;
use nsq_protocol::{Message, MessageId};

use crate::deferred_index::DeferredIndex;
use crate::health::Health;
use crate::options::Options;

/// Error from a backend write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// Memory is full and there is nowhere else to put the message.
    #[error("queue full")]
    Full,
    /// The disk write failed.
    #[error("{0}")]
    Io(String),
}

/// The overflow store of one queue.
#[derive(Debug)]
pub enum Backend {
    /// Drop overflow silently (ephemeral).
    Discard,
    /// Refuse overflow.
    Bounded,
    /// Spill to a disk queue.
    Disk(Box<DiskBackend>),
}

/// A disk queue plus what writing to it needs.
#[derive(Debug)]
pub struct DiskBackend {
    /// The queue.
    queue: DiskQueue,
    /// Daemon health, updated on every write.
    health: Arc<Health>,
    /// Reused encoding buffer.
    scratch: BytesMut,
    /// Due times of deferred messages stored in this queue.
    index: DeferredIndex,
}

/// Messages encoded and written per disk-queue batch write.
const WRITE_CHUNK: usize = 4096;

/// The disk-queue settings derived from the options (§6.2 of the spec).
pub fn disk_config(opts: &Options) -> DiskQueueConfig {
    DiskQueueConfig {
        max_bytes_per_file: opts.max_bytes_per_file,
        min_msg_size: MESSAGE_HEADER_LEN as i32,
        max_msg_size: (opts.max_msg_size + MESSAGE_HEADER_LEN as i64).min(i64::from(i32::MAX))
            as i32,
        sync_every: opts.sync_every,
        sync_timeout: opts.sync_timeout,
    }
}

impl Backend {
    /// Opens the disk queue `name` in `dir`; on failure logs, marks the daemon unhealthy and
    /// falls back to [`Backend::Bounded`] so nothing is silently lost.
    pub fn open_disk(name: &str, dir: &Path, opts: &Options, health: &Arc<Health>) -> Backend {
        match DiskQueue::open(name, dir, disk_config(opts)) {
            Ok(queue) => Backend::Disk(Box::new(DiskBackend {
                queue,
                health: Arc::clone(health),
                scratch: BytesMut::new(),
                index: DeferredIndex::load(name, dir),
            })),
            Err(e) => {
                tracing::error!("DISKQUEUE({name}): failed to open - {e}");
                health.fail(e.to_string());
                Backend::Bounded
            }
        }
    }

    /// True iff a write of `n` overflowing messages can succeed (without doing it).
    pub fn accepts(&self, n: usize) -> bool {
        match self {
            Backend::Discard | Backend::Disk(_) => true,
            Backend::Bounded => n == 0,
        }
    }

    /// True iff nothing is stored (drives FIFO ordering: once something spilled, new
    /// messages spill behind it).
    pub fn is_empty(&self) -> bool {
        match self {
            Backend::Disk(d) => d.queue.is_empty(),
            _ => true,
        }
    }

    /// Stores overflowing messages in order, all or an error.
    pub fn put_batch(&mut self, msgs: &[Message]) -> Result<(), BackendError> {
        self.put_batch_due(msgs, &[])
    }

    /// Stores messages in order and remembers the due times (unix ns) of the deferred ones
    /// among them, so they stay deferred when read back (see [`DeferredIndex`]).
    pub fn put_batch_due(
        &mut self,
        msgs: &[Message],
        dues: &[(MessageId, i64)],
    ) -> Result<(), BackendError> {
        if msgs.is_empty() {
            return Ok(());
        }
        match self {
            Backend::Discard => Ok(()),
            Backend::Bounded => Err(BackendError::Full),
            Backend::Disk(d) => {
                let DiskBackend {
                    queue,
                    health,
                    scratch,
                    index,
                } = &mut **d;
                // Encode and write in bounded chunks: a shutdown flush of a million queued
                // messages must not build one buffer of every payload (it peaked at 2.3x
                // the steady-state heap).
                let mut ends = Vec::new();
                for chunk in msgs.chunks(WRITE_CHUNK) {
                    scratch.clear();
                    ends.clear();
                    for m in chunk {
                        m.encode_payload(scratch);
                        ends.push(scratch.len());
                    }
                    let mut start = 0;
                    let slices: Vec<&[u8]> = ends
                        .iter()
                        .map(|&end| {
                            let s = &scratch[start..end];
                            start = end;
                            s
                        })
                        .collect();
                    if let Err(e) = queue.put_batch(&slices) {
                        tracing::error!("DISKQUEUE({}): write failed - {e}", queue.name());
                        health.fail(e.to_string());
                        return Err(BackendError::Io(e.to_string()));
                    }
                }
                if scratch.capacity() > 4 * 1024 * 1024 {
                    *scratch = BytesMut::new();
                }
                health.ok();
                index.record(dues);
                Ok(())
            }
        }
    }

    /// Stores one overflowing message.
    pub fn put(&mut self, m: &Message) -> Result<(), BackendError> {
        self.put_batch(std::slice::from_ref(m))
    }

    /// Takes the oldest stored message with its due time (unix ns) if it was stored
    /// deferred. The record stays unacknowledged in the disk queue until
    /// [`Backend::ack`]: the queue's persisted read position never passes it, so after a
    /// crash it is read again (at-least-once). Undecodable records are acknowledged and
    /// skipped.
    pub fn pop_due_unacked(&mut self) -> Option<(Message, Option<i64>, AckToken)> {
        let Backend::Disk(d) = self else {
            return None;
        };
        loop {
            let (payload, token) = d.queue.pop_unacked()?;
            match Message::decode(payload) {
                Ok(m) => {
                    let due = d.index.take(&m.id);
                    return Some((m, due, token));
                }
                Err(e) => {
                    d.queue.ack(token);
                    tracing::error!(
                        "DISKQUEUE({}): failed to decode message - {e}",
                        d.queue.name()
                    );
                }
            }
        }
    }

    /// Acknowledges a record taken with [`Backend::pop_due_unacked`]: it is now finished or
    /// stored durably elsewhere.
    pub fn ack(&self, token: AckToken) {
        if let Backend::Disk(d) = self {
            d.queue.ack(token);
        }
    }

    /// Messages stored.
    pub fn depth(&self) -> i64 {
        match self {
            Backend::Disk(d) => d.queue.depth(),
            _ => 0,
        }
    }

    /// Drops everything stored.
    pub fn empty(&mut self) -> Result<(), BackendError> {
        match self {
            Backend::Disk(d) => {
                d.index.clear();
                d.queue.empty().map_err(|e| BackendError::Io(e.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// Time-based fsync (called periodically by the daemon).
    pub fn tick(&self) {
        if let Backend::Disk(d) = self {
            let queue = &d.queue;
            if let Err(e) = queue.tick() {
                tracing::error!("DISKQUEUE({}): sync failed - {e}", queue.name());
            }
        }
    }

    /// Syncs and closes (graceful shutdown).
    pub fn close(&self) {
        if let Backend::Disk(d) = self {
            d.index.compact();
            if let Err(e) = d.queue.close() {
                tracing::error!("DISKQUEUE({}): close failed - {e}", d.queue.name());
            }
        }
    }

    /// Empties and removes the queue's files (topic/channel deletion).
    pub fn delete(&mut self) {
        if let Backend::Disk(d) = self {
            d.index.clear();
            let queue = &d.queue;
            if let Err(e) = queue.empty() {
                tracing::error!("DISKQUEUE({}): empty failed - {e}", queue.name());
            }
            if let Err(e) = queue.delete() {
                tracing::error!("DISKQUEUE({}): delete failed - {e}", queue.name());
            }
        }
    }
}
