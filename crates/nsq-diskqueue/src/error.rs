//! Errors returned by the disk queue.
//!
//! Their `Display` texts are meant to be sent to a publisher after
//! `E_PUB_FAILED PUB failed `, so they follow go-diskqueue's wording where it has one.

use std::io;
use std::path::PathBuf;

/// Everything a [`DiskQueue`](crate::DiskQueue) operation can fail with.
///
/// Invariant: a returned error never leaves the in-memory positions ahead of what is on
/// disk; a failed write is not counted in the depth.
#[derive(Debug, thiserror::Error)]
pub enum DiskQueueError {
    /// The queue was closed or deleted; go-diskqueue says "exiting".
    #[error("exiting")]
    Closed,
    /// A payload length outside `[min_msg_size, max_msg_size]` was offered to a put.
    #[error("invalid message write size ({size}) minMsgSize={min} maxMsgSize={max}")]
    InvalidWriteSize {
        /// Length of the rejected payload.
        size: i64,
        /// The configured minimum.
        min: i32,
        /// The configured maximum.
        max: i32,
    },
    /// A record header announced a payload length outside `[min_msg_size, max_msg_size]`:
    /// the data file is corrupt from there on. Only seen in logs (the queue recovers by
    /// moving the file aside), never returned by a public method.
    #[error("invalid message read size ({size})")]
    InvalidReadSize {
        /// The length found in the header.
        size: i32,
    },
    /// A filesystem operation `op` on `path` failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done: "open", "write", "fsync", "rename", "remove", ...
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A [`put_batch`](crate::DiskQueue::put_batch) stopped after `written` records had been
    /// written; `source` is why. Displays as `source` alone.
    #[error("{source}")]
    PartialBatch {
        /// How many leading records of the batch were written (and are in the depth).
        written: usize,
        /// The error that stopped the batch.
        source: Box<DiskQueueError>,
    },
}

impl DiskQueueError {
    /// How many records of a batch were written before this error: the `written` of a
    /// [`DiskQueueError::PartialBatch`], 0 for every other variant.
    pub fn records_written(&self) -> usize {
        match self {
            DiskQueueError::PartialBatch { written, .. } => *written,
            _ => 0,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        DiskQueueError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
