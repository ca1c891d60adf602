//! Due times of deferred messages that were written to a disk queue.
//!
//! The go-diskqueue record has no room for a due time (its payload is the message layout the
//! reference reads), so the reference delivers a deferred message at once after it spilled
//! to disk or survived a restart. We keep the due times beside the queue in
//! `<name>.diskqueue.deferred.dat`: one line `<16-byte message id> <due unix ns>` per
//! message. When such a message comes back from disk before its due time, it goes to the
//! channel's deferred queue instead of being delivered. The reference never opens this file,
//! so a data directory written by us still loads in the reference (which then delivers those
//! messages immediately, as it always did).
//!
//! Lines are appended as messages spill (one write per batch), so the index survives a
//! crash too; the file is rewritten compactly at close and removed when empty.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use nsq_protocol::MessageId;

/// The index of one disk queue. Invariant: every entry refers to a message written to that
/// queue and not yet read back.
#[derive(Debug)]
pub struct DeferredIndex {
    path: PathBuf,
    due: HashMap<MessageId, i64>,
}

impl DeferredIndex {
    /// Loads the index of queue `name` in `dir` (missing or unreadable lines are skipped).
    pub fn load(name: &str, dir: &Path) -> DeferredIndex {
        let path = dir.join(format!("{name}.diskqueue.deferred.dat"));
        let mut due = HashMap::new();
        if let Ok(text) = std::fs::read(&path) {
            for line in text.split(|&b| b == b'\n') {
                if line.len() < 18 || line[16] != b' ' {
                    continue;
                }
                let Some(id) = MessageId::from_slice(&line[..16]) else {
                    continue;
                };
                let Some(ts) = std::str::from_utf8(&line[17..])
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                else {
                    continue;
                };
                due.insert(id, ts);
            }
        }
        DeferredIndex { path, due }
    }

    /// True iff no message is indexed.
    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    /// Records that these messages (id, due unix ns) were written to the queue.
    pub fn record(&mut self, entries: &[(MessageId, i64)]) {
        if entries.is_empty() {
            return;
        }
        let mut buf = Vec::with_capacity(entries.len() * 40);
        for (id, ts) in entries {
            self.due.insert(*id, *ts);
            buf.extend_from_slice(&id.0);
            buf.extend_from_slice(format!(" {ts}\n").as_bytes());
        }
        let res = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(&buf));
        if let Err(e) = res {
            tracing::error!(
                "failed to record deferred due times in {} - {e}",
                self.path.display()
            );
        }
    }

    /// Removes and returns the due time of a message read back from the queue.
    pub fn take(&mut self, id: &MessageId) -> Option<i64> {
        if self.due.is_empty() {
            return None;
        }
        self.due.remove(id)
    }

    /// Rewrites the file with the live entries (or removes it when there are none).
    pub fn compact(&self) {
        if self.due.is_empty() {
            let _ = std::fs::remove_file(&self.path);
            return;
        }
        let mut buf = Vec::with_capacity(self.due.len() * 40);
        for (id, ts) in &self.due {
            buf.extend_from_slice(&id.0);
            buf.extend_from_slice(format!(" {ts}\n").as_bytes());
        }
        let tmp = self
            .path
            .with_extension(format!("{}.tmp", rand::random::<u32>()));
        let res = std::fs::write(&tmp, &buf).and_then(|_| std::fs::rename(&tmp, &self.path));
        if let Err(e) = res {
            let _ = std::fs::remove_file(&tmp);
            tracing::error!("failed to write {} - {e}", self.path.display());
        }
    }

    /// Forgets everything and removes the file (queue emptied or deleted).
    pub fn clear(&mut self) {
        self.due.clear();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> MessageId {
        MessageId::from_slice(format!("{n:016x}").as_bytes()).expect("16 bytes")
    }

    #[test]
    fn survives_reload_and_compacts() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut ix = DeferredIndex::load("t:c", dir.path());
        assert!(ix.is_empty());
        ix.record(&[(id(1), 100), (id(2), 200)]);
        let mut again = DeferredIndex::load("t:c", dir.path());
        assert_eq!(again.take(&id(2)), Some(200));
        assert_eq!(again.take(&id(2)), None);
        again.compact();
        let mut third = DeferredIndex::load("t:c", dir.path());
        assert_eq!(third.take(&id(1)), Some(100));
        assert_eq!(third.take(&id(2)), None);
        third.compact();
        assert!(!dir.path().join("t:c.diskqueue.deferred.dat").exists());
    }
}
