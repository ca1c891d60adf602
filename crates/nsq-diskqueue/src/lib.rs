//! A file-backed FIFO of opaque byte records, byte-compatible with nsqio/go-diskqueue
//! v1.1.0, for nsqd's topic and channel backlogs.
//!
//! Why a crate of its own: the on-disk format is a compatibility contract (a Go nsqd's
//! `--data-path` must load in ours and vice versa), so it is kept apart from the engine,
//! knows nothing about NSQ messages, and is tested directly against the Go implementation
//! (`tests/go_compat.rs`, driving `tests/diskqueue-compat/` at the workspace root).
//!
//! Layout on disk (all files mode 0600 in the data path):
//! * `<name>.diskqueue.%06d.dat`: data files, a sequence of records
//!   `[i32 big-endian payload length][payload]`, rolled before a record would make the
//!   file exceed `max_bytes_per_file`;
//! * `<name>.diskqueue.meta.dat`: `"%d\n%d,%d\n%d,%d\n"` = depth, read file number and
//!   position, write file number and position; replaced atomically on every sync;
//! * `<file>.bad`: a data file found corrupt, set aside.
//!
//! Unlike go-diskqueue there is no background goroutine: the owner calls every method
//! synchronously and calls [`DiskQueue::tick`] periodically for the time-based sync.
//!
//! Beyond go-diskqueue, records can be taken with [`DiskQueue::pop_unacked`] and confirmed
//! later with [`DiskQueue::ack`]: until then the persisted read position stays at the
//! oldest unconfirmed record, so a record held only in memory (an nsqd message in flight)
//! survives a crash. The metadata keeps go-diskqueue's format and meaning (a Go nsqd
//! simply resumes at that record).
//!
//! ```
//! use std::time::Duration;
//! use nsq_diskqueue::{DiskQueue, DiskQueueConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let cfg = DiskQueueConfig {
//!     max_bytes_per_file: 100 * 1024 * 1024,
//!     min_msg_size: 1,
//!     max_msg_size: 1024 * 1024,
//!     sync_every: 2500,
//!     sync_timeout: Duration::from_secs(2),
//! };
//! let q = DiskQueue::open("topic", dir.path(), cfg.clone())?;
//! q.put(b"first")?;
//! q.put_batch(&[b"second", b"third"])?;
//! assert_eq!(q.pop().as_deref(), Some(&b"first"[..]));
//! q.close()?; // fsync + metadata
//!
//! let q = DiskQueue::open("topic", dir.path(), cfg)?;
//! assert_eq!(q.depth(), 2);
//! assert_eq!(q.pop().as_deref(), Some(&b"second"[..]));
//!
//! // Crash-safe consumption: "third" stays pinned on disk until acknowledged.
//! let (payload, token) = q.pop_unacked().ok_or("empty")?;
//! assert_eq!(&payload[..], b"third");
//! assert_eq!(q.unacked(), 1);
//! q.ack(token);
//! assert_eq!(q.unacked(), 0);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod ack;
mod config;
mod error;
mod files;
mod queue;
mod read;
mod state;
mod write;

pub use ack::AckToken;
pub use config::DiskQueueConfig;
pub use error::DiskQueueError;
pub use queue::DiskQueue;
