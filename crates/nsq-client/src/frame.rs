//! Decoding server → client frames (`[size u32][type i32][data]`) from a byte buffer.
//!
//! Kept free of IO so it can be tested byte by byte; [`crate::io::FrameReader`] feeds it.

use bytes::{Buf, Bytes, BytesMut};
use nsq_protocol::frame::HEARTBEAT;
use nsq_protocol::{FrameType, Message};

use crate::error::Error;

/// Largest frame the decoder accepts by default (nsqd's own `--max-msg-size` default is
/// 1 MiB; `--max-body-size` 5 MiB). Anything larger is treated as a corrupt stream.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// One decoded frame. Data shares the receive buffer's allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A response frame: `OK`, `_heartbeat_`, `CLOSE_WAIT`, or IDENTIFY JSON.
    Response(Bytes),
    /// An error frame: `CODE description`.
    Error(Bytes),
    /// A message frame, decoded.
    Message(Message),
}

impl Frame {
    /// True for the `_heartbeat_` response, which a client must answer with `NOP`.
    pub fn is_heartbeat(&self) -> bool {
        matches!(self, Frame::Response(b) if &b[..] == HEARTBEAT)
    }
}

/// Splits complete frames off the front of a buffer.
///
/// Invariant: [`FrameDecoder::decode`] either returns a whole frame and removes exactly its
/// bytes, returns `Ok(None)` leaving the buffer untouched (more bytes needed), or returns an
/// error for a stream that cannot be valid; it never panics on any input.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_len: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }
}

impl FrameDecoder {
    /// A decoder rejecting frames whose size word exceeds `max_frame_len`.
    pub fn with_max_frame_len(max_frame_len: usize) -> FrameDecoder {
        FrameDecoder { max_frame_len }
    }

    /// How many bytes the frame at the front of `buf` needs in total, if its size word has
    /// arrived. Lets a reader reserve room for a large frame in one go.
    pub fn needed(&self, buf: &[u8]) -> Option<usize> {
        let size: [u8; 4] = buf.get(..4)?.try_into().ok()?;
        Some(4 + u32::from_be_bytes(size) as usize)
    }

    /// Removes and returns the first complete frame of `buf`, if any.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        let Some(total) = self.needed(buf) else {
            return Ok(None);
        };
        let size = total - 4;
        if size < 4 {
            return Err(Error::Protocol(format!("frame size {size} is below 4")));
        }
        if size > self.max_frame_len {
            return Err(Error::Protocol(format!(
                "frame size {size} exceeds the limit of {}",
                self.max_frame_len
            )));
        }
        if buf.len() < total {
            return Ok(None);
        }
        let mut frame = buf.split_to(total).freeze();
        frame.advance(4);
        let ty = frame.get_i32();
        match FrameType::from_i32(ty) {
            Some(FrameType::Response) => Ok(Some(Frame::Response(frame))),
            Some(FrameType::Error) => Ok(Some(Frame::Error(frame))),
            Some(FrameType::Message) => Message::decode(frame)
                .map(|m| Some(Frame::Message(m)))
                .map_err(|e| Error::Protocol(e.to_string())),
            None => Err(Error::Protocol(format!("unknown frame type {ty}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsq_protocol::frame::frame_bytes;
    use nsq_protocol::MessageId;

    #[test]
    fn decodes_ok_then_waits() {
        let mut buf = BytesMut::from(&frame_bytes(FrameType::Response, b"OK")[..]);
        buf.extend_from_slice(&[0, 0, 0]);
        let d = FrameDecoder::default();
        assert_eq!(
            d.decode(&mut buf).expect("valid"),
            Some(Frame::Response(Bytes::from_static(b"OK")))
        );
        assert_eq!(buf.len(), 3);
        assert_eq!(d.decode(&mut buf).expect("partial"), None);
        assert_eq!(buf.len(), 3);
    }

    #[test]
    fn byte_by_byte_message() {
        let msg = Message::new(
            MessageId(*b"0123456789abcdef"),
            42,
            Bytes::from_static(b"body"),
        );
        let mut wire = BytesMut::new();
        msg.encode_frame(&mut wire);
        wire.extend_from_slice(&frame_bytes(FrameType::Response, HEARTBEAT));
        let d = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for b in wire.iter() {
            buf.extend_from_slice(&[*b]);
            while let Some(f) = d.decode(&mut buf).expect("valid") {
                out.push(f);
            }
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], Frame::Message(msg));
        assert!(out[1].is_heartbeat());
        assert!(buf.is_empty());
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let d = FrameDecoder::with_max_frame_len(1024);
        // size below 4
        let mut b = BytesMut::from(&[0u8, 0, 0, 2, 0, 0][..]);
        assert!(d.decode(&mut b).is_err());
        // too large
        let mut b = BytesMut::from(&[0u8, 1, 0, 0][..]);
        assert!(d.decode(&mut b).is_err());
        // unknown type
        let mut b = BytesMut::from(&[0u8, 0, 0, 4, 0, 0, 0, 9][..]);
        assert!(d.decode(&mut b).is_err());
        // message payload shorter than its header
        let mut b = BytesMut::from(&[0u8, 0, 0, 6, 0, 0, 0, 2, 1, 2][..]);
        assert!(d.decode(&mut b).is_err());
        // every prefix of every short input is fine
        for len in 0..12u8 {
            let mut b = BytesMut::from(&(0..len).collect::<Vec<u8>>()[..]);
            let _ = d.decode(&mut b);
        }
    }
}
