//! The message payload layout, used both in message frames and as disk-queue records:
//! `[timestamp i64 BE ns][attempts u16 BE][16-byte ASCII id][body]`.

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::FrameType;
use crate::id::MessageId;

/// Bytes of payload header before the body (8 + 2 + 16).
pub const MESSAGE_HEADER_LEN: usize = 26;

/// One message as it travels through a topic and a channel.
///
/// Cloning is cheap: the body is a reference-counted [`Bytes`], so every channel's copy of a
/// message shares one body allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Unique (per topic) 16-byte ID; copies in different channels share it.
    pub id: MessageId,
    /// Publish time in nanoseconds since the Unix epoch; preserved across requeues and disk.
    pub timestamp: i64,
    /// Delivery attempts so far; incremented right before each delivery.
    pub attempts: u16,
    /// The message body as published.
    pub body: Bytes,
    /// Requested deferral in milliseconds (DPUB / HTTP `defer`); 0 means deliver now.
    pub defer_ms: u64,
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid message buffer size ({0})")]
pub struct DecodeError(pub usize);

impl Message {
    /// A fresh message (attempts 0, no deferral).
    pub fn new(id: MessageId, timestamp: i64, body: Bytes) -> Message {
        Message {
            id,
            timestamp,
            attempts: 0,
            body,
            defer_ms: 0,
        }
    }

    /// Length of the encoded payload.
    pub fn payload_len(&self) -> usize {
        MESSAGE_HEADER_LEN + self.body.len()
    }

    /// Appends the payload (no frame header) to `buf`.
    pub fn encode_payload(&self, buf: &mut BytesMut) {
        buf.reserve(self.payload_len());
        buf.put_i64(self.timestamp);
        buf.put_u16(self.attempts);
        buf.put_slice(&self.id.0);
        buf.put_slice(&self.body);
    }

    /// Appends a complete message frame (`[size][type 2][payload]`) to `buf`.
    pub fn encode_frame(&self, buf: &mut BytesMut) {
        buf.reserve(8 + self.payload_len());
        buf.put_u32((4 + self.payload_len()) as u32);
        buf.put_i32(FrameType::Message as i32);
        self.encode_payload(buf);
    }

    /// Decodes a payload; the body shares `payload`'s allocation.
    pub fn decode(payload: Bytes) -> Result<Message, DecodeError> {
        if payload.len() < MESSAGE_HEADER_LEN {
            return Err(DecodeError(payload.len()));
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&payload[0..8]);
        let attempts = u16::from_be_bytes([payload[8], payload[9]]);
        let mut id = [0u8; 16];
        id.copy_from_slice(&payload[10..26]);
        Ok(Message {
            id: MessageId(id),
            timestamp: i64::from_be_bytes(ts),
            attempts,
            body: payload.slice(MESSAGE_HEADER_LEN..),
            defer_ms: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_record_example_from_reference() {
        // Appendix A: body `y`, id 18a2cb34ba669000 (ascii), attempts 0.
        let rec: [u8; 27] = [
            0x18, 0xe9, 0xfb, 0x9d, 0x53, 0x9c, 0x22, 0x84, 0, 0, b'1', b'8', b'a', b'2', b'c',
            b'b', b'3', b'4', b'b', b'a', b'6', b'6', b'9', b'0', b'0', b'0', b'y',
        ];
        let m = Message::decode(Bytes::copy_from_slice(&rec)).expect("valid");
        assert_eq!(&m.id.0, b"18a2cb34ba669000");
        assert_eq!(m.attempts, 0);
        assert_eq!(&m.body[..], b"y");
        let mut out = BytesMut::new();
        m.encode_payload(&mut out);
        assert_eq!(&out[..], &rec[..]);
    }

    #[test]
    fn frame_header() {
        let m = Message::new(
            MessageId(*b"0123456789abcdef"),
            1,
            Bytes::from_static(b"hi"),
        );
        let mut out = BytesMut::new();
        m.encode_frame(&mut out);
        assert_eq!(&out[..8], &[0, 0, 0, 32, 0, 0, 0, 2]);
        assert_eq!(out.len(), 8 + 28);
    }

    #[test]
    fn short_payload_rejected() {
        assert!(Message::decode(Bytes::from_static(b"short")).is_err());
    }
}
