//! Unacknowledged pops: the persisted read position (the floor), file retention, crash
//! recovery, `empty`/`close` interplay, corruption, and a randomised model check.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};

use super::*;
use crate::AckToken;

/// Pops records `range` unacknowledged; returns their tokens (checking their payloads).
fn pop_n_unacked(q: &DiskQueue, range: std::ops::Range<usize>, len: usize) -> Vec<AckToken> {
    range
        .map(|i| {
            let (p, t) = q
                .pop_unacked()
                .unwrap_or_else(|| panic!("record {i} missing"));
            assert_eq!(p.to_vec(), payload(i, len), "record {i}");
            t
        })
        .collect()
}

fn zero_timeout(max_bytes_per_file: i64) -> DiskQueueConfig {
    DiskQueueConfig {
        sync_timeout: Duration::ZERO,
        ..cfg(max_bytes_per_file)
    }
}

#[test]
fn floor_pins_the_persisted_read_position() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    // 20-byte payloads: 24-byte records.
    put_range(&q, 0..10, 20)?;
    let t = pop_n_unacked(&q, 0..3, 20);
    assert_eq!(q.pop().map(|b| b.to_vec()), Some(payload(3, 20)));
    assert_eq!(q.pop().map(|b| b.to_vec()), Some(payload(4, 20)));
    assert_eq!(q.depth(), 5, "depth counts records not yet popped");
    assert_eq!(q.unacked(), 3);
    q.sync()?;
    // Read position at record 0; depth = the 10 records from there to the writer.
    assert_eq!(meta_text(dir.path(), "q")?, "10\n0,0\n0,240\n");
    q.ack(t[1]);
    q.sync()?;
    assert_eq!(
        meta_text(dir.path(), "q")?,
        "10\n0,0\n0,240\n",
        "not the floor"
    );
    q.ack(t[0]);
    q.sync()?;
    assert_eq!(
        meta_text(dir.path(), "q")?,
        "8\n0,48\n0,240\n",
        "floor at record 2"
    );
    q.ack(t[2]);
    q.sync()?;
    assert_eq!(
        meta_text(dir.path(), "q")?,
        "5\n0,120\n0,240\n",
        "as plain pops"
    );
    assert_eq!(q.unacked(), 0);
    Ok(())
}

#[test]
fn crash_hands_back_unacked_records() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..10, 20)?;
    let t = pop_n_unacked(&q, 0..6, 20);
    for i in [0, 1, 3, 5] {
        q.ack(t[i]);
    }
    q.sync()?;
    // Acknowledgements after the last sync do not matter for the crash.
    q.ack(t[2]);
    drop(q);

    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    assert_eq!(q.depth(), 8, "records 2..10");
    assert_eq!(drain(&q), expected(2..10, 20));
    assert_eq!(q.depth(), 0);
    assert!(!files(dir.path())?.iter().any(|f| f.ends_with(".bad")));
    Ok(())
}

#[test]
fn crash_without_any_sync_since_the_pops_loses_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open(
        "q",
        dir.path(),
        DiskQueueConfig {
            sync_every: 1,
            ..cfg(100)
        },
    )?;
    put_range(&q, 0..10, 20)?;
    // Every pop syncs (sync_every = 1), the reader leaves files 0 and 1.
    let t = pop_n_unacked(&q, 0..9, 20);
    for tok in &t[1..] {
        q.ack(*tok);
    }
    assert_eq!(q.unacked(), 1);
    drop(q);
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    assert_eq!(q.depth(), 10);
    assert_eq!(drain(&q), expected(0..10, 20));
    Ok(())
}

#[test]
fn plain_pops_after_an_unacked_one_are_counted_behind_the_floor() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..10, 20)?;
    assert!(q.pop().is_some());
    let t = pop_n_unacked(&q, 1..2, 20);
    let mut out = Vec::new();
    assert_eq!(q.pop_batch(7, &mut out), 7);
    q.sync()?;
    // Floor = record 1 at offset 24 of file 0; 9 records from there to the writer.
    assert_eq!(meta_text(dir.path(), "q")?, "9\n0,24\n2,48\n");
    drop(q);
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    assert_eq!(drain(&q), expected(1..10, 20));
    drop(t);
    Ok(())
}

#[test]
fn data_files_stay_until_the_floor_leaves_them() -> TestResult {
    let dir = tempfile::tempdir()?;
    // Files 0 (records 0..4), 1 (4..8), 2 (8..10).
    let q = DiskQueue::open("q", dir.path(), zero_timeout(100))?;
    put_range(&q, 0..10, 20)?;
    let t0 = pop_n_unacked(&q, 0..1, 20);
    let t5 = {
        let mut out = Vec::new();
        assert_eq!(q.pop_batch(4, &mut out), 4);
        pop_n_unacked(&q, 5..6, 20)
    };
    let mut out = Vec::new();
    assert_eq!(q.pop_batch(3, &mut out), 3, "records 6..9");
    let on_disk = |n| dir.path().join(data_name("q", n)).exists();
    assert!(on_disk(0) && on_disk(1) && on_disk(2));
    q.ack(t5[0]);
    q.sync()?;
    assert!(
        on_disk(0) && on_disk(1),
        "record 0 still pins file 0 and all later ones"
    );
    q.ack(t0[0]);
    assert!(
        on_disk(0) && on_disk(1),
        "ack itself neither writes nor deletes"
    );
    // The floor left files 0 and 1: the next tick syncs the metadata, then deletes them.
    q.tick()?;
    assert_eq!(meta_text(dir.path(), "q")?, "1\n2,24\n2,48\n");
    assert!(!on_disk(0) && !on_disk(1) && on_disk(2));
    Ok(())
}

#[test]
fn out_of_order_acks_release_once_the_oldest_is_acked() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..10, 20)?;
    let mut popped = Vec::new();
    assert_eq!(q.pop_batch_unacked(100, &mut popped), 10);
    let got: Vec<Vec<u8>> = popped.iter().map(|(p, _)| p.to_vec()).collect();
    assert_eq!(got, expected(0..10, 20));
    assert_eq!(q.unacked(), 10);
    assert_eq!(q.depth(), 0);
    assert!(q.is_empty());
    for (_, t) in popped[1..].iter().rev() {
        q.ack(*t);
    }
    assert_eq!(q.unacked(), 1);
    assert!(dir.path().join(data_name("q", 0)).exists());
    q.sync()?;
    assert_eq!(meta_text(dir.path(), "q")?, "10\n0,0\n2,48\n");
    q.ack(popped[0].1);
    assert_eq!(q.unacked(), 0);
    q.sync()?;
    assert_eq!(meta_text(dir.path(), "q")?, "0\n2,48\n2,48\n");
    assert_eq!(
        files(dir.path())?,
        vec![data_name("q", 2), "q.diskqueue.meta.dat".into()]
    );
    Ok(())
}

#[test]
fn acking_twice_or_a_foreign_token_does_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    put_range(&q, 0..4, 20)?;
    let t = pop_n_unacked(&q, 0..2, 20);
    q.ack(t[1]);
    q.ack(t[1]);
    assert_eq!(q.unacked(), 1);
    q.close()?;
    assert_eq!(meta_text(dir.path(), "q")?, "4\n0,0\n0,96\n");
    // Acks after close change nothing on disk.
    q.ack(t[0]);
    assert_eq!(meta_text(dir.path(), "q")?, "4\n0,0\n0,96\n");

    // A new instance of the same queue ignores the old instance's tokens, even though
    // its own pops count from the same starting point.
    let q = DiskQueue::open("q", dir.path(), cfg(1000))?;
    let fresh = pop_n_unacked(&q, 0..2, 20);
    q.ack(t[0]);
    q.ack(t[1]);
    assert_eq!(q.unacked(), 2);
    let other_dir = tempfile::tempdir()?;
    let other = DiskQueue::open("q", other_dir.path(), cfg(1000))?;
    other.ack(fresh[0]);
    q.ack(fresh[0]);
    q.ack(fresh[1]);
    assert_eq!(q.unacked(), 0);
    Ok(())
}

#[test]
fn close_with_outstanding_records_persists_the_floor() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..10, 20)?;
    let t = pop_n_unacked(&q, 0..5, 20);
    q.ack(t[0]);
    q.ack(t[2]);
    q.close()?;
    assert_eq!(meta_text(dir.path(), "q")?, "9\n0,24\n2,48\n");
    assert!(dir.path().join(data_name("q", 0)).exists());
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    assert_eq!(q.depth(), 9);
    assert_eq!(drain(&q), expected(1..10, 20));
    Ok(())
}

#[test]
fn empty_forgets_unacked_records_and_their_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    put_range(&q, 0..10, 20)?;
    let t = pop_n_unacked(&q, 0..6, 20);
    q.empty()?;
    assert_eq!(q.unacked(), 0);
    assert_eq!(q.depth(), 0);
    assert!(files(dir.path())?.is_empty(), "{:?}", files(dir.path())?);
    for tok in &t {
        q.ack(*tok);
    }
    q.put(&payload(20, 20))?;
    let t2 = pop_n_unacked(&q, 20..21, 20);
    q.ack(t[0]);
    assert_eq!(q.unacked(), 1, "a token from before empty() is a no-op");
    q.sync()?;
    assert_eq!(meta_text(dir.path(), "q")?, "1\n3,0\n3,24\n");
    q.ack(t2[0]);
    q.close()?;
    assert_eq!(meta_text(dir.path(), "q")?, "0\n3,24\n3,24\n");
    Ok(())
}

#[test]
fn tick_persists_a_moved_floor_but_not_an_unmoved_one() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open("q", dir.path(), zero_timeout(1000))?;
    put_range(&q, 0..4, 20)?;
    let t = pop_n_unacked(&q, 0..3, 20);
    q.sync()?;
    assert_eq!(meta_text(dir.path(), "q")?, "4\n0,0\n0,96\n");
    q.ack(t[2]);
    q.tick()?;
    assert_eq!(meta_text(dir.path(), "q")?, "4\n0,0\n0,96\n", "nothing due");
    std::fs::remove_file(dir.path().join("q.diskqueue.meta.dat"))?;
    q.tick()?;
    assert!(meta_text(dir.path(), "q").is_err(), "still nothing due");
    q.ack(t[0]);
    q.tick()?;
    assert_eq!(meta_text(dir.path(), "q")?, "3\n0,24\n0,96\n");
    Ok(())
}

#[test]
fn acks_are_not_operations_for_sync_every() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q = DiskQueue::open(
        "q",
        dir.path(),
        DiskQueueConfig {
            sync_every: 3,
            ..cfg(1000)
        },
    )?;
    put_range(&q, 0..3, 20)?; // 3 ops: synced
    assert_eq!(meta_text(dir.path(), "q")?, "3\n0,0\n0,72\n");
    let t = pop_n_unacked(&q, 0..2, 20); // 2 ops
    q.ack(t[0]);
    q.ack(t[1]);
    assert_eq!(meta_text(dir.path(), "q")?, "3\n0,0\n0,72\n");
    assert!(q.pop().is_some()); // 3rd op: sync
    assert_eq!(meta_text(dir.path(), "q")?, "0\n0,72\n0,72\n");
    Ok(())
}

/// Overwrites the length header at `offset` of data file `num` of queue "q".
fn poke_length(dir: &Path, num: i64, offset: u64, value: i32) -> TestResult {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(data_name("q", num)))?;
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(&value.to_be_bytes())?;
    Ok(())
}

/// Files 0 (records 0..4), 1 (4..8, record 6 corrupt), 2 (8..10); the queue reopened
/// with records 0..6 popped unacknowledged and the corruption met by the next pop.
fn corrupt_file_one_with_unacked(dir: &Path) -> Result<(DiskQueue, Vec<AckToken>), Box<dyn Error>> {
    let q = DiskQueue::open("q", dir, cfg(100))?;
    put_range(&q, 0..10, 20)?;
    q.close()?;
    poke_length(dir, 1, 48, 1 << 30)?;
    let q = DiskQueue::open("q", dir, cfg(100))?;
    let t = pop_n_unacked(&q, 0..6, 20);
    // The next pop meets the corrupt record 6 and jumps to file 2.
    assert_eq!(q.pop().map(|b| b.to_vec()), Some(payload(8, 20)));
    Ok((q, t))
}

#[test]
fn corrupt_file_is_set_aside_only_once_the_floor_leaves_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (q, t) = corrupt_file_one_with_unacked(dir.path())?;
    let bad = format!("{}.bad", data_name("q", 1));
    let names = files(dir.path())?;
    assert!(
        names.contains(&data_name("q", 1)) && !names.contains(&bad),
        "{names:?}"
    );
    for tok in &t[..4] {
        q.ack(*tok);
    }
    q.sync()?;
    let names = files(dir.path())?;
    assert!(
        !names.contains(&data_name("q", 0)),
        "file 0 released: {names:?}"
    );
    assert!(
        names.contains(&data_name("q", 1)),
        "records 4, 5 still need file 1"
    );
    q.ack(t[5]);
    q.ack(t[4]);
    q.sync()?;
    let names = files(dir.path())?;
    assert!(
        names.contains(&bad) && !names.contains(&data_name("q", 1)),
        "{names:?}"
    );
    assert_eq!(drain(&q), vec![payload(9, 20)]);
    Ok(())
}

#[test]
fn crash_after_corruption_hands_back_the_unacked_records_of_the_corrupt_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (q, t) = corrupt_file_one_with_unacked(dir.path())?;
    for tok in &t[..5] {
        q.ack(*tok);
    }
    q.sync()?;
    drop(q);
    // Record 5 (the last good one of file 1) comes back; the reader then meets the
    // corruption again and sets the file aside.
    let q = DiskQueue::open("q", dir.path(), cfg(100))?;
    assert_eq!(
        drain(&q),
        vec![payload(5, 20), payload(8, 20), payload(9, 20)]
    );
    assert!(files(dir.path())?.contains(&format!("{}.bad", data_name("q", 1))));
    assert_eq!(q.depth(), 0);
    Ok(())
}

/// A small deterministic generator (the model check must be reproducible).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Random puts, plain pops, unacknowledged pops, out-of-order acks, syncs, closes and
/// crashes over small files, checked against a model: after every crash or close the
/// queue holds, in order, every record put from some point on, and that point is no
/// later than the oldest record that was neither popped-and-acked nor popped plainly;
/// after a sync-then-crash the reloaded depth is exact; no file is leaked.
#[test]
fn model_check_no_unacked_record_is_ever_lost() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut rng = Lcg(0x5eed);
    let mut next_put = 0usize;
    let mut next_pop = 0usize;
    let config = DiskQueueConfig {
        sync_every: 16,
        sync_timeout: Duration::ZERO,
        ..cfg(150)
    };
    let len = |i: usize| 8 + (i * 7) % 60;
    let mut q = DiskQueue::open("q", dir.path(), config.clone())?;
    // Unacknowledged records: index → token.
    let mut outstanding: BTreeMap<usize, AckToken> = BTreeMap::new();
    let mut synced_last = false;
    let mut duplicates = 0usize;
    let mut restarts = 0usize;
    for round in 0..2000 {
        match rng.below(100) {
            0..=29 => {
                q.put(&payload(next_put, len(next_put)))?;
                next_put += 1;
                synced_last = false;
            }
            30..=39 => {
                if let Some(p) = q.pop() {
                    assert_eq!(
                        p.to_vec(),
                        payload(next_pop, len(next_pop)),
                        "round {round}"
                    );
                    next_pop += 1;
                    synced_last = false;
                }
            }
            40..=59 => {
                if let Some((p, t)) = q.pop_unacked() {
                    assert_eq!(
                        p.to_vec(),
                        payload(next_pop, len(next_pop)),
                        "round {round}"
                    );
                    outstanding.insert(next_pop, t);
                    next_pop += 1;
                    synced_last = false;
                }
            }
            60..=84 => {
                if !outstanding.is_empty() {
                    let k = rng.below(outstanding.len() as u64) as usize;
                    if let Some((&i, &t)) = outstanding.iter().nth(k) {
                        q.ack(t);
                        outstanding.remove(&i);
                        synced_last = false;
                    }
                }
            }
            85..=89 => {
                q.tick()?;
            }
            90..=93 => {
                q.sync()?;
                synced_last = true;
            }
            _ => {
                // Crash (drop) or close, then reopen and check the resume point.
                let closing = rng.below(2) == 0;
                restarts += 1;
                if closing {
                    q.close()?;
                }
                let exact_depth = closing || synced_last;
                drop(q);
                q = DiskQueue::open("q", dir.path(), config.clone())?;
                let must_keep = outstanding.keys().next().copied().unwrap_or(next_pop);
                let depth = q.depth();
                let back = drain(&q);
                let resume = next_put - back.len();
                assert!(
                    resume <= must_keep,
                    "round {round}: resumed at {resume}, but {must_keep} was not acknowledged"
                );
                if closing && outstanding.is_empty() {
                    assert_eq!(resume, next_pop, "round {round}: close loses no position");
                }
                let want: Vec<Vec<u8>> = (resume..next_put).map(|i| payload(i, len(i))).collect();
                assert!(back == want, "round {round}: records {resume}.. in order");
                if exact_depth {
                    assert_eq!(depth, back.len() as i64, "round {round}: persisted depth");
                }
                duplicates += next_pop.saturating_sub(resume);
                assert!(!files(dir.path())?.iter().any(|f| f.ends_with(".bad")));
                // Everything was drained by plain pops: the queue is caught up.
                outstanding.clear();
                next_pop = next_put;
                synced_last = false;
            }
        }
    }
    // Acknowledge the rest and drain: only the write file and the metadata remain.
    for t in outstanding.values() {
        q.ack(*t);
    }
    drain(&q);
    q.close()?;
    let data_files: Vec<String> = files(dir.path())?
        .into_iter()
        .filter(|f| f.ends_with(".dat") && !f.ends_with("meta.dat"))
        .collect();
    assert!(data_files.len() <= 1, "leaked files: {data_files:?}");
    assert!(
        duplicates > 0,
        "the scenario should have produced redeliveries"
    );
    eprintln!("model check: {restarts} restarts, {duplicates} redeliveries, {next_put} records");
    Ok(())
}
