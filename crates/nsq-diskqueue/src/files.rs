//! Everything about names and bytes on disk that is not a record: file naming, the
//! metadata text and its atomic replacement.
//!
//! Kept apart from the queue logic because these are the parts a Go nsqd must agree with
//! byte for byte: `<name>.diskqueue.%06d.dat`, `<name>.diskqueue.meta.dat` holding
//! `"%d\n%d,%d\n%d,%d\n"`, files created with mode 0600, metadata replaced through
//! `<meta>.<random int>.tmp` + fsync + rename.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::DiskQueueError;

/// Length of the big-endian `i32` that precedes every record payload.
pub(crate) const HEADER_LEN: i64 = 4;

/// Path of data file number `num` of queue `name`.
pub(crate) fn data_file_name(data_path: &Path, name: &str, num: i64) -> PathBuf {
    data_path.join(format!("{name}.diskqueue.{num:06}.dat"))
}

/// Path of the metadata file of queue `name`.
pub(crate) fn meta_file_name(data_path: &Path, name: &str) -> PathBuf {
    data_path.join(format!("{name}.diskqueue.meta.dat"))
}

/// `path` with `.bad` appended, where corrupt data files are moved.
pub(crate) fn bad_file_name(path: &Path) -> PathBuf {
    let mut os = path.as_os_str().to_owned();
    os.push(".bad");
    PathBuf::from(os)
}

/// Options that create missing files with mode 0600 (on Unix), as go-diskqueue does.
fn private_options() -> OpenOptions {
    let mut opts = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

/// Opens (creating with mode 0600 if needed, never truncating) a data file for writing.
pub(crate) fn open_for_write(path: &Path) -> std::io::Result<File> {
    private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// The persisted part of a queue's state, as stored in the metadata file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Meta {
    pub depth: i64,
    pub read_file_num: i64,
    pub read_pos: i64,
    pub write_file_num: i64,
    pub write_pos: i64,
}

impl Meta {
    /// The exact metadata text go-diskqueue writes.
    pub(crate) fn render(&self) -> String {
        format!(
            "{}\n{},{}\n{},{}\n",
            self.depth, self.read_file_num, self.read_pos, self.write_file_num, self.write_pos
        )
    }

    /// Parses metadata text. Accepts what go-diskqueue's scanner accepts in practice:
    /// three lines `depth`, `readFileNum,readPos`, `writeFileNum,writePos`, optional
    /// spaces around numbers, optional final newline. Returns `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Meta> {
        let mut lines = text.split('\n');
        let depth = parse_int(lines.next()?)?;
        let (read_file_num, read_pos) = parse_pair(lines.next()?)?;
        let (write_file_num, write_pos) = parse_pair(lines.next()?)?;
        // Only an empty remainder (the final newline) may follow.
        if lines.any(|rest| !rest.trim_matches([' ', '\t', '\r']).is_empty()) {
            return None;
        }
        Some(Meta {
            depth,
            read_file_num,
            read_pos,
            write_file_num,
            write_pos,
        })
    }
}

fn parse_int(s: &str) -> Option<i64> {
    s.trim_matches([' ', '\t']).parse().ok()
}

fn parse_pair(line: &str) -> Option<(i64, i64)> {
    let (a, b) = line.split_once(',')?;
    Some((parse_int(a)?, parse_int(b)?))
}

/// Atomically replaces the metadata file at `path` with `meta`: writes
/// `<path>.<random non-negative int>.tmp` (mode 0600), fsyncs it, renames it over `path`.
/// The directory is not fsynced (as in go-diskqueue). On failure the temporary file is
/// removed and the old metadata file is untouched.
pub(crate) fn persist_meta(path: &Path, meta: &Meta) -> Result<(), DiskQueueError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", rand::random::<u64>() >> 1));
    let tmp = PathBuf::from(tmp);
    let written = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| DiskQueueError::io("open", &tmp, e))
        .and_then(|mut f| {
            f.write_all(meta.render().as_bytes())
                .map_err(|e| DiskQueueError::io("write", &tmp, e))?;
            f.sync_all()
                .map_err(|e| DiskQueueError::io("fsync", &tmp, e))
        })
        .and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|e| DiskQueueError::io("rename", &tmp, e))
        });
    if written.is_err() {
        // Best effort: do not leave temporary files behind.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_go_diskqueue() {
        let p = Path::new("/data");
        assert_eq!(
            data_file_name(p, "t3:ch", 0),
            PathBuf::from("/data/t3:ch.diskqueue.000000.dat")
        );
        assert_eq!(
            data_file_name(p, "t", 1234567),
            PathBuf::from("/data/t.diskqueue.1234567.dat")
        );
        assert_eq!(
            meta_file_name(p, "t"),
            PathBuf::from("/data/t.diskqueue.meta.dat")
        );
        assert_eq!(
            bad_file_name(&data_file_name(p, "t", 7)),
            PathBuf::from("/data/t.diskqueue.000007.dat.bad")
        );
    }

    #[test]
    fn meta_text_round_trip() {
        let m = Meta {
            depth: 5,
            read_file_num: 0,
            read_pos: 0,
            write_file_num: 0,
            write_pos: 160,
        };
        assert_eq!(m.render(), "5\n0,0\n0,160\n");
        assert_eq!(Meta::parse("5\n0,0\n0,160\n"), Some(m));
        assert_eq!(Meta::parse("5\n0,0\n0,160"), Some(m));
        assert_eq!(Meta::parse(" 5\n0, 0\n0 ,160\n"), Some(m));
        assert_eq!(Meta::default().render(), "0\n0,0\n0,0\n");
        assert_eq!(
            Meta::parse("-3\n2,10\n4,0\n").map(|m| (m.depth, m.write_file_num)),
            Some((-3, 4))
        );
    }

    #[test]
    fn meta_parse_rejects_garbage() {
        for bad in [
            "",
            "5",
            "5\n0,0\n",
            "5\n0;0\n0,1\n",
            "x\n0,0\n0,0\n",
            "1\n0,0\n0,0\n9\n",
        ] {
            assert_eq!(Meta::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn persist_meta_is_atomic_and_private() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = meta_file_name(dir.path(), "q");
        let m = Meta {
            depth: 1,
            read_file_num: 2,
            read_pos: 3,
            write_file_num: 4,
            write_pos: 5,
        };
        persist_meta(&path, &m)?;
        assert_eq!(std::fs::read_to_string(&path)?, "1\n2,3\n4,5\n");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir.path())? {
            names.push(entry?.file_name());
        }
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path)?.permissions().mode() & 0o777,
                0o600
            );
        }
        Ok(())
    }
}
