//! A connection owned by one task: handshake, request/response helpers and a consumer loop
//! that answers heartbeats by itself.

use std::collections::VecDeque;

use bytes::Bytes;
use nsq_protocol::frame::{CLOSE_WAIT, OK};
use nsq_protocol::{Message, MessageId};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::error::{is_non_fatal_code, Error};
use crate::frame::Frame;
use crate::identify::{Config, IdentifyResponse};
use crate::io::{CommandWriter, FrameReader};

/// What [`Connection::next_event`] can yield besides errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A delivered message; the caller owes a FIN, REQ or TOUCH.
    Message(Message),
    /// A response frame other than a heartbeat (e.g. `CLOSE_WAIT`).
    Response(Bytes),
    /// An error frame after which the server keeps the connection open
    /// (`E_FIN_FAILED`, `E_REQ_FAILED`, `E_TOUCH_FAILED`), as an [`Error::Server`].
    NonFatal(String, String),
}

/// An identified connection to nsqd.
///
/// Invariants: the handshake (magic + IDENTIFY) has succeeded; commands are buffered until a
/// helper flushes them (every `async` helper flushes before it waits, so nothing buffered is
/// ever forgotten while blocking); heartbeats seen by any helper are answered with `NOP`;
/// messages that arrive while a helper waits for a response are kept, in order, for
/// [`Connection::next_event`].
#[derive(Debug)]
pub struct Connection<R = OwnedReadHalf, W = OwnedWriteHalf> {
    reader: FrameReader<R>,
    writer: CommandWriter<W>,
    identify: IdentifyResponse,
    held: VecDeque<Message>,
}

impl Connection {
    /// Connects over TCP (with `TCP_NODELAY`), sends the magic and IDENTIFY, and checks the
    /// answer, all within `config.connect_timeout`.
    pub async fn connect(addr: impl ToSocketAddrs, config: &Config) -> Result<Connection, Error> {
        let fut = async {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (rd, wr) = stream.into_split();
            Connection::handshake(rd, wr, config).await
        };
        tokio::time::timeout(config.connect_timeout, fut)
            .await
            .map_err(|_| Error::Timeout("connect + IDENTIFY"))?
    }
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Connection<R, W> {
    /// Performs the V2 handshake over an already connected byte stream.
    pub async fn handshake(rd: R, wr: W, config: &Config) -> Result<Connection<R, W>, Error> {
        let mut reader = FrameReader::with_read_chunk(rd, config.read_buffer_size);
        let mut writer = CommandWriter::new(wr);
        crate::command::magic(writer.buffer_mut());
        writer.identify(&config.identify_json());
        writer.flush().await?;
        let identify = match reader.next_frame().await? {
            Frame::Response(data) => IdentifyResponse::parse(&data)?,
            Frame::Error(data) => return Err(Error::from_error_frame(&data)),
            Frame::Message(_) => {
                return Err(Error::Unexpected(
                    "a message before IDENTIFY's answer".into(),
                ))
            }
        };
        Ok(Connection {
            reader,
            writer,
            identify,
            held: VecDeque::new(),
        })
    }

    /// What the server answered to IDENTIFY.
    pub fn identify_response(&self) -> &IdentifyResponse {
        &self.identify
    }

    /// The command buffer, for commands without a dedicated helper. Flushed by the next
    /// `async` helper or [`Connection::flush`].
    pub fn writer(&mut self) -> &mut CommandWriter<W> {
        &mut self.writer
    }

    /// Writes all buffered commands.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.writer.flush().await
    }

    /// Buffers `RDY count`.
    pub fn rdy(&mut self, count: u64) {
        self.writer.rdy(count);
    }

    /// Buffers `FIN id`.
    pub fn fin(&mut self, id: &MessageId) {
        self.writer.fin(id);
    }

    /// Buffers `REQ id timeout_ms`.
    pub fn req(&mut self, id: &MessageId, timeout_ms: u64) {
        self.writer.req(id, timeout_ms);
    }

    /// Buffers `TOUCH id`.
    pub fn touch(&mut self, id: &MessageId) {
        self.writer.touch(id);
    }

    /// `SUB topic channel`, waiting for `OK`.
    pub async fn subscribe(&mut self, topic: &str, channel: &str) -> Result<(), Error> {
        self.writer.sub(topic, channel);
        self.expect_ok().await
    }

    /// `PUB topic body`, waiting for `OK`.
    pub async fn publish(&mut self, topic: &str, body: &[u8]) -> Result<(), Error> {
        self.writer.publish(topic, body);
        self.expect_ok().await
    }

    /// `MPUB topic bodies`, waiting for `OK` (all or nothing on the server).
    pub async fn multi_publish<B: AsRef<[u8]>>(
        &mut self,
        topic: &str,
        bodies: &[B],
    ) -> Result<(), Error> {
        self.writer.multi_publish(topic, bodies);
        self.expect_ok().await
    }

    /// `DPUB topic defer_ms body`, waiting for `OK`.
    pub async fn deferred_publish(
        &mut self,
        topic: &str,
        defer_ms: u64,
        body: &[u8],
    ) -> Result<(), Error> {
        self.writer.deferred_publish(topic, defer_ms, body);
        self.expect_ok().await
    }

    /// Flushes, then waits for the next response frame and requires it to be `OK`.
    pub async fn expect_ok(&mut self) -> Result<(), Error> {
        let data = self.response().await?;
        if &data[..] == OK {
            Ok(())
        } else {
            Err(Error::Unexpected(format!(
                "expected OK, got {:?}",
                String::from_utf8_lossy(&data)
            )))
        }
    }

    /// Flushes, then waits for the next non-heartbeat response frame. Messages arriving
    /// meanwhile are held for [`Connection::next_event`]; an error frame becomes an error.
    pub async fn response(&mut self) -> Result<Bytes, Error> {
        self.writer.flush().await?;
        loop {
            match self.reader.next_frame().await? {
                f @ Frame::Response(_) if f.is_heartbeat() => self.answer_heartbeat().await?,
                Frame::Response(data) => return Ok(data),
                Frame::Error(data) => return Err(Error::from_error_frame(&data)),
                Frame::Message(m) => self.held.push_back(m),
            }
        }
    }

    async fn answer_heartbeat(&mut self) -> Result<(), Error> {
        self.writer.nop();
        self.writer.flush().await
    }

    /// The next message or notable frame. Heartbeats are answered and skipped; buffered
    /// commands (e.g. FINs) are flushed before blocking on the socket; fatal error frames
    /// become [`Error::Server`].
    pub async fn next_event(&mut self) -> Result<Event, Error> {
        if let Some(m) = self.held.pop_front() {
            return Ok(Event::Message(m));
        }
        loop {
            let frame = match self.reader.buffered_frame()? {
                Some(f) => f,
                None => {
                    self.writer.flush().await?;
                    self.reader.next_frame().await?
                }
            };
            match frame {
                Frame::Message(m) => return Ok(Event::Message(m)),
                f @ Frame::Response(_) if f.is_heartbeat() => self.answer_heartbeat().await?,
                Frame::Response(data) => return Ok(Event::Response(data)),
                Frame::Error(data) => {
                    return match Error::from_error_frame(&data) {
                        Error::Server { code, description } if is_non_fatal_code(&code) => {
                            Ok(Event::NonFatal(code, description))
                        }
                        other => Err(other),
                    };
                }
            }
        }
    }

    /// The next message, skipping heartbeats. Any other frame is an error
    /// ([`Error::Unexpected`] for responses, [`Error::Server`] for error frames).
    pub async fn next_message(&mut self) -> Result<Message, Error> {
        match self.next_event().await? {
            Event::Message(m) => Ok(m),
            Event::Response(data) => Err(Error::Unexpected(format!(
                "response {:?} while waiting for a message",
                String::from_utf8_lossy(&data)
            ))),
            Event::NonFatal(code, description) => Err(Error::Server { code, description }),
        }
    }

    /// Graceful close: `CLS`, then waits for `CLOSE_WAIT` (messages still arriving are
    /// dropped; the server requeues them when the connection ends) and shuts the socket's
    /// write side.
    pub async fn close(mut self) -> Result<(), Error> {
        self.writer.cls();
        loop {
            match self.next_event().await? {
                Event::Response(data) if &data[..] == CLOSE_WAIT => break,
                Event::Response(data) => {
                    return Err(Error::Unexpected(format!(
                        "response {:?} while waiting for CLOSE_WAIT",
                        String::from_utf8_lossy(&data)
                    )))
                }
                Event::Message(_) | Event::NonFatal(..) => {}
            }
        }
        self.writer.shutdown().await
    }

    /// Splits into independently usable halves. Held messages are returned too; from now
    /// on the caller answers heartbeats ([`crate::Frame::is_heartbeat`] → `NOP`).
    pub fn into_split(self) -> (FrameReader<R>, CommandWriter<W>, Vec<Message>) {
        (self.reader, self.writer, self.held.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use nsq_protocol::frame::{frame_bytes, HEARTBEAT};
    use nsq_protocol::FrameType;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    /// A scripted server side: reads exactly `expect` then writes `reply`.
    async fn step(srv: &mut DuplexStream, expect: &[u8], reply: &[u8]) {
        let mut got = vec![0u8; expect.len()];
        srv.read_exact(&mut got).await.expect("read");
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expect)
        );
        srv.write_all(reply).await.expect("write");
    }

    fn msg_frame(id: &[u8; 16], body: &'static [u8]) -> Vec<u8> {
        let m = Message::new(MessageId(*id), 1, Bytes::from_static(body));
        let mut b = BytesMut::new();
        m.encode_frame(&mut b);
        b.to_vec()
    }

    async fn pair() -> (
        tokio::task::JoinHandle<
            Result<
                Connection<tokio::io::ReadHalf<DuplexStream>, tokio::io::WriteHalf<DuplexStream>>,
                Error,
            >,
        >,
        DuplexStream,
    ) {
        let (cli, srv) = tokio::io::duplex(1 << 16);
        let (rd, wr) = tokio::io::split(cli);
        let h =
            tokio::spawn(async move { Connection::handshake(rd, wr, &Config::minimal("t")).await });
        (h, srv)
    }

    #[tokio::test]
    async fn publish_answers_heartbeat_and_holds_messages() {
        let (h, mut srv) = pair().await;
        let json = Config::minimal("t").identify_json();
        let mut hello = b"  V2IDENTIFY\n".to_vec();
        hello.extend((json.len() as u32).to_be_bytes());
        hello.extend(&json);
        step(&mut srv, &hello, &frame_bytes(FrameType::Response, b"OK")).await;
        let mut conn = h.await.expect("join").expect("handshake");
        assert!(!conn.identify_response().negotiated);

        let server = tokio::spawn(async move {
            let mut reply = frame_bytes(FrameType::Response, HEARTBEAT);
            reply.extend(msg_frame(b"0000000000000001", b"m1"));
            reply.extend(frame_bytes(FrameType::Response, b"OK"));
            step(&mut srv, b"PUB t\n\0\0\0\x01x", &reply).await;
            // the heartbeat is answered
            step(&mut srv, b"NOP\n", &[]).await;
            let mut reply = frame_bytes(FrameType::Error, b"E_FIN_FAILED nope");
            reply.extend(msg_frame(b"0000000000000002", b"m2"));
            step(&mut srv, b"FIN 0000000000000001\n", &reply).await;
            srv
        });
        conn.publish("t", b"x").await.expect("publish");
        let m1 = conn.next_message().await.expect("held message");
        assert_eq!(&m1.body[..], b"m1");
        conn.fin(&m1.id);
        assert_eq!(
            conn.next_event().await.expect("non-fatal"),
            Event::NonFatal("E_FIN_FAILED".into(), "nope".into())
        );
        let m2 = conn.next_message().await.expect("m2");
        assert_eq!(&m2.body[..], b"m2");
        let mut srv = server.await.expect("server");
        srv.write_all(&frame_bytes(FrameType::Error, b"E_INVALID bad"))
            .await
            .expect("write");
        match conn.next_message().await {
            Err(Error::Server { code, .. }) => assert_eq!(code, "E_INVALID"),
            other => panic!("{other:?}"),
        }
        drop(srv);
        assert!(matches!(conn.next_event().await, Err(Error::Closed)));
    }

    #[tokio::test]
    async fn identify_error_is_reported() {
        let (h, mut srv) = pair().await;
        let mut sink = vec![0u8; 4];
        srv.read_exact(&mut sink).await.expect("magic");
        srv.write_all(&frame_bytes(FrameType::Error, b"E_BAD_BODY IDENTIFY x"))
            .await
            .expect("write");
        match h.await.expect("join") {
            Err(Error::Server { code, .. }) => assert_eq!(code, "E_BAD_BODY"),
            other => panic!("{other:?}"),
        }
    }
}
