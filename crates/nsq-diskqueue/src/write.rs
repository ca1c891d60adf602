//! The write path: size check, roll-over, and one write syscall per put (or per batch).
//!
//! Records are assembled (header + payload) in a buffer and handed to the kernel with a
//! single `write` before the put returns, so that an acknowledged put survives a crash of
//! this process exactly as it does with go-diskqueue (which writes each record with one
//! syscall); only fsync is deferred to [`State::sync`].

use std::io::{Seek, SeekFrom, Write};

use tracing::{error, info};

use crate::error::DiskQueueError;
use crate::files::{open_for_write, HEADER_LEN};
use crate::state::{State, WriteFile};

/// A batch hands its buffer to the kernel whenever it grows past this many bytes.
const BATCH_FLUSH_BYTES: usize = 1 << 20;
/// Write buffer capacity kept between puts; larger buffers are released after use.
const WBUF_KEEP_BYTES: usize = 64 << 10;

impl State {
    /// go-diskqueue's write size rule; returns the payload length.
    fn check_write_size(&self, len: usize) -> Result<i64, DiskQueueError> {
        let size = i64::try_from(len).unwrap_or(i64::MAX);
        if size < i64::from(self.cfg.min_msg_size) || size > i64::from(self.cfg.max_msg_size) {
            return Err(DiskQueueError::InvalidWriteSize {
                size,
                min: self.cfg.min_msg_size,
                max: self.cfg.max_msg_size,
            });
        }
        Ok(size)
    }

    /// Appends one record to the write buffer, rolling to a new file first if the record
    /// would not fit in the current one. Counts it in `write_pos` and `depth` (undone by
    /// [`State::flush_writes`] if the kernel write then fails).
    fn append(&mut self, payload: &[u8]) -> Result<(), DiskQueueError> {
        let size = self.check_write_size(payload.len())?;
        let total = HEADER_LEN + size;
        if self.write_pos > 0 && self.write_pos.saturating_add(total) > self.cfg.max_bytes_per_file
        {
            self.roll()?;
        }
        if self.writer.is_none() {
            self.writer = Some(self.open_writer()?);
        }
        if self.wbuf.is_empty() {
            self.wbuf_start_pos = self.write_pos;
        }
        // `size` is at most `max_msg_size`, an i32, so the header cannot overflow.
        let header = i32::try_from(size).unwrap_or(i32::MAX).to_be_bytes();
        self.wbuf.extend_from_slice(&header);
        self.wbuf.extend_from_slice(payload);
        self.wbuf_records += 1;
        self.write_pos += total;
        self.depth += 1;
        Ok(())
    }

    /// Finishes the current write file and moves the writer to the next file number,
    /// persisting the new position (fsync + metadata) right away.
    fn roll(&mut self) -> Result<(), DiskQueueError> {
        self.flush_writes()?;
        if self.read_file_num == self.write_file_num {
            // The reader is still in this file: tell it where the file ends.
            self.max_bytes_per_file_read = self.write_pos;
        }
        self.write_file_num += 1;
        self.write_pos = 0;
        if let Err(e) = self.sync() {
            error!("DISKQUEUE({}) failed to sync - {}", self.name, e);
        }
        self.writer = None;
        Ok(())
    }

    /// Opens file `write_file_num` (creating it with mode 0600) positioned at `write_pos`.
    fn open_writer(&mut self) -> Result<WriteFile, DiskQueueError> {
        let path = self.data_file(self.write_file_num);
        let mut file = open_for_write(&path).map_err(|e| DiskQueueError::io("open", &path, e))?;
        info!(
            "DISKQUEUE({}): writeOne() opened {}",
            self.name,
            path.display()
        );
        let pos = u64::try_from(self.write_pos).map_err(|_| {
            DiskQueueError::io(
                "seek",
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "negative write position"),
            )
        })?;
        if self.truncate_file == Some(self.write_file_num) {
            // A previous write to this file failed part-way: drop the partial tail.
            file.set_len(pos)
                .map_err(|e| DiskQueueError::io("truncate", &path, e))?;
            self.truncate_file = None;
        }
        if pos > 0 {
            file.seek(SeekFrom::Start(pos))
                .map_err(|e| DiskQueueError::io("seek", &path, e))?;
        }
        Ok(WriteFile { file, path })
    }

    /// Hands the write buffer to the kernel in one `write_all`. On failure the buffered
    /// records are forgotten (positions and depth restored, the file reopened and cut back
    /// on the next write). Returns how many records were written.
    pub(crate) fn flush_writes(&mut self) -> Result<usize, DiskQueueError> {
        if self.wbuf.is_empty() {
            return Ok(0);
        }
        let result = match self.writer.as_mut() {
            Some(w) => w
                .file
                .write_all(&self.wbuf)
                .map_err(|e| DiskQueueError::io("write", &w.path, e)),
            None => Err(DiskQueueError::io(
                "write",
                self.data_file(self.write_file_num),
                std::io::Error::new(std::io::ErrorKind::NotConnected, "write file not open"),
            )),
        };
        let records = self.wbuf_records;
        match result {
            Ok(()) => {
                self.wbuf.clear();
                self.wbuf_records = 0;
                self.records_flushed += records.unsigned_abs();
            }
            Err(_) => {
                self.discard_write_buffer();
                self.writer = None;
                self.truncate_file = Some(self.write_file_num);
            }
        }
        if self.wbuf.capacity() > WBUF_KEEP_BYTES {
            self.wbuf.shrink_to(WBUF_KEEP_BYTES);
        }
        result.map(|()| usize::try_from(records).unwrap_or(0))
    }

    /// Writes one record (see [`crate::DiskQueue::put`]).
    pub(crate) fn put(&mut self, payload: &[u8]) -> Result<(), DiskQueueError> {
        if self.closed {
            return Err(DiskQueueError::Closed);
        }
        self.ops_since_sync += 1;
        let result = self
            .append(payload)
            .and_then(|()| self.flush_writes().map(|_| ()));
        self.after_op();
        result
    }

    /// Writes records in order, stopping at the first failure (see
    /// [`crate::DiskQueue::put_batch`]).
    pub(crate) fn put_batch(&mut self, payloads: &[&[u8]]) -> Result<usize, DiskQueueError> {
        if self.closed {
            return Err(DiskQueueError::Closed);
        }
        let start = self.records_flushed;
        let mut failure = None;
        for payload in payloads {
            self.ops_since_sync += 1;
            let step = self.append(payload).and_then(|()| {
                if self.wbuf.len() >= BATCH_FLUSH_BYTES {
                    self.flush_writes().map(|_| ())
                } else {
                    Ok(())
                }
            });
            if let Err(e) = step {
                failure = Some(e);
                break;
            }
        }
        // Records appended before a failure are still written.
        if let Err(e) = self.flush_writes() {
            failure = Some(e);
        }
        self.after_op();
        let written = usize::try_from(self.records_flushed - start).unwrap_or(usize::MAX);
        match failure {
            None => Ok(written),
            Some(e) if written == 0 => Err(e),
            Some(e) => Err(DiskQueueError::PartialBatch {
                written,
                source: Box::new(e),
            }),
        }
    }
}
