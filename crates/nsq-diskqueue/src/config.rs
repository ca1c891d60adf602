//! Tuning knobs of one queue, fixed for the queue's lifetime.
//!
//! They mirror go-diskqueue's constructor arguments one for one so that the nsqd engine
//! can pass its flags (`--max-bytes-per-file`, `--max-msg-size`, `--sync-every`,
//! `--sync-timeout`) through unchanged.

use std::time::Duration;

/// Parameters of one [`DiskQueue`](crate::DiskQueue).
///
/// Invariant the queue relies on: nothing; every combination is accepted. Nonsensical
/// values only have the effects go-diskqueue would give them (for example a
/// `min_msg_size` above `max_msg_size` makes every put fail, a `sync_every` of 0 or 1
/// syncs after every operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskQueueConfig {
    /// A data file is rolled before a record would make it grow beyond this many bytes
    /// (a record larger than this still goes, alone, into a fresh file).
    pub max_bytes_per_file: i64,
    /// Smallest accepted record payload, in bytes (for writes and reads).
    pub min_msg_size: i32,
    /// Largest accepted record payload, in bytes (for writes and reads).
    pub max_msg_size: i32,
    /// Sync (fsync + metadata) after this many operations; reads and writes both count.
    pub sync_every: i64,
    /// [`DiskQueue::tick`](crate::DiskQueue::tick) syncs when at least one operation
    /// happened and this much time has passed since the last sync.
    pub sync_timeout: Duration,
}
