//! Message IDs: a snowflake-like 64-bit number rendered as 16 lowercase hex characters.
//!
//! `id = ((ts - EPOCH) << 22) | (node_id << 12) | sequence`, where `ts` is the wall clock in
//! ~1.05 ms ticks (`unix_nanos >> 20`). One generator exists per topic. Unlike the reference,
//! which sleeps 1 ms when 4096 IDs were taken within one tick or the clock went backwards,
//! we borrow the next tick: IDs stay unique and increasing and publishing never stalls.

use std::fmt;

/// The reference's custom epoch, in ~1 ms ticks.
const TWEPOCH: i64 = 1_288_834_974_288;
const SEQUENCE_BITS: u32 = 12;
const NODE_BITS: u32 = 10;
const SEQUENCE_MASK: i64 = (1 << SEQUENCE_BITS) - 1;

/// A 16-byte message ID as it appears on the wire. Clients send IDs back in FIN/REQ/TOUCH;
/// the server only checks their length, so any 16 bytes form a valid `MessageId`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// Builds an ID from exactly 16 bytes, or `None` for any other length.
    pub fn from_slice(b: &[u8]) -> Option<MessageId> {
        let arr: [u8; 16] = b.try_into().ok()?;
        Some(MessageId(arr))
    }

    /// The ID as (lossy) text, as printed in error messages.
    pub fn as_text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.as_text())
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_text())
    }
}

/// Generates strictly increasing IDs for one topic.
#[derive(Debug)]
pub struct IdGenerator {
    node_id: i64,
    last_tick: i64,
    sequence: i64,
}

fn hex_encode(v: u64) -> [u8; 16] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 60 - 4 * i as u32;
        *slot = HEX[((v >> shift) & 0xf) as usize];
    }
    out
}

impl IdGenerator {
    /// A generator for node `node_id` (taken modulo 1024).
    pub fn new(node_id: i64) -> IdGenerator {
        IdGenerator {
            node_id: node_id.rem_euclid(1 << NODE_BITS),
            last_tick: 0,
            sequence: 0,
        }
    }

    /// Next ID for a message published at `unix_nanos`.
    pub fn next(&mut self, unix_nanos: i64) -> MessageId {
        let tick = unix_nanos >> 20;
        if tick > self.last_tick {
            self.last_tick = tick;
            self.sequence = 0;
        } else {
            self.sequence = (self.sequence + 1) & SEQUENCE_MASK;
            if self.sequence == 0 {
                // Tick exhausted (or clock went backwards): borrow the next tick.
                self.last_tick += 1;
            }
        }
        let raw = ((self.last_tick - TWEPOCH) << (SEQUENCE_BITS + NODE_BITS))
            | (self.node_id << SEQUENCE_BITS)
            | self.sequence;
        MessageId(hex_encode(raw as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_hex_and_increasing() {
        let mut g = IdGenerator::new(5);
        let now = 1_700_000_000_000_000_000i64;
        let mut prev = g.next(now);
        assert!(prev
            .0
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)));
        for _ in 0..20_000 {
            let id = g.next(now);
            assert!(id > prev, "{id} <= {prev}");
            prev = id;
        }
        // clock going backwards still increases
        let id = g.next(now - 1_000_000_000);
        assert!(id > prev);
    }

    #[test]
    fn node_bits_in_place() {
        let mut g = IdGenerator::new(1023);
        let id = g.next(1 << 40);
        let v = u64::from_str_radix(&id.as_text(), 16).expect("hex");
        assert_eq!((v >> 12) & 0x3ff, 1023);
    }
}
