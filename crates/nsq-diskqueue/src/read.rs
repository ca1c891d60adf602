//! The read path: one record per pop from a buffered reader that stays open across pops,
//! moving on to the next file at the end of a completed file, and recovering from corrupt
//! files by setting them aside as `.bad`.
//!
//! Unlike go-diskqueue there is no read-ahead: a record is read and committed in the same
//! call, which is equivalent for the persisted state (go-diskqueue only commits a
//! read-ahead record when a consumer takes it).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use bytes::Bytes;
use tracing::{debug, error, info, warn};

use crate::ack::{AckToken, RecordPos};
use crate::error::DiskQueueError;
use crate::files::HEADER_LEN;
use crate::state::{ReadFile, State};

/// Read-ahead buffer per open read file. Small enough for thousands of queues, large
/// enough to return many small records per `read` syscall.
const READ_BUF_BYTES: usize = 16 << 10;

/// Outcome of one attempt to read at the current read position.
enum Step {
    /// A record, and the position just after it (possibly the start of the next file).
    Record {
        payload: Bytes,
        next_file_num: i64,
        next_pos: i64,
    },
    /// The reader sits exactly at the end of a completed file.
    EndOfFile,
    /// Buffered writes to the read file could not be flushed; nothing can be read now.
    Unavailable,
}

/// True for an open failing because the process or system ran out of file descriptors
/// (EMFILE/ENFILE, 24/23 on Linux, macOS and the BSDs). go-diskqueue treats that like a
/// corrupt file and sets an intact file aside; we treat it as transient.
fn is_out_of_descriptors(e: &DiskQueueError) -> bool {
    match e {
        DiskQueueError::Io {
            op: "open", source, ..
        } => cfg!(unix) && matches!(source.raw_os_error(), Some(23 | 24)),
        _ => false,
    }
}

impl State {
    /// Takes the next record, or `None` when the queue is drained (or closed).
    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        if self.closed {
            return None;
        }
        let out = self.pop_one().map(|(payload, _, _)| payload);
        self.after_op();
        out
    }

    /// Takes up to `max` records, syncing in between exactly as single pops would.
    pub(crate) fn pop_batch(&mut self, max: usize, out: &mut Vec<Bytes>) -> usize {
        let mut taken = 0;
        while taken < max && !self.closed {
            let Some((payload, _, _)) = self.pop_one() else {
                break;
            };
            out.push(payload);
            taken += 1;
            self.after_op();
        }
        self.after_op();
        taken
    }

    /// One record, where it started, and its pop token, without the trailing sync check.
    /// Every pop is counted in the acknowledgement bookkeeping; the caller decides whether
    /// to keep it unacknowledged. Every iteration of the loop either returns or advances
    /// `read_file_num`, which cannot pass `write_file_num`.
    pub(crate) fn pop_one(&mut self) -> Option<(Bytes, RecordPos, AckToken)> {
        loop {
            if !self.has_unread() {
                return None;
            }
            match self.read_one() {
                Ok(Step::Record {
                    payload,
                    next_file_num,
                    next_pos,
                }) => {
                    let start = RecordPos {
                        file_num: self.read_file_num,
                        pos: self.read_pos,
                    };
                    self.ops_since_sync += 1;
                    let token = self.acks.next_token();
                    self.move_forward(next_file_num, next_pos);
                    return Some((payload, start, token));
                }
                Ok(Step::EndOfFile) => self.finish_read_file(),
                Ok(Step::Unavailable) => return None,
                Err(e) => {
                    error!(
                        "DISKQUEUE({}) reading at {} of {} - {}",
                        self.name,
                        self.read_pos,
                        self.data_file(self.read_file_num).display(),
                        e
                    );
                    self.handle_read_error();
                }
            }
        }
    }

    /// Opens file `read_file_num` at `read_pos` and decides where this file ends.
    fn open_reader(&mut self) -> Result<ReadFile, DiskQueueError> {
        let path = self.data_file(self.read_file_num);
        let mut file = File::open(&path).map_err(|e| DiskQueueError::io("open", &path, e))?;
        info!(
            "DISKQUEUE({}): readOne() opened {}",
            self.name,
            path.display()
        );
        if self.read_pos != 0 {
            let pos = u64::try_from(self.read_pos).map_err(|_| {
                DiskQueueError::io(
                    "seek",
                    &path,
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "negative read position"),
                )
            })?;
            file.seek(SeekFrom::Start(pos))
                .map_err(|e| DiskQueueError::io("seek", &path, e))?;
        }
        // A completed file ends at its actual size, whatever max_bytes_per_file was when it
        // was written; the write file ends where the writer will roll (updated on roll).
        self.max_bytes_per_file_read = self.cfg.max_bytes_per_file;
        if self.read_file_num < self.write_file_num {
            if let Ok(md) = file.metadata() {
                self.max_bytes_per_file_read = i64::try_from(md.len()).unwrap_or(i64::MAX);
            }
        }
        Ok(ReadFile {
            reader: BufReader::with_capacity(READ_BUF_BYTES, file),
            path,
        })
    }

    /// Reads the record at the read position without committing it.
    fn read_one(&mut self) -> Result<Step, DiskQueueError> {
        if self.read_file_num == self.write_file_num && !self.wbuf.is_empty() {
            // The record may still sit in our write buffer: make it visible to the reader.
            if let Err(e) = self.flush_writes() {
                error!("DISKQUEUE({}) failed to flush writes - {}", self.name, e);
                return Ok(Step::Unavailable);
            }
            if !self.has_unread() {
                return Ok(Step::Unavailable);
            }
        }
        if self.reader.is_none() {
            match self.open_reader() {
                Ok(reader) => self.reader = Some(reader),
                Err(e) if is_out_of_descriptors(&e) => {
                    // Not the file's fault: keep its records and retry at the next pop.
                    warn!("DISKQUEUE({}) cannot open read file now - {}", self.name, e);
                    return Ok(Step::Unavailable);
                }
                Err(e) => return Err(e),
            }
        }
        let completed = self.read_file_num < self.write_file_num;
        if completed && self.read_pos == self.max_bytes_per_file_read {
            return Ok(Step::EndOfFile);
        }
        let Some(rf) = self.reader.as_mut() else {
            return Ok(Step::Unavailable);
        };
        let mut header = [0u8; 4];
        if let Err(e) = rf.reader.read_exact(&mut header) {
            let err = DiskQueueError::io("read", &rf.path, e);
            self.reader = None;
            return Err(err);
        }
        let size = i32::from_be_bytes(header);
        let len = match usize::try_from(size) {
            Ok(len) if size >= self.cfg.min_msg_size && size <= self.cfg.max_msg_size => len,
            _ => {
                // No way to know where the next record starts: the rest of the file is lost.
                self.reader = None;
                return Err(DiskQueueError::InvalidReadSize { size });
            }
        };
        let mut payload = vec![0u8; len];
        if let Err(e) = rf.reader.read_exact(&mut payload) {
            let err = DiskQueueError::io("read", &rf.path, e);
            self.reader = None;
            return Err(err);
        }
        let mut next_file_num = self.read_file_num;
        let mut next_pos = self.read_pos + HEADER_LEN + i64::from(size);
        if completed && next_pos >= self.max_bytes_per_file_read {
            self.reader = None;
            next_file_num += 1;
            next_pos = 0;
        }
        Ok(Step::Record {
            payload: Bytes::from(payload),
            next_file_num,
            next_pos,
        })
    }

    /// Commits a record read at the read position.
    fn move_forward(&mut self, next_file_num: i64, next_pos: i64) {
        let old = self.read_file_num;
        self.read_file_num = next_file_num;
        self.read_pos = next_pos;
        self.depth -= 1;
        if old != next_file_num {
            // The sync releases (deletes) the file once the metadata has left it.
            self.need_sync = true;
        }
        self.check_tail_corruption();
    }

    /// The reader sits at the end of a completed file without having noticed it when it
    /// read the last record (the writer rolled after that read): move on to the next file.
    /// go-diskqueue v1.1.0 treats this as a read error and renames the intact, fully read
    /// file to `.bad` (nsqio/go-diskqueue#42); we delete it like any fully read file (at
    /// the sync this schedules).
    fn finish_read_file(&mut self) {
        let old = self.read_file_num;
        debug!(
            "DISKQUEUE({}) reached the end of {}",
            self.name,
            self.data_file(old).display()
        );
        self.reader = None;
        self.read_file_num += 1;
        self.read_pos = 0;
        self.need_sync = true;
        self.check_tail_corruption();
    }

    /// The read file is unreadable from the read position on: set it aside as `.bad` and
    /// continue with the next file. If it is also the write file, the writer moves on too.
    /// The rename happens at the sync this schedules, and not before the floor has left
    /// the file: while an unacknowledged record from it (or an earlier file) is
    /// outstanding, the file stays in place, so that a reader resuming from the persisted
    /// floor after a crash still finds those records.
    fn handle_read_error(&mut self) {
        self.reader = None;
        if self.read_file_num == self.write_file_num {
            self.discard_write_buffer();
            self.writer = None;
            self.write_file_num += 1;
            self.write_pos = 0;
        }
        let bad = self.read_file_num;
        warn!(
            "DISKQUEUE({}) jump to next file, setting {} aside as bad",
            self.name,
            self.data_file(bad).display()
        );
        self.acks.mark_bad(bad);
        self.read_file_num += 1;
        self.read_pos = 0;
        // The sync renames the file once no unacknowledged record needs it.
        self.need_sync = true;
        self.check_tail_corruption();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_exhaustion_is_transient() {
        let open = |code| DiskQueueError::io("open", "f", std::io::Error::from_raw_os_error(code));
        assert_eq!(is_out_of_descriptors(&open(24)), cfg!(unix));
        assert_eq!(is_out_of_descriptors(&open(23)), cfg!(unix));
        assert!(!is_out_of_descriptors(&open(2)));
        let read = DiskQueueError::io("read", "f", std::io::Error::from_raw_os_error(24));
        assert!(!is_out_of_descriptors(&read));
    }
}
