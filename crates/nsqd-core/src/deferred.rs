//! The per-channel deferred queue: messages waiting for a due time (DPUB, HTTP `defer`,
//! REQ with a delay). They do not count as in flight and never block ready messages.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

use nsq_protocol::{Message, MessageId};

struct Item {
    due: i64,
    seq: u64,
    message: Message,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.due == other.due && self.seq == other.seq
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    // Reversed: BinaryHeap is a max-heap and we want the earliest due first (FIFO on ties).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// Deferred messages of one channel, ordered by due time (monotonic ns).
#[derive(Default)]
pub struct Deferred {
    heap: BinaryHeap<Item>,
    ids: HashSet<MessageId>,
    seq: u64,
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deferred")
            .field("len", &self.heap.len())
            .finish()
    }
}

impl Deferred {
    /// Number of deferred messages.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True iff nothing is deferred.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Adds a message due at `due`; returns `false` if its ID is already deferred.
    pub fn push(&mut self, message: Message, due: i64) -> bool {
        if !self.ids.insert(message.id) {
            return false;
        }
        self.seq += 1;
        self.heap.push(Item {
            due,
            seq: self.seq,
            message,
        });
        true
    }

    /// The earliest due time.
    pub fn next_due(&self) -> Option<i64> {
        self.heap.peek().map(|i| i.due)
    }

    /// Removes and returns the earliest message if it is due at `now`.
    pub fn pop_due(&mut self, now: i64) -> Option<Message> {
        if self.heap.peek()?.due > now {
            return None;
        }
        let item = self.heap.pop()?;
        self.ids.remove(&item.message.id);
        Some(item.message)
    }

    /// Removes everything, earliest first, with due times.
    pub fn drain(&mut self) -> Vec<(Message, i64)> {
        self.ids.clear();
        let mut items = std::mem::take(&mut self.heap).into_sorted_vec();
        items.reverse();
        items.into_iter().map(|i| (i.message, i.due)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(n: u32) -> Message {
        let id = format!("{n:016x}");
        Message::new(
            MessageId::from_slice(id.as_bytes()).expect("16"),
            0,
            Bytes::new(),
        )
    }

    #[test]
    fn due_order_and_fifo_ties() {
        let mut d = Deferred::default();
        d.push(msg(1), 50);
        d.push(msg(2), 10);
        d.push(msg(3), 10);
        assert!(!d.push(msg(3), 5));
        assert_eq!(d.next_due(), Some(10));
        assert!(d.pop_due(9).is_none());
        assert_eq!(d.pop_due(10).map(|m| m.id), Some(msg(2).id));
        assert_eq!(d.pop_due(10).map(|m| m.id), Some(msg(3).id));
        assert!(d.pop_due(10).is_none());
        let rest = d.drain();
        assert_eq!(rest.len(), 1);
        assert!(d.is_empty());
    }
}
