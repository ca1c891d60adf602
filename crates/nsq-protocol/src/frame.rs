//! Server → client frames: `[size u32 BE][frame type i32 BE][data]`, where size counts the
//! frame-type word and the data but not itself.

use bytes::{BufMut, BytesMut};

/// The three frame types of protocol V2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum FrameType {
    /// `OK`, `CLOSE_WAIT`, `_heartbeat_`, IDENTIFY and AUTH JSON.
    Response = 0,
    /// `<CODE> <description>`.
    Error = 1,
    /// A message payload (see [`crate::message`]).
    Message = 2,
}

impl FrameType {
    /// Decodes a frame type word; unknown values yield `None`.
    pub fn from_i32(v: i32) -> Option<FrameType> {
        match v {
            0 => Some(FrameType::Response),
            1 => Some(FrameType::Error),
            2 => Some(FrameType::Message),
            _ => None,
        }
    }
}

/// The `OK` response body.
pub const OK: &[u8] = b"OK";
/// The response to CLS.
pub const CLOSE_WAIT: &[u8] = b"CLOSE_WAIT";
/// The heartbeat response body; clients answer it with NOP.
pub const HEARTBEAT: &[u8] = b"_heartbeat_";
/// Bytes of frame header (size + type) preceding the data.
pub const FRAME_HEADER_LEN: usize = 8;

/// Appends one complete frame to `buf`.
pub fn write_frame(buf: &mut BytesMut, frame_type: FrameType, data: &[u8]) {
    buf.reserve(FRAME_HEADER_LEN + data.len());
    buf.put_u32((data.len() + 4) as u32);
    buf.put_i32(frame_type as i32);
    buf.put_slice(data);
}

/// Returns one complete frame as a vector (convenience for tests and rare paths).
pub fn frame_bytes(frame_type: FrameType, data: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    write_frame(&mut b, frame_type, data);
    b.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_frame_bytes() {
        assert_eq!(
            frame_bytes(FrameType::Response, OK),
            [0, 0, 0, 6, 0, 0, 0, 0, b'O', b'K']
        );
    }

    #[test]
    fn bad_protocol_bytes() {
        let f = frame_bytes(FrameType::Error, b"E_BAD_PROTOCOL");
        assert_eq!(&f[..8], &[0, 0, 0, 0x12, 0, 0, 0, 1]);
    }
}
