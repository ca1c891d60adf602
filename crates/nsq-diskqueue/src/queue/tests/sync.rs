//! Sync scheduling: `sync_every` counts reads and writes, `tick` syncs after
//! `sync_timeout`, file changes sync at once. Observed through the metadata file.

use super::*;

fn meta_or_none(dir: &Path) -> Option<String> {
    meta_text(dir, "q").ok()
}

#[test]
fn sync_every_counts_reads_and_writes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open(
        "q",
        dir.path(),
        DiskQueueConfig {
            sync_every: 3,
            ..cfg(1000)
        },
    )?;
    q.put(&payload(0, 20))?;
    q.put(&payload(1, 20))?;
    assert_eq!(meta_or_none(dir.path()), None);
    q.put(&payload(2, 20))?;
    assert_eq!(meta_text(dir.path(), "q")?, "3\n0,0\n0,72\n");
    q.put(&payload(3, 20))?;
    assert!(q.pop().is_some());
    assert_eq!(meta_text(dir.path(), "q")?, "3\n0,0\n0,72\n");
    assert!(q.pop().is_some());
    assert_eq!(meta_text(dir.path(), "q")?, "2\n0,48\n0,96\n");
    // An empty pop is not an operation.
    assert!(q.pop().is_some());
    assert!(q.pop().is_some());
    assert!(q.pop().is_none());
    assert!(q.pop().is_none());
    assert_eq!(meta_text(dir.path(), "q")?, "2\n0,48\n0,96\n");
    q.put(&payload(4, 20))?;
    assert_eq!(meta_text(dir.path(), "q")?, "1\n0,96\n0,120\n");
    Ok(())
}

#[test]
fn batches_sync_once_at_the_end() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open(
        "q",
        dir.path(),
        DiskQueueConfig {
            sync_every: 2,
            ..cfg(1000)
        },
    )?;
    let owned = expected(0..5, 20);
    let batch: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    q.put_batch(&batch)?;
    assert_eq!(meta_text(dir.path(), "q")?, "5\n0,0\n0,120\n");
    let mut out = Vec::new();
    q.pop_batch(3, &mut out);
    assert_eq!(meta_text(dir.path(), "q")?, "3\n0,48\n0,120\n");
    Ok(())
}

#[test]
fn tick_syncs_only_after_activity_and_timeout() -> TestResult {
    let dir = tempfile::tempdir()?;
    // Timeout not reached: nothing happens.
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    q.put(&payload(0, 20))?;
    q.tick()?;
    assert_eq!(meta_or_none(dir.path()), None);
    drop(q);

    // Zero timeout: a tick with activity syncs, a tick without does not.
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open(
        "q",
        dir.path(),
        DiskQueueConfig {
            sync_timeout: Duration::ZERO,
            ..cfg(1000)
        },
    )?;
    q.tick()?;
    assert_eq!(meta_or_none(dir.path()), None, "no activity, no sync");
    q.put(&payload(0, 20))?;
    assert_eq!(meta_or_none(dir.path()), None);
    q.tick()?;
    assert_eq!(meta_text(dir.path(), "q")?, "1\n0,0\n0,24\n");
    std::fs::remove_file(dir.path().join("q.diskqueue.meta.dat"))?;
    q.tick()?;
    assert_eq!(meta_or_none(dir.path()), None, "counter reset by the sync");
    assert!(q.pop().is_some());
    q.tick()?;
    assert_eq!(meta_text(dir.path(), "q")?, "0\n0,24\n0,24\n");
    Ok(())
}

#[test]
fn file_changes_sync_immediately() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..4, 20)?;
    assert_eq!(meta_or_none(dir.path()), None);
    // Roll: the metadata already names the new write file (not yet created).
    q.put(&payload(4, 20))?;
    assert_eq!(meta_text(dir.path(), "q")?, "4\n0,0\n1,0\n");
    for _ in 0..3 {
        assert!(q.pop().is_some());
    }
    assert_eq!(meta_text(dir.path(), "q")?, "4\n0,0\n1,0\n");
    // Reader moves to file 1.
    assert!(q.pop().is_some());
    assert_eq!(meta_text(dir.path(), "q")?, "1\n1,0\n1,24\n");
    Ok(())
}

#[test]
fn read_error_syncs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..6, 20)?;
    q.close()?;
    std::fs::write(dir.path().join(data_name("q", 0)), [0u8; 8])?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    assert!(q.pop().is_some());
    // The read error schedules a sync, done before the pop returns.
    assert_eq!(meta_text(dir.path(), "q")?, "5\n1,24\n1,48\n");
    Ok(())
}

#[test]
fn explicit_sync_writes_meta() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    q.sync()?;
    assert_eq!(meta_text(dir.path(), "q")?, "0\n0,0\n0,0\n");
    q.put(&payload(0, 20))?;
    q.sync()?;
    assert_eq!(meta_text(dir.path(), "q")?, "1\n0,0\n0,24\n");
    let names = files(dir.path())?;
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    Ok(())
}
