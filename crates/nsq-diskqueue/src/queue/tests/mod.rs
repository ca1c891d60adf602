//! Unit tests of the queue, grouped by concern: the basic FIFO behaviour here, corruption
//! and restart recovery in `recovery.rs`, sync scheduling in `sync.rs`, unacknowledged
//! pops in `ack.rs`.

use std::error::Error;
use std::path::Path;
use std::time::Duration;

use super::DiskQueue;
use crate::{DiskQueueConfig, DiskQueueError};

mod ack;
mod recovery;
mod sync;

pub(super) type TestResult = Result<(), Box<dyn Error>>;

/// Small files, payloads of 4..=1000 bytes, no automatic sync unless a test asks.
pub(super) fn cfg(max_bytes_per_file: i64) -> DiskQueueConfig {
    DiskQueueConfig {
        max_bytes_per_file,
        min_msg_size: 4,
        max_msg_size: 1000,
        sync_every: 1_000_000,
        sync_timeout: Duration::from_secs(3600),
    }
}

/// Deterministic payload `i` of `len` bytes (first byte = i, so order is checkable).
pub(super) fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i.wrapping_mul(31) + j) as u8).collect()
}

/// Names of the files in `dir`, sorted.
pub(super) fn files(dir: &Path) -> Result<Vec<String>, Box<dyn Error>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

pub(super) fn data_name(name: &str, num: i64) -> String {
    format!("{name}.diskqueue.{num:06}.dat")
}

pub(super) fn file_len(dir: &Path, name: &str) -> Result<u64, Box<dyn Error>> {
    Ok(std::fs::metadata(dir.join(name))?.len())
}

pub(super) fn meta_text(dir: &Path, name: &str) -> Result<String, Box<dyn Error>> {
    Ok(std::fs::read_to_string(
        dir.join(format!("{name}.diskqueue.meta.dat")),
    )?)
}

/// Puts payloads `range` of `len` bytes each.
pub(super) fn put_range(q: &DiskQueue, range: std::ops::Range<usize>, len: usize) -> TestResult {
    for i in range {
        q.put(&payload(i, len))?;
    }
    Ok(())
}

/// Pops everything; returns the payloads.
pub(super) fn drain(q: &DiskQueue) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(p) = q.pop() {
        out.push(p.to_vec());
    }
    out
}

pub(super) fn expected(range: std::ops::Range<usize>, len: usize) -> Vec<Vec<u8>> {
    range.map(|i| payload(i, len)).collect()
}

#[test]
fn rolls_over_and_reads_across_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    // 20-byte payloads are 24-byte records: 4 fit in 100 bytes, the 5th rolls.
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..10, 20)?;
    assert_eq!(q.depth(), 10);
    assert_eq!(
        files(dir.path())?,
        vec![
            data_name("q", 0),
            data_name("q", 1),
            data_name("q", 2),
            "q.diskqueue.meta.dat".into()
        ],
        "each roll persists the metadata"
    );
    assert_eq!(file_len(dir.path(), &data_name("q", 0))?, 96);
    assert_eq!(file_len(dir.path(), &data_name("q", 1))?, 96);
    assert_eq!(file_len(dir.path(), &data_name("q", 2))?, 48);
    assert_eq!(drain(&q), expected(0..10, 20));
    assert_eq!(q.depth(), 0);
    assert!(q.is_empty());
    q.close()?;
    assert_eq!(meta_text(dir.path(), "q")?, "0\n2,48\n2,48\n");
    Ok(())
}

#[test]
fn record_layout_is_length_prefixed_big_endian() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("t3:ch", dir.path(), cfg(1000))?;
    q.put(b"hello")?;
    q.put(&[7u8; 260])?;
    q.close()?;
    let bytes = std::fs::read(dir.path().join(data_name("t3:ch", 0)))?;
    assert_eq!(&bytes[..9], b"\x00\x00\x00\x05hello");
    assert_eq!(&bytes[9..13], &[0, 0, 1, 4]);
    assert_eq!(bytes.len(), 9 + 4 + 260);
    assert_eq!(meta_text(dir.path(), "t3:ch")?, "2\n0,0\n0,273\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in files(dir.path())? {
            let mode = std::fs::metadata(dir.path().join(&f))?.permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
    Ok(())
}

#[test]
fn fully_read_files_are_deleted() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..6, 20)?;
    for _ in 0..3 {
        assert!(q.pop().is_some());
    }
    assert!(dir.path().join(data_name("q", 0)).exists());
    assert!(q.pop().is_some(), "4th record ends file 0");
    assert!(!dir.path().join(data_name("q", 0)).exists());
    assert_eq!(q.depth(), 2);
    Ok(())
}

#[test]
fn meta_round_trip_close_reopen_continue() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..10, 20)?;
    for i in 0..3 {
        assert_eq!(q.pop().map(|b| b.to_vec()), Some(payload(i, 20)));
    }
    q.close()?;
    assert_eq!(meta_text(dir.path(), "q")?, "7\n0,72\n2,48\n");

    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    assert_eq!(q.depth(), 7);
    put_range(&q, 10..12, 20)?;
    assert_eq!(q.depth(), 9);
    assert_eq!(drain(&q), expected(3..12, 20));
    q.close()?;
    assert_eq!(meta_text(dir.path(), "q")?, "0\n2,96\n2,96\n");
    Ok(())
}

#[test]
fn empty_removes_files_and_continues_in_next_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..10, 20)?;
    assert!(q.pop().is_some());
    q.empty()?;
    assert_eq!(q.depth(), 0);
    assert!(q.is_empty());
    assert!(files(dir.path())?.is_empty(), "data and meta files removed");
    q.put(&payload(42, 20))?;
    assert_eq!(files(dir.path())?, vec![data_name("q", 3)]);
    assert_eq!(q.pop().map(|b| b.to_vec()), Some(payload(42, 20)));
    q.sync()?;
    assert_eq!(meta_text(dir.path(), "q")?, "0\n3,24\n3,24\n");
    // The nsqd delete sequence leaves nothing behind.
    q.empty()?;
    q.delete()?;
    assert!(files(dir.path())?.is_empty());
    Ok(())
}

#[test]
fn size_bounds_are_inclusive() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100_000))?;
    q.put(&payload(0, 4))?;
    q.put(&payload(1, 1000))?;
    let small = q.put(&payload(2, 3));
    assert!(matches!(
        small,
        Err(DiskQueueError::InvalidWriteSize {
            size: 3,
            min: 4,
            max: 1000
        })
    ));
    let msg = q.put(&payload(3, 1001)).err().map(|e| e.to_string());
    assert_eq!(
        msg.as_deref(),
        Some("invalid message write size (1001) minMsgSize=4 maxMsgSize=1000")
    );
    assert_eq!(q.depth(), 2);
    assert_eq!(drain(&q), vec![payload(0, 4), payload(1, 1000)]);
    Ok(())
}

#[test]
fn oversized_record_goes_alone_into_a_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    // Into an empty queue: no roll needed, it fills file 0 by itself.
    q.put(&payload(0, 500))?;
    q.put(&payload(1, 20))?;
    q.put(&payload(2, 500))?;
    q.put(&payload(3, 20))?;
    let d = dir.path();
    assert_eq!(file_len(d, &data_name("q", 0))?, 504);
    assert_eq!(file_len(d, &data_name("q", 1))?, 24);
    assert_eq!(file_len(d, &data_name("q", 2))?, 504);
    assert_eq!(file_len(d, &data_name("q", 3))?, 24);
    assert_eq!(
        drain(&q),
        vec![
            payload(0, 500),
            payload(1, 20),
            payload(2, 500),
            payload(3, 20)
        ]
    );
    Ok(())
}

#[test]
fn record_filling_a_file_exactly_does_not_roll() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(96))?;
    put_range(&q, 0..4, 20)?;
    assert_eq!(files(dir.path())?, vec![data_name("q", 0)]);
    assert_eq!(file_len(dir.path(), &data_name("q", 0))?, 96);
    q.put(&payload(4, 4))?;
    assert_eq!(file_len(dir.path(), &data_name("q", 1))?, 8);
    assert_eq!(drain(&q).len(), 5);
    Ok(())
}

#[test]
fn depth_accounting_with_batches() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    let owned = expected(0..9, 20);
    let batch: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    assert_eq!(q.put_batch(&batch)?, 9);
    assert_eq!(q.depth(), 9);
    assert_eq!(q.put_batch(&[])?, 0);

    // A bad record stops the batch; the ones before it are written and counted.
    let bad = payload(99, 2);
    let more = expected(9..12, 20);
    let batch2: Vec<&[u8]> = vec![&more[0], &more[1], &bad, &more[2]];
    let err = q.put_batch(&batch2).err();
    assert_eq!(err.as_ref().map(DiskQueueError::records_written), Some(2));
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("invalid message write size (2) minMsgSize=4 maxMsgSize=1000")
    );
    assert_eq!(q.depth(), 11);
    // The first record failing: plain error, nothing written.
    let err = q.put_batch(&[&bad, &more[2]]).err();
    assert!(matches!(err, Some(DiskQueueError::InvalidWriteSize { .. })));
    assert_eq!(q.depth(), 11);

    let mut out = Vec::new();
    assert_eq!(q.pop_batch(5, &mut out), 5);
    assert_eq!(q.depth(), 6);
    assert_eq!(q.pop_batch(100, &mut out), 6);
    assert_eq!(q.depth(), 0);
    let got: Vec<Vec<u8>> = out.iter().map(|b| b.to_vec()).collect();
    assert_eq!(got, expected(0..11, 20));
    Ok(())
}

#[test]
fn interleaved_put_pop_across_rolls_leaves_no_bad_files() -> TestResult {
    // The reader keeps catching up with the writer, then the writer rolls: go-diskqueue
    // v1.1.0 renames such files to .bad (nsqio/go-diskqueue#42); we must not.
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    for i in 0..30 {
        q.put(&payload(i, 20))?;
        assert_eq!(q.pop().map(|b| b.to_vec()), Some(payload(i, 20)));
        assert_eq!(q.depth(), 0);
    }
    let names = files(dir.path())?;
    assert!(names.iter().all(|n| !n.ends_with(".bad")), "{names:?}");
    // Only the current write file (30 records = 7 full files + 2 records) and the meta.
    assert_eq!(
        names,
        vec![data_name("q", 7), "q.diskqueue.meta.dat".into()]
    );
    Ok(())
}

#[test]
fn reader_stays_open_across_pops() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    put_range(&q, 0..5, 20)?;
    assert!(q.pop().is_some());
    // Reopening the file by name would now fail; an open reader does not care.
    std::fs::rename(
        dir.path().join(data_name("q", 0)),
        dir.path().join("elsewhere"),
    )?;
    assert_eq!(drain(&q), expected(1..5, 20));
    Ok(())
}

#[test]
fn closed_queue_refuses_work() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    put_range(&q, 0..2, 20)?;
    q.close()?;
    q.close()?;
    assert!(matches!(
        q.put(&payload(0, 20)),
        Err(DiskQueueError::Closed)
    ));
    assert_eq!(
        q.put(&payload(0, 20))
            .err()
            .map(|e| e.to_string())
            .as_deref(),
        Some("exiting")
    );
    assert!(matches!(
        q.put_batch(&[b"abcd"]),
        Err(DiskQueueError::Closed)
    ));
    assert!(matches!(q.empty(), Err(DiskQueueError::Closed)));
    assert!(matches!(q.sync(), Err(DiskQueueError::Closed)));
    assert!(q.pop().is_none());
    assert!(q.is_empty());
    assert_eq!(q.depth(), 2);
    q.tick()?;
    q.delete()?;
    Ok(())
}

#[test]
fn max_bytes_per_file_may_change_between_runs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..10, 20)?;
    q.close()?;
    // Larger limit: the completed files still end at their actual size.
    let q = DiskQueue::open("q", dir.path(), cfg(10_000))?;
    put_range(&q, 10..20, 20)?;
    assert_eq!(drain(&q), expected(0..20, 20));
    q.close()?;
    // Smaller limit: a file written with a large limit is read to its end.
    let q = DiskQueue::open("q", dir.path(), cfg(10_000))?;
    put_range(&q, 20..40, 20)?;
    q.close()?;
    let q = DiskQueue::open("q", dir.path(), cfg(50))?;
    put_range(&q, 40..45, 20)?;
    assert_eq!(drain(&q), expected(20..45, 20));
    let names = files(dir.path())?;
    assert!(names.iter().all(|n| !n.ends_with(".bad")), "{names:?}");
    Ok(())
}

#[test]
fn queue_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DiskQueue>();
}
