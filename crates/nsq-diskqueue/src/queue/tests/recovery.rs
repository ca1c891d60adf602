//! Corruption handling and restart recovery.

use std::io::{Seek, SeekFrom, Write};

use super::*;

/// Overwrites 4 bytes at `offset` of data file `num` of queue "q".
fn poke_length(dir: &Path, num: i64, offset: u64, value: i32) -> TestResult {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(data_name("q", num)))?;
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(&value.to_be_bytes())?;
    Ok(())
}

/// Ten 24-byte records over files 0 (0..4), 1 (4..8), 2 (8..10), queue closed.
fn three_files(dir: &Path) -> TestResult {
    let q = DiskQueue::open("q", dir, cfg(100))?;
    put_range(&q, 0..10, 20)?;
    q.close()?;
    Ok(())
}

#[test]
fn truncated_file_is_set_aside_and_reading_continues() -> TestResult {
    let dir = tempfile::tempdir()?;
    three_files(dir.path())?;
    // Cut file 1 in the middle of its third record's header.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(data_name("q", 1)))?;
    f.set_len(50)?;
    drop(f);

    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    let mut want = expected(0..6, 20);
    want.extend(expected(8..10, 20));
    assert_eq!(drain(&q), want);
    assert_eq!(q.depth(), 0, "depth corrected at the tail");
    let names = files(dir.path())?;
    assert!(
        names.contains(&format!("{}.bad", data_name("q", 1))),
        "{names:?}"
    );
    // The queue keeps working.
    q.put(&payload(50, 20))?;
    assert_eq!(drain(&q), vec![payload(50, 20)]);
    Ok(())
}

#[test]
fn truncated_payload_is_set_aside() -> TestResult {
    let dir = tempfile::tempdir()?;
    three_files(dir.path())?;
    // Cut file 0 inside the payload of its second record.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(data_name("q", 0)))?;
    f.set_len(30)?;
    drop(f);
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    let mut want = expected(0..1, 20);
    want.extend(expected(4..10, 20));
    assert_eq!(drain(&q), want);
    assert!(dir
        .path()
        .join(format!("{}.bad", data_name("q", 0)))
        .exists());
    Ok(())
}

#[test]
fn bogus_lengths_are_set_aside() -> TestResult {
    for bogus in [i32::MAX, 1001, 3, 0, -1, i32::MIN] {
        let dir = tempfile::tempdir()?;
        three_files(dir.path())?;
        poke_length(dir.path(), 1, 24, bogus)?;
        let q = DiskQueue::open("q", dir.path(), cfg(100))?;
        let mut want = expected(0..5, 20);
        want.extend(expected(8..10, 20));
        assert_eq!(drain(&q), want, "length {bogus}");
        assert_eq!(q.depth(), 0);
        assert!(dir
            .path()
            .join(format!("{}.bad", data_name("q", 1)))
            .exists());
    }
    Ok(())
}

#[test]
fn corrupt_write_file_moves_the_writer_on() -> TestResult {
    let dir = tempfile::tempdir()?;
    three_files(dir.path())?;
    poke_length(dir.path(), 2, 0, 0)?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    assert_eq!(drain(&q), expected(0..8, 20));
    assert_eq!(q.depth(), 0);
    // File 2 was the write file: writing continues in file 3.
    q.put(&payload(60, 20))?;
    assert!(dir.path().join(data_name("q", 3)).exists());
    assert!(dir
        .path()
        .join(format!("{}.bad", data_name("q", 2)))
        .exists());
    assert_eq!(drain(&q), vec![payload(60, 20)]);
    Ok(())
}

#[test]
fn missing_data_file_is_skipped() -> TestResult {
    let dir = tempfile::tempdir()?;
    three_files(dir.path())?;
    std::fs::remove_file(dir.path().join(data_name("q", 1)))?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    let mut want = expected(0..4, 20);
    want.extend(expected(8..10, 20));
    assert_eq!(drain(&q), want);
    assert_eq!(q.depth(), 0);
    Ok(())
}

#[test]
fn unsynced_writes_are_salvaged_at_startup() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    put_range(&q, 0..5, 20)?;
    q.close()?;
    assert_eq!(meta_text(dir.path(), "q")?, "5\n0,0\n0,120\n");
    // Writes after the last sync, then the process "dies" (no close, no sync).
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    put_range(&q, 5..8, 20)?;
    drop(q);
    assert_eq!(meta_text(dir.path(), "q")?, "5\n0,0\n0,120\n");
    assert_eq!(file_len(dir.path(), &data_name("q", 0))?, 192);

    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    q.put(&payload(8, 20))?;
    assert_eq!(
        file_len(dir.path(), &data_name("q", 1))?,
        24,
        "writing resumed in a new file"
    );
    assert_eq!(file_len(dir.path(), &data_name("q", 0))?, 192);
    assert_eq!(drain(&q), expected(0..9, 20));
    assert_eq!(q.depth(), 0);
    q.close()?;
    assert_eq!(meta_text(dir.path(), "q")?, "0\n1,24\n1,24\n");
    Ok(())
}

#[test]
fn reader_beyond_writer_skips_to_a_fresh_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    put_range(&q, 0..5, 20)?;
    q.close()?;
    std::fs::write(dir.path().join("q.diskqueue.meta.dat"), "3\n0,500\n0,120\n")?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    assert_eq!(q.depth(), 0);
    assert!(q.is_empty());
    assert!(!dir.path().join(data_name("q", 0)).exists());
    q.put(&payload(9, 20))?;
    assert!(dir.path().join(data_name("q", 1)).exists());
    assert_eq!(drain(&q), vec![payload(9, 20)]);
    Ok(())
}

#[test]
fn stale_depth_at_tail_is_reset() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("q.diskqueue.meta.dat"), "4\n2,0\n2,0\n")?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    assert_eq!(q.depth(), 0);
    q.put(&payload(1, 20))?;
    assert!(dir.path().join(data_name("q", 2)).exists());
    assert_eq!(drain(&q), vec![payload(1, 20)]);
    Ok(())
}

#[test]
fn unparsable_meta_starts_empty() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("q.diskqueue.meta.dat"), "garbage")?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    assert_eq!(q.depth(), 0);
    put_range(&q, 0..2, 20)?;
    assert_eq!(drain(&q), expected(0..2, 20));
    Ok(())
}

#[test]
fn unreadable_meta_is_an_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("q.diskqueue.meta.dat"))?;
    assert!(matches!(
        DiskQueue::open("q", dir.path(), cfg(1000)),
        Err(DiskQueueError::Io { op: "read", .. })
    ));
    Ok(())
}

#[test]
fn failed_write_is_not_counted() -> TestResult {
    let dir = tempfile::tempdir()?;
    // The data path does not exist: opening the write file fails.
    let missing = dir.path().join("missing");
    let q = DiskQueue::open("q", &missing, cfg(1000))?;
    let err = q.put(&payload(0, 20)).err();
    assert!(
        matches!(err, Some(DiskQueueError::Io { op: "open", .. })),
        "{err:?}"
    );
    assert_eq!(q.depth(), 0);
    assert!(q.is_empty());
    std::fs::create_dir(&missing)?;
    q.put(&payload(1, 20))?;
    assert_eq!(drain(&q), vec![payload(1, 20)]);
    Ok(())
}

#[test]
fn crash_before_the_first_sync_loses_nothing() -> TestResult {
    // A queue killed before it ever wrote its metadata: the records are in file 0 only.
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(1 << 20))?;
    put_range(&q, 0..7, 20)?;
    drop(q); // no close, no sync: like kill -9
    assert!(
        !dir.path().join("q.diskqueue.meta.dat").exists(),
        "never synced"
    );

    let q = DiskQueue::open("q", dir.path(), cfg(1 << 20))?;
    assert_eq!(q.depth(), 7, "salvaged records are counted");
    assert!(
        dir.path().join("q.diskqueue.meta.dat").exists(),
        "metadata written at once so a second crash finds the salvaged file too"
    );
    put_range(&q, 7..9, 20)?;
    assert_eq!(
        drain(&q),
        expected(0..9, 20),
        "old records first, then the new ones"
    );
    assert_eq!(q.depth(), 0);
    Ok(())
}

#[test]
fn salvaged_tail_counts_only_complete_records() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(1 << 20))?;
    put_range(&q, 0..3, 20)?;
    q.sync()?;
    put_range(&q, 3..6, 20)?;
    drop(q);
    // A torn last write: half of record 5 is missing.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(data_name("q", 0)))?;
    f.set_len(f.metadata()?.len() - 10)?;
    drop(f);

    let q = DiskQueue::open("q", dir.path(), cfg(1 << 20))?;
    assert_eq!(q.depth(), 5, "3 synced + 2 complete unsynced records");
    assert_eq!(drain(&q), expected(0..5, 20));
    Ok(())
}
