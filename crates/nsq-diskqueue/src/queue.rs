//! The public handle: a [`DiskQueue`] is the state machine behind a mutex.
//!
//! There is deliberately no thread or task inside: the owner (an nsqd topic or channel)
//! calls every operation synchronously and drives the time-based sync by calling
//! [`DiskQueue::tick`]. That keeps ordering obvious and lets the owner batch pops and puts
//! under its own lock.

use std::fmt;
use std::path::Path;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::ack::AckToken;
use crate::config::DiskQueueConfig;
use crate::error::DiskQueueError;
use crate::state::State;

/// A FIFO of opaque byte records stored in `<data_path>/<name>.diskqueue.*.dat` files,
/// byte-compatible with nsqio/go-diskqueue v1.1.0 (a Go nsqd's queue files load here and
/// vice versa).
///
/// Invariants: records come out in the order they were put; a record is handed out by
/// [`pop`](Self::pop) or [`pop_unacked`](Self::pop_unacked) at most once per process
/// lifetime (after a crash, records popped since the last sync are handed out again:
/// at-least-once); an acknowledged put has been handed to the kernel (it survives a crash
/// of this process; surviving power loss needs a sync); the persisted read position never
/// passes a record popped with [`pop_unacked`](Self::pop_unacked) and not yet
/// [`ack`](Self::ack)ed, so such a record survives a crash too.
/// All methods take `&self` and serialise on an internal mutex, so the queue is
/// `Send + Sync`; none of them spawns anything. Dropping the queue without
/// [`close`](Self::close) loses no acknowledged put but skips the final metadata sync: the
/// next [`open`](Self::open) then recovers as after a crash. Two instances must not open the
/// same queue at once (nsqd guards its data path with a lock).
pub struct DiskQueue {
    state: Mutex<State>,
}

impl DiskQueue {
    /// Opens queue `name` in the existing directory `data_path`, resuming from
    /// `<name>.diskqueue.meta.dat` if present; without it the queue starts empty at file 0.
    ///
    /// Startup rules as go-diskqueue: if the write file on disk is longer than the recorded
    /// write position (writes after the last sync), writing resumes in the next file while
    /// the reader still reads the old file to its actual end. An unparsable metadata file is
    /// logged and ignored (the queue starts empty); a metadata file that exists but cannot
    /// be read is an error. Opens no data file yet.
    pub fn open(
        name: &str,
        data_path: &Path,
        cfg: DiskQueueConfig,
    ) -> Result<DiskQueue, DiskQueueError> {
        Ok(DiskQueue {
            state: Mutex::new(State::open(name, data_path, cfg)?),
        })
    }

    /// The queue's name, as given to [`open`](Self::open).
    pub fn name(&self) -> String {
        self.state.lock().name.clone()
    }

    /// Appends one record. Fails with [`DiskQueueError::InvalidWriteSize`] (nothing
    /// written) if `payload.len()` is outside `[min_msg_size, max_msg_size]`, with
    /// [`DiskQueueError::Closed`] after close/delete, or with an IO error (nothing written,
    /// depth unchanged). On success the record is in the kernel's page cache (one `write`
    /// syscall, no fsync) and counted in the depth. Counts as one operation for `sync_every`.
    pub fn put(&self, payload: &[u8]) -> Result<(), DiskQueueError> {
        self.state.lock().put(payload)
    }

    /// Appends records in order with as few `write` syscalls as possible (one per data file
    /// touched, and one per MiB buffered). Returns `payloads.len()` on success. On failure
    /// the leading records before the failing one may have been written; the error then is
    /// [`DiskQueueError::PartialBatch`] carrying that count (see
    /// [`DiskQueueError::records_written`]), or the plain cause if none was written. Each
    /// record counts as one operation for `sync_every`; the resulting sync happens once, at
    /// the end of the batch.
    pub fn put_batch(&self, payloads: &[&[u8]]) -> Result<usize, DiskQueueError> {
        self.state.lock().put_batch(payloads)
    }

    /// Removes and returns the oldest record's payload, or `None` if there is none (or the
    /// queue is closed). The read position is committed at once (and persisted at the next
    /// sync). Fully read data files are deleted (by the sync that leaving a file triggers,
    /// within the same call), unless an unacknowledged record still needs them. A corrupt or truncated record makes the
    /// rest of its file unreadable: the file is renamed to `<file>.bad`, the problem is
    /// logged, and reading continues with the next file (those records are lost, the depth
    /// is corrected when the reader reaches the writer).
    pub fn pop(&self) -> Option<Bytes> {
        self.state.lock().pop()
    }

    /// Pops up to `max` records into `out` under one lock acquisition; returns how many.
    /// Equivalent to calling [`pop`](Self::pop) that many times.
    pub fn pop_batch(&self, max: usize, out: &mut Vec<Bytes>) -> usize {
        self.state.lock().pop_batch(max, out)
    }

    /// Like [`pop`](Self::pop), but the record stays unacknowledged until
    /// [`ack`](Self::ack) is called with the returned token. Until then, the metadata
    /// written by every sync (and by [`close`](Self::close)) records a read position no
    /// later than the oldest unacknowledged record, with as depth the number of records
    /// from there to the write position (so go-diskqueue v1.1.0 loads it without reporting
    /// corruption), and data files are not deleted while they hold an unacknowledged record
    /// or lie after one. After a crash, reading resumes there: the unacknowledged records,
    /// and any acknowledged after the oldest of them, are handed out again (at-least-once).
    /// The in-memory read position moves on as with `pop`: [`depth`](Self::depth) and
    /// [`is_empty`](Self::is_empty) only count records not yet popped. Costs one
    /// O(log n) map insert over `pop`, n being [`unacked`](Self::unacked).
    pub fn pop_unacked(&self) -> Option<(Bytes, AckToken)> {
        self.state.lock().pop_unacked()
    }

    /// Pops up to `max` records into `out`, each unacknowledged, under one lock
    /// acquisition; returns how many. Equivalent to calling
    /// [`pop_unacked`](Self::pop_unacked) that many times.
    pub fn pop_batch_unacked(&self, max: usize, out: &mut Vec<(Bytes, AckToken)>) -> usize {
        self.state.lock().pop_batch_unacked(max, out)
    }

    /// Acknowledges a record popped with [`pop_unacked`](Self::pop_unacked): the persisted
    /// read position may now pass it (at the next sync; an acknowledgement is not an
    /// operation for `sync_every`, but a moved floor makes [`tick`](Self::tick) sync once
    /// `sync_timeout` has elapsed). Acknowledgements may come in any order. When the oldest
    /// unacknowledged record is acknowledged and the floor leaves a data file, a sync is
    /// scheduled for the next operation or tick; it writes the new floor, then deletes the
    /// fully read files no longer needed (or renames them to `.bad` if a read error was met
    /// in them). Nothing is written or deleted by `ack` itself. Acknowledging twice, a token from before
    /// [`empty`](Self::empty), a token of another queue (or instance), or anything after
    /// close/delete does nothing. O(log n).
    pub fn ack(&self, token: AckToken) {
        self.state.lock().ack(token);
    }

    /// Number of records popped with [`pop_unacked`](Self::pop_unacked) and not yet
    /// acknowledged (0 after [`empty`](Self::empty)). Still answers after close.
    pub fn unacked(&self) -> usize {
        self.state.lock().unacked()
    }

    /// Records put and not yet popped, as go-diskqueue counts them (persisted in the
    /// metadata; reset to 0 when the reader reaches the writer). Still answers after close.
    pub fn depth(&self) -> i64 {
        self.state.lock().depth
    }

    /// True when [`pop`](Self::pop) has nothing to read: the read position has reached the
    /// write position. (Decided by positions, not by [`depth`](Self::depth), which can be
    /// off after corruption until the reader reaches the writer.) True after close.
    pub fn is_empty(&self) -> bool {
        let st = self.state.lock();
        st.closed || !st.has_unread()
    }

    /// go-diskqueue's `Empty()`: deletes data files `read_file_num..=write_file_num` (and
    /// fully read files still kept for unacknowledged records) and the metadata file; the
    /// queue continues empty at position 0 of file `write_file_num + 1`. Unacknowledged
    /// records are forgotten: their tokens become no-ops.
    /// The metadata is rewritten only at the next sync. Fails with `Closed` after
    /// close/delete, or with the last file removal error (the positions move on anyway).
    pub fn empty(&self) -> Result<(), DiskQueueError> {
        self.state.lock().empty()
    }

    /// Syncs (write file fsync + metadata) and closes the files. Afterwards puts and
    /// `empty` fail with [`DiskQueueError::Closed`], pops return `None` and acks do
    /// nothing. Records still unacknowledged stay pinned: the metadata records the oldest
    /// one as read position, and the next [`open`](Self::open) hands them out again.
    /// Calling it again does nothing. Returns the sync's error, if any (the queue is closed
    /// regardless).
    pub fn close(&self) -> Result<(), DiskQueueError> {
        self.state.lock().close()
    }

    /// Closes the files without syncing (the owner calls [`empty`](Self::empty) first, so
    /// no file remains). Afterwards the queue behaves as after [`close`](Self::close).
    pub fn delete(&self) -> Result<(), DiskQueueError> {
        self.state.lock().delete();
        Ok(())
    }

    /// Fsyncs the current write file and atomically replaces the metadata file (temporary
    /// `<meta>.<random int>.tmp`, fsync, rename). Resets the `sync_every` counter and the
    /// `sync_timeout` clock. Fails with `Closed` after close/delete.
    pub fn sync(&self) -> Result<(), DiskQueueError> {
        let mut st = self.state.lock();
        if st.closed {
            return Err(DiskQueueError::Closed);
        }
        st.sync()
    }

    /// Time-based sync, to be called by the owner about every `sync_timeout / 4`: syncs if
    /// at least one operation happened and `sync_timeout` has elapsed since the last sync,
    /// or if an earlier automatic sync failed. Does nothing after close/delete.
    pub fn tick(&self) -> Result<(), DiskQueueError> {
        self.state.lock().tick()
    }
}

impl fmt::Debug for DiskQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock();
        f.debug_struct("DiskQueue")
            .field("name", &st.name)
            .field("meta", &st.meta())
            .field("unacked", &st.unacked())
            .field("closed", &st.closed)
            .finish()
    }
}

#[cfg(test)]
mod tests;
