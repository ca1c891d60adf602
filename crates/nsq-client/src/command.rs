//! Encoding client → server commands into a write buffer.
//!
//! Every function appends one complete command to `buf` and nothing else, so commands can be
//! pipelined by appending several before one flush. Names are not validated here: the server
//! is the authority and answers invalid ones with an error frame.

use bytes::{BufMut, BytesMut};
use nsq_protocol::MessageId;

fn line(buf: &mut BytesMut, parts: &[&[u8]]) {
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b' ');
        }
        buf.put_slice(p);
    }
    buf.put_u8(b'\n');
}

fn body_len(len: usize) -> u32 {
    // Bodies longer than u32::MAX cannot be framed; the server rejects anything near that
    // size anyway, so saturating produces a refused command rather than a corrupt stream.
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// The 4-byte protocol magic `  V2`, sent once right after connecting.
pub fn magic(buf: &mut BytesMut) {
    buf.put_slice(nsq_protocol::MAGIC_V2);
}

/// `IDENTIFY\n[size][json]`.
pub fn identify(buf: &mut BytesMut, json: &[u8]) {
    buf.put_slice(b"IDENTIFY\n");
    buf.put_u32(body_len(json.len()));
    buf.put_slice(json);
}

/// `AUTH\n[size][secret]`: authenticate with the server's auth service (sent after
/// IDENTIFY when the server answered `auth_required`).
pub fn auth(buf: &mut BytesMut, secret: &[u8]) {
    buf.put_slice(b"AUTH\n");
    buf.put_u32(body_len(secret.len()));
    buf.put_slice(secret);
}

/// `SUB <topic> <channel>\n`.
pub fn sub(buf: &mut BytesMut, topic: &str, channel: &str) {
    line(buf, &[b"SUB", topic.as_bytes(), channel.as_bytes()]);
}

/// `RDY <count>\n`.
pub fn rdy(buf: &mut BytesMut, count: u64) {
    line(buf, &[b"RDY", count.to_string().as_bytes()]);
}

/// `FIN <id>\n`.
pub fn fin(buf: &mut BytesMut, id: &MessageId) {
    line(buf, &[b"FIN", &id.0]);
}

/// `REQ <id> <timeout_ms>\n`.
pub fn req(buf: &mut BytesMut, id: &MessageId, timeout_ms: u64) {
    line(buf, &[b"REQ", &id.0, timeout_ms.to_string().as_bytes()]);
}

/// `TOUCH <id>\n`.
pub fn touch(buf: &mut BytesMut, id: &MessageId) {
    line(buf, &[b"TOUCH", &id.0]);
}

/// `NOP\n` (the answer to a heartbeat).
pub fn nop(buf: &mut BytesMut) {
    buf.put_slice(b"NOP\n");
}

/// `CLS\n`: ask the server to stop deliveries; it answers `CLOSE_WAIT`.
pub fn cls(buf: &mut BytesMut) {
    buf.put_slice(b"CLS\n");
}

/// `PUB <topic>\n[size][body]`.
pub fn publish(buf: &mut BytesMut, topic: &str, body: &[u8]) {
    buf.reserve(topic.len() + body.len() + 9);
    line(buf, &[b"PUB", topic.as_bytes()]);
    buf.put_u32(body_len(body.len()));
    buf.put_slice(body);
}

/// `DPUB <topic> <defer_ms>\n[size][body]`.
pub fn deferred_publish(buf: &mut BytesMut, topic: &str, defer_ms: u64, body: &[u8]) {
    line(
        buf,
        &[b"DPUB", topic.as_bytes(), defer_ms.to_string().as_bytes()],
    );
    buf.put_u32(body_len(body.len()));
    buf.put_slice(body);
}

/// `MPUB <topic>\n[size][count]([size][body])*`.
pub fn multi_publish<B: AsRef<[u8]>>(buf: &mut BytesMut, topic: &str, bodies: &[B]) {
    let payload: usize = 4 + bodies.iter().map(|b| 4 + b.as_ref().len()).sum::<usize>();
    buf.reserve(topic.len() + 10 + payload);
    line(buf, &[b"MPUB", topic.as_bytes()]);
    buf.put_u32(body_len(payload));
    buf.put_u32(body_len(bodies.len()));
    for b in bodies {
        let b = b.as_ref();
        buf.put_u32(body_len(b.len()));
        buf.put_slice(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut b = BytesMut::new();
        f(&mut b);
        b.to_vec()
    }

    #[test]
    fn simple_lines() {
        let id = MessageId(*b"0123456789abcdef");
        assert_eq!(enc(|b| sub(b, "t", "c")), b"SUB t c\n");
        assert_eq!(enc(|b| rdy(b, 2500)), b"RDY 2500\n");
        assert_eq!(enc(|b| fin(b, &id)), b"FIN 0123456789abcdef\n");
        assert_eq!(enc(|b| req(b, &id, 10)), b"REQ 0123456789abcdef 10\n");
        assert_eq!(enc(|b| touch(b, &id)), b"TOUCH 0123456789abcdef\n");
        assert_eq!(enc(nop), b"NOP\n");
        assert_eq!(enc(cls), b"CLS\n");
        assert_eq!(enc(magic), b"  V2");
    }

    #[test]
    fn bodies() {
        assert_eq!(enc(|b| publish(b, "t", b"hi")), b"PUB t\n\0\0\0\x02hi");
        assert_eq!(
            enc(|b| deferred_publish(b, "t", 5, b"x")),
            b"DPUB t 5\n\0\0\0\x01x"
        );
        assert_eq!(
            enc(|b| multi_publish(b, "t", &[&b"a"[..], &b"bc"[..]])),
            b"MPUB t\n\0\0\0\x0f\0\0\0\x02\0\0\0\x01a\0\0\0\x02bc"
        );
        assert_eq!(enc(|b| identify(b, b"{}")), b"IDENTIFY\n\0\0\0\x02{}");
        assert_eq!(enc(|b| auth(b, b"s3")), b"AUTH\n\0\0\0\x02s3");
    }
}
