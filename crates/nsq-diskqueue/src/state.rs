//! The queue's state machine: positions, open files, sync bookkeeping, and the
//! operations that touch both ends of the queue (startup, sync, tail check, empty, close).
//!
//! The read path lives in `read.rs` and the write path in `write.rs`; both are further
//! `impl State` blocks. Everything here runs under the [`DiskQueue`](crate::DiskQueue)
//! mutex, so no method needs to think about concurrency.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tracing::{error, info, warn};

use crate::ack::Acks;
use crate::config::DiskQueueConfig;
use crate::error::DiskQueueError;
use crate::files::{data_file_name, meta_file_name, persist_meta, Meta};

/// The data file currently being read, with a read-ahead buffer that survives across pops.
pub(crate) struct ReadFile {
    pub(crate) reader: BufReader<File>,
    pub(crate) path: PathBuf,
}

/// The data file currently being appended to.
pub(crate) struct WriteFile {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
}

/// All mutable state of one queue.
///
/// Invariants between public calls: `wbuf` is empty (every put flushes it to the kernel
/// before returning); `depth` counts records put and not yet popped (reset to 0 by the
/// tail check when the reader reaches the writer); the reader, when open, is positioned
/// exactly at `read_pos` of file `read_file_num`; the writer, when open, at `write_pos` of
/// file `write_file_num`; `read_*` is the in-memory read position, which only the oldest
/// unacknowledged record (see `ack.rs`) may hold back in the persisted metadata.
pub(crate) struct State {
    pub(crate) name: String,
    pub(crate) data_path: PathBuf,
    pub(crate) meta_path: PathBuf,
    pub(crate) cfg: DiskQueueConfig,

    pub(crate) depth: i64,
    pub(crate) read_file_num: i64,
    pub(crate) read_pos: i64,
    pub(crate) write_file_num: i64,
    pub(crate) write_pos: i64,

    /// Where the reader moves on to the next file: the actual size of a completed file,
    /// the write position at which the writer rolled away from the file being read, or
    /// `max_bytes_per_file` while the reader is on the write file.
    pub(crate) max_bytes_per_file_read: i64,
    pub(crate) reader: Option<ReadFile>,
    pub(crate) writer: Option<WriteFile>,

    /// Records appended but not yet handed to the kernel (only non-empty inside a put).
    pub(crate) wbuf: Vec<u8>,
    pub(crate) wbuf_records: i64,
    /// `write_pos` before the first record in `wbuf`, restored if the write fails.
    pub(crate) wbuf_start_pos: i64,
    /// Monotonic count of records handed to the kernel; lets a batch count its successes.
    pub(crate) records_flushed: u64,
    /// A write to this file number failed part-way; cut it back to `write_pos` on reopen.
    pub(crate) truncate_file: Option<i64>,

    /// Reads and writes since the last sync.
    pub(crate) ops_since_sync: i64,
    /// A sync is due before the current call returns (file change, read error, ...).
    pub(crate) need_sync: bool,
    pub(crate) last_sync: Instant,
    pub(crate) closed: bool,

    /// Popped records not yet acknowledged, and the fully read files kept for them.
    pub(crate) acks: Acks,
}

impl State {
    /// Builds the state of queue `name`, resuming from its metadata file if there is one.
    pub(crate) fn open(
        name: &str,
        data_path: &Path,
        cfg: DiskQueueConfig,
    ) -> Result<State, DiskQueueError> {
        let meta_path = meta_file_name(data_path, name);
        let mut st = State {
            name: name.to_owned(),
            data_path: data_path.to_owned(),
            meta_path,
            max_bytes_per_file_read: cfg.max_bytes_per_file,
            cfg,
            depth: 0,
            read_file_num: 0,
            read_pos: 0,
            write_file_num: 0,
            write_pos: 0,
            reader: None,
            writer: None,
            wbuf: Vec::new(),
            wbuf_records: 0,
            wbuf_start_pos: 0,
            records_flushed: 0,
            truncate_file: None,
            ops_since_sync: 0,
            need_sync: false,
            last_sync: Instant::now(),
            closed: false,
            acks: Acks::new(0),
        };
        let text = match std::fs::read(&st.meta_path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // No metadata yet: either a new queue, or one that crashed before its first
                // sync (go-diskqueue would start over file 0 and lose those records).
                // Salvage file 0 if it holds records, and record the metadata at once so a
                // later crash finds it too.
                if st.salvage_unsynced_writes() {
                    if let Err(e) = persist_meta(&st.meta_path, &st.meta()) {
                        error!("DISKQUEUE({}) failed to persist metadata - {e}", st.name);
                    }
                }
                return Ok(st);
            }
            Err(e) => return Err(DiskQueueError::io("read", &st.meta_path, e)),
        };
        let Some(meta) = std::str::from_utf8(&text).ok().and_then(Meta::parse) else {
            error!(
                "DISKQUEUE({}) failed to retrieveMetaData - {} is not valid metadata, starting empty",
                st.name,
                st.meta_path.display()
            );
            return Ok(st);
        };
        st.depth = meta.depth;
        st.read_file_num = meta.read_file_num;
        st.read_pos = meta.read_pos;
        st.write_file_num = meta.write_file_num;
        st.write_pos = meta.write_pos;
        st.acks.retained_from = meta.read_file_num;
        st.salvage_unsynced_writes();
        st.check_tail_corruption();
        Ok(st)
    }

    /// If the write file is longer than the recorded write position, the metadata was not
    /// synced after the last writes: keep that file for the reader (which reads complete
    /// files to their actual end) and continue writing in a fresh file. The salvaged
    /// records are added to the depth. Returns true iff something was salvaged.
    fn salvage_unsynced_writes(&mut self) -> bool {
        let path = self.data_file(self.write_file_num);
        match std::fs::metadata(&path) {
            Ok(md) => {
                let size = i64::try_from(md.len()).unwrap_or(i64::MAX);
                if self.write_pos < size {
                    self.depth += self.count_records(&path, self.write_pos);
                    warn!(
                        "DISKQUEUE({}) {} metadata writePos {} < file size of {}, skipping to new file",
                        self.name,
                        path.display(),
                        self.write_pos,
                        size
                    );
                    self.write_file_num += 1;
                    self.write_pos = 0;
                    return true;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => error!(
                "DISKQUEUE({}) failed to stat {} - {}",
                self.name,
                path.display(),
                e
            ),
        }
        false
    }

    /// Number of complete, well-sized records in `path` from byte `from` on (a torn or
    /// corrupt tail ends the count; the reader sets such a file aside when it gets there).
    fn count_records(&self, path: &Path, from: i64) -> i64 {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut f) = std::fs::File::open(path) else {
            return 0;
        };
        let Ok(len) = f.metadata().map(|m| m.len() as i64) else {
            return 0;
        };
        let mut pos = from;
        let mut n = 0;
        let mut head = [0u8; 4];
        while pos + 4 <= len {
            if f.seek(SeekFrom::Start(pos as u64)).is_err() || f.read_exact(&mut head).is_err() {
                break;
            }
            let size = i32::from_be_bytes(head);
            if size < self.cfg.min_msg_size
                || size > self.cfg.max_msg_size
                || pos + 4 + i64::from(size) > len
            {
                break;
            }
            pos += 4 + i64::from(size);
            n += 1;
        }
        n
    }

    /// Path of data file `num` of this queue.
    pub(crate) fn data_file(&self, num: i64) -> PathBuf {
        data_file_name(&self.data_path, &self.name, num)
    }

    /// The persisted view of the current state: the read position is the oldest
    /// unacknowledged record's, if any, and the depth counts the records from there to the
    /// write position (what a reader resuming from this metadata will count down to 0).
    pub(crate) fn meta(&self) -> Meta {
        let (read_file_num, read_pos, popped_since_floor) = match self.acks.floor() {
            Some((floor, behind)) => (floor.file_num, floor.pos, behind),
            None => (self.read_file_num, self.read_pos, 0),
        };
        Meta {
            depth: self.depth.saturating_add(popped_since_floor),
            read_file_num,
            read_pos,
            write_file_num: self.write_file_num,
            write_pos: self.write_pos,
        }
    }

    /// True when a record lies between the read and the write position.
    pub(crate) fn has_unread(&self) -> bool {
        self.read_file_num < self.write_file_num || self.read_pos < self.write_pos
    }

    /// Hands buffered writes to the kernel, fsyncs the open write file and atomically
    /// replaces the metadata file. Resets the operation counter and the sync clock. Then
    /// deletes the fully read data files nothing needs any more (see `ack.rs`): after the
    /// metadata that no longer points into them has been written, or, if the sync failed,
    /// anyway (go-diskqueue deletes them before syncing; keeping them would let a full disk
    /// stay full).
    pub(crate) fn sync(&mut self) -> Result<(), DiskQueueError> {
        let result = self.persist();
        // Failures are logged one by one inside; they do not fail the sync.
        let _ = self.release_files();
        result
    }

    fn persist(&mut self) -> Result<(), DiskQueueError> {
        self.flush_writes()?;
        if let Some(w) = &self.writer {
            if let Err(e) = w.file.sync_all() {
                let path = w.path.clone();
                self.writer = None;
                return Err(DiskQueueError::io("fsync", path, e));
            }
        }
        persist_meta(&self.meta_path, &self.meta())?;
        self.acks.floor_moved = false;
        self.need_sync = false;
        self.ops_since_sync = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Called at the end of every operation: syncs when `sync_every` operations have
    /// accumulated or something scheduled a sync. A failed sync is logged and retried at
    /// the next operation or tick (as go-diskqueue's loop does).
    pub(crate) fn after_op(&mut self) {
        if self.ops_since_sync > 0 && self.ops_since_sync >= self.cfg.sync_every {
            self.need_sync = true;
        }
        if self.need_sync {
            if let Err(e) = self.sync() {
                error!("DISKQUEUE({}) failed to sync - {}", self.name, e);
            }
        }
    }

    /// Time-based sync: due when a sync failed earlier or is scheduled (file change, read
    /// error, an acknowledgement that freed data files), or when at
    /// least one operation happened (or an acknowledgement moved the floor) and
    /// `sync_timeout` has passed since the last sync.
    pub(crate) fn tick(&mut self) -> Result<(), DiskQueueError> {
        if self.closed {
            return Ok(());
        }
        let due = (self.ops_since_sync > 0 || self.acks.floor_moved)
            && self.last_sync.elapsed() >= self.cfg.sync_timeout;
        if self.need_sync || due {
            self.sync()?;
        }
        Ok(())
    }

    /// Once the reader has caught up with the writer, the depth must be 0 (it is reset,
    /// with a log line, if not), and a reader found beyond the writer means the positions
    /// are corrupt: both ends move to a fresh file.
    pub(crate) fn check_tail_corruption(&mut self) {
        if self.has_unread() {
            return;
        }
        if self.depth != 0 {
            if self.depth < 0 {
                error!(
                    "DISKQUEUE({}) negative depth at tail ({}), metadata corruption, resetting 0...",
                    self.name, self.depth
                );
            } else {
                error!(
                    "DISKQUEUE({}) positive depth at tail ({}), data loss, resetting 0...",
                    self.name, self.depth
                );
            }
            self.depth = 0;
            self.need_sync = true;
        }
        if self.read_file_num != self.write_file_num || self.read_pos != self.write_pos {
            if self.read_file_num > self.write_file_num {
                error!(
                    "DISKQUEUE({}) readFileNum > writeFileNum ({} > {}), corruption, skipping to next writeFileNum and resetting 0...",
                    self.name, self.read_file_num, self.write_file_num
                );
            }
            if self.read_pos > self.write_pos {
                error!(
                    "DISKQUEUE({}) readPos > writePos ({} > {}), corruption, skipping to next writeFileNum and resetting 0...",
                    self.name, self.read_pos, self.write_pos
                );
            }
            if let Err(e) = self.skip_to_next_rw_file() {
                error!("DISKQUEUE({}) {}", self.name, e);
            }
            self.need_sync = true;
        }
    }

    /// Closes both files and restarts both ends at position 0 of file `write_file_num + 1`
    /// with depth 0; data files up to `write_file_num` are then released (deleted at once
    /// unless an unacknowledged record still needs them, see `ack.rs`). Returns the last
    /// removal error (positions move on regardless).
    pub(crate) fn skip_to_next_rw_file(&mut self) -> Result<(), DiskQueueError> {
        self.reader = None;
        self.writer = None;
        self.discard_write_buffer();
        self.write_file_num += 1;
        self.write_pos = 0;
        self.read_file_num = self.write_file_num;
        self.read_pos = 0;
        self.depth = 0;
        let released = self.release_files();
        // A reader found beyond the writer at startup started retaining from there.
        self.acks.retained_from = self.acks.retained_from.min(self.read_file_num);
        released
    }

    /// Drops unflushed records from the write buffer (and from the depth).
    pub(crate) fn discard_write_buffer(&mut self) {
        if !self.wbuf.is_empty() {
            self.write_pos = self.wbuf_start_pos;
            self.depth -= self.wbuf_records;
        }
        self.wbuf.clear();
        self.wbuf_records = 0;
    }

    /// go-diskqueue's `Empty()`: removes every data file and the metadata file; the queue
    /// continues, empty, in file `write_file_num + 1`. The metadata file is not rewritten
    /// until the next sync (so an `empty` followed by `delete` leaves no file behind).
    pub(crate) fn empty(&mut self) -> Result<(), DiskQueueError> {
        if self.closed {
            return Err(DiskQueueError::Closed);
        }
        info!("DISKQUEUE({}): emptying", self.name);
        self.forget_unacked();
        let files = self.skip_to_next_rw_file();
        self.ops_since_sync = 0;
        match std::fs::remove_file(&self.meta_path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                error!(
                    "DISKQUEUE({}) failed to remove metadata file - {}",
                    self.name, e
                );
                return Err(DiskQueueError::io("remove", &self.meta_path, e));
            }
        }
        files
    }

    /// Syncs (data fsync + metadata) and closes the files; later operations see `Closed`.
    /// A second call does nothing.
    pub(crate) fn close(&mut self) -> Result<(), DiskQueueError> {
        if self.closed {
            return Ok(());
        }
        info!("DISKQUEUE({}): closing", self.name);
        self.closed = true;
        let result = self.sync();
        self.reader = None;
        self.writer = None;
        result
    }

    /// Closes the files without syncing; later operations see `Closed`. A second call (or a
    /// call after `close`) does nothing.
    pub(crate) fn delete(&mut self) {
        if self.closed {
            return;
        }
        info!("DISKQUEUE({}): deleting", self.name);
        self.closed = true;
        self.discard_write_buffer();
        self.reader = None;
        self.writer = None;
    }
}
