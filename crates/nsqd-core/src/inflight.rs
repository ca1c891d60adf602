//! The per-channel in-flight table: messages delivered and not yet finished, requeued or
//! timed out.
//!
//! Lookups by ID (FIN/REQ/TOUCH) go through a hash map; timeouts come from a min-heap on the
//! deadline. Entries removed by FIN/REQ are not removed from the heap eagerly: each heap slot
//! carries the entry's generation and is ignored when it no longer matches. The heap is
//! rebuilt from the map whenever stale slots outnumber live ones, so memory stays within
//! about twice the live set and every operation is amortised O(log n).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use nsq_protocol::{Message, MessageId};

/// One delivered message awaiting FIN/REQ/TOUCH or its timeout.
#[derive(Debug, Clone)]
pub struct InFlightEntry {
    /// The message as delivered (attempts already incremented).
    pub message: Message,
    /// The client connection that owns it.
    pub client_id: u64,
    /// Monotonic deadline in nanoseconds (see [`crate::clock`]).
    pub deadline: i64,
    /// When the current delivery happened (monotonic ns); TOUCH may not extend beyond
    /// `delivered_at + max_msg_timeout`.
    pub delivered_at: i64,
    generation: u64,
}

/// Why an in-flight operation failed; the texts are the reference's reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InFlightError {
    /// No such message in flight.
    #[error("ID not in flight")]
    NotInFlight,
    /// In flight, but delivered to another connection.
    #[error("client does not own message")]
    NotOwner,
}

/// In-flight messages of one channel.
#[derive(Debug, Default)]
pub struct InFlight {
    entries: HashMap<MessageId, InFlightEntry>,
    heap: BinaryHeap<Reverse<(i64, u64, MessageId)>>,
    next_generation: u64,
}

impl InFlight {
    /// Number of messages in flight.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True iff nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a delivered message. Returns `false` (and changes nothing) if the ID is already
    /// in flight, which only happens with duplicate IDs.
    pub fn insert(&mut self, message: Message, client_id: u64, now: i64, deadline: i64) -> bool {
        if self.entries.contains_key(&message.id) {
            return false;
        }
        self.next_generation += 1;
        let generation = self.next_generation;
        self.heap.push(Reverse((deadline, generation, message.id)));
        self.entries.insert(
            message.id,
            InFlightEntry {
                message,
                client_id,
                deadline,
                delivered_at: now,
                generation,
            },
        );
        self.maybe_compact();
        true
    }

    /// Removes the message if `client_id` owns it.
    pub fn remove(
        &mut self,
        id: &MessageId,
        client_id: u64,
    ) -> Result<InFlightEntry, InFlightError> {
        match self.entries.get(id) {
            None => Err(InFlightError::NotInFlight),
            Some(e) if e.client_id != client_id => Err(InFlightError::NotOwner),
            Some(_) => {
                let e = self.entries.remove(id).ok_or(InFlightError::NotInFlight)?;
                self.maybe_compact();
                Ok(e)
            }
        }
    }

    /// Moves the deadline of an owned message to `new_deadline`.
    pub fn touch(
        &mut self,
        id: &MessageId,
        client_id: u64,
        new_deadline: i64,
    ) -> Result<(), InFlightError> {
        let e = self.entries.get_mut(id).ok_or(InFlightError::NotInFlight)?;
        if e.client_id != client_id {
            return Err(InFlightError::NotOwner);
        }
        self.next_generation += 1;
        e.generation = self.next_generation;
        e.deadline = new_deadline;
        self.heap.push(Reverse((new_deadline, e.generation, *id)));
        self.maybe_compact();
        Ok(())
    }

    /// Read access to an entry.
    pub fn get(&self, id: &MessageId) -> Option<&InFlightEntry> {
        self.entries.get(id)
    }

    /// Removes and returns the live entry with the earliest deadline if it is `<= now`.
    pub fn pop_expired(&mut self, now: i64) -> Option<InFlightEntry> {
        while let Some(Reverse((deadline, generation, id))) = self.heap.peek().copied() {
            let live = matches!(self.entries.get(&id), Some(e) if e.generation == generation);
            if !live {
                self.heap.pop();
                continue;
            }
            if deadline > now {
                return None;
            }
            self.heap.pop();
            return self.entries.remove(&id);
        }
        None
    }

    /// The earliest live deadline, if any (drops stale heap slots on the way).
    pub fn next_deadline(&mut self) -> Option<i64> {
        while let Some(Reverse((deadline, generation, id))) = self.heap.peek().copied() {
            if matches!(self.entries.get(&id), Some(e) if e.generation == generation) {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes everything, returning the entries (used by channel empty/close).
    pub fn drain(&mut self) -> Vec<InFlightEntry> {
        self.heap.clear();
        self.entries.drain().map(|(_, e)| e).collect()
    }

    /// Iterates over live entries (stats, shutdown flush).
    pub fn iter(&self) -> impl Iterator<Item = &InFlightEntry> {
        self.entries.values()
    }

    fn maybe_compact(&mut self) {
        if self.heap.len() > 2 * self.entries.len() + 1024 {
            self.heap = self
                .entries
                .iter()
                .map(|(id, e)| Reverse((e.deadline, e.generation, *id)))
                .collect();
        }
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
    fn expiry_order_and_ownership() {
        let mut f = InFlight::default();
        assert!(f.insert(msg(1), 7, 0, 300));
        assert!(f.insert(msg(2), 7, 0, 100));
        assert!(f.insert(msg(3), 8, 0, 200));
        assert!(!f.insert(msg(3), 8, 0, 200));
        assert_eq!(
            f.remove(&msg(3).id, 7).unwrap_err(),
            InFlightError::NotOwner
        );
        assert_eq!(
            f.remove(&msg(9).id, 7).unwrap_err(),
            InFlightError::NotInFlight
        );
        assert_eq!(f.next_deadline(), Some(100));
        assert!(f.pop_expired(99).is_none());
        assert_eq!(f.pop_expired(250).map(|e| e.message.id), Some(msg(2).id));
        assert_eq!(f.pop_expired(250).map(|e| e.message.id), Some(msg(3).id));
        assert!(f.pop_expired(250).is_none());
        f.touch(&msg(1).id, 7, 1000).expect("owned");
        assert!(f.pop_expired(999).is_none());
        assert_eq!(f.next_deadline(), Some(1000));
        assert!(f.remove(&msg(1).id, 7).is_ok());
        assert!(f.is_empty());
        assert_eq!(f.next_deadline(), None);
    }

    #[test]
    fn stale_slots_are_bounded() {
        let mut f = InFlight::default();
        for i in 0..100_000 {
            f.insert(msg(i), 1, 0, i64::from(i) + 1_000_000);
            f.remove(&msg(i).id, 1).expect("present");
        }
        assert!(f.heap.len() <= 2 * f.entries.len() + 1025);
    }
}
