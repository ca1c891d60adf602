//! One open output file, plain or gzip.
//!
//! With gzip, every sync finishes the current gzip member (its trailer carries the CRC of
//! exactly the messages that will be FIN'd) and starts a new one in the same file, so a
//! file is a concatenation of members, as the reference writes it. `written` counts the
//! uncompressed bytes handed to the writer, which is what `--rotate-size` compares.

use std::fs::File;
use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;

enum Sink {
    Plain(File),
    Gzip(Option<GzEncoder<File>>),
}

/// An open output file.
///
/// Invariant: in gzip mode the encoder is present except transiently inside
/// [`Output::sync`] and [`Output::close`].
pub struct Output {
    /// The file's path as opened (the reference's `out.Name()`).
    pub path: String,
    sink: Sink,
    level: u32,
}

/// Which step of closing failed.
#[derive(Debug)]
pub enum CloseError {
    /// Finishing the gzip stream.
    Gzip(io::Error),
    /// fsync.
    Sync(io::Error),
}

impl Output {
    /// Wraps a freshly opened file; `gzip_level` `Some(1..=9)` compresses.
    pub fn new(path: String, file: File, gzip_level: Option<u32>) -> Output {
        let level = gzip_level.unwrap_or(6);
        let sink = match gzip_level {
            Some(l) => Sink::Gzip(Some(GzEncoder::new(file, Compression::new(l)))),
            None => Sink::Plain(file),
        };
        Output { path, sink, level }
    }

    /// Writes all of `b` (uncompressed), returning how many bytes were accepted.
    pub fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Plain(f) => f.write_all(b).map(|_| b.len()),
            Sink::Gzip(Some(g)) => g.write_all(b).map(|_| b.len()),
            Sink::Gzip(None) => Err(io::Error::other("gzip writer closed")),
        }
    }

    /// Makes everything written so far durable: ends the gzip member (if any), fsyncs, and
    /// starts a new member.
    pub fn sync(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(f) => f.sync_all(),
            Sink::Gzip(slot) => {
                let Some(g) = slot.take() else {
                    return Err(io::Error::other("gzip writer closed"));
                };
                let file = g.finish()?;
                let r = file.sync_all();
                *slot = Some(GzEncoder::new(file, Compression::new(self.level)));
                r
            }
        }
    }

    /// Ends the gzip stream (if any), fsyncs and closes the file.
    pub fn close(self) -> Result<(), CloseError> {
        let file = match self.sink {
            Sink::Plain(f) => f,
            Sink::Gzip(Some(g)) => g.finish().map_err(CloseError::Gzip)?,
            Sink::Gzip(None) => return Ok(()),
        };
        file.sync_all().map_err(CloseError::Sync)?;
        drop(file);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_members_concatenate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.gz");
        let f = File::create(&path).expect("create");
        let mut o = Output::new(path.to_string_lossy().into_owned(), f, Some(6));
        assert_eq!(o.write(b"a\n").expect("write"), 2);
        o.sync().expect("sync");
        o.write(b"b\n").expect("write");
        o.close().expect("close");
        let raw = std::fs::read(&path).expect("read");
        let mut d = flate2::read::MultiGzDecoder::new(&raw[..]);
        let mut s = String::new();
        d.read_to_string(&mut s).expect("gunzip");
        assert_eq!(s, "a\nb\n");
        // two members: the magic appears twice
        assert_eq!(raw.windows(2).filter(|w| w == &[0x1f, 0x8b]).count(), 2);
    }
}
