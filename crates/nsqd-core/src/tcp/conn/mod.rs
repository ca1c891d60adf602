//! One client connection's IO loop: reads commands strictly in order, executes them, and
//! writes responses. Responses to pipelined commands are batched into one write, which is
//! issued before the loop blocks on the socket again.
//!
//! The command handlers live in child modules by concern: [`handshake`] (IDENTIFY and its
//! upgrades, AUTH), [`consume`] (SUB, RDY, FIN, REQ, TOUCH, CLS) and [`publish`] (PUB,
//! MPUB, DPUB).

mod consume;
mod handshake;
mod publish;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use nsq_protocol::frame::write_frame;
use nsq_protocol::{ClientError, CommandName, ErrorCode, FrameType};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex as AsyncMutex;

use super::authz::AuthSession;
use super::identify::Negotiated;
use super::reader::{CommandReader, ReadError};
use super::transport::ConnWriter;
use crate::client::Client;
use crate::daemon::Daemon;
use crate::options::TlsRequired;
use crate::security::Security;
use crate::topic::Topic;

type CmdResult = Result<Option<&'static [u8]>, ClientError>;

/// The IO loop's state for one connection.
pub struct Conn {
    /// Set when FIN/REQ opened this client's RDY window; the pump is woken once before
    /// the IO loop blocks on the socket again, not once per command.
    wake_pump: bool,
    daemon: Arc<Daemon>,
    client: Arc<Client>,
    reader: CommandReader,
    writer: Arc<AsyncMutex<ConnWriter>>,
    /// Responses not yet written.
    out: BytesMut,
    negotiated: Negotiated,
    /// Last topic published to, to skip the topic-map lookup on the hot path.
    topic_cache: Option<Arc<Topic>>,
    /// TLS and auth configuration.
    security: Arc<Security>,
    /// The client's IP for the auth server (empty for unix sockets).
    remote_ip: String,
    /// Subject CN of the client certificate after a TLS upgrade.
    tls_common_name: String,
    /// AUTH secret and the auth server's answer.
    authz: AuthSession,
}

/// Why a body could not be read: maps to the command's "failed to read ..." texts.
enum BodyError {
    Read(ReadError),
}

impl Conn {
    /// Sets up the IO loop state.
    pub fn new(
        daemon: Arc<Daemon>,
        client: Arc<Client>,
        reader: CommandReader,
        writer: Arc<AsyncMutex<ConnWriter>>,
        security: Arc<Security>,
    ) -> Conn {
        let remote_ip = super::listener::split_host_port(&client.remote_addr)
            .map(|(host, _)| host)
            .unwrap_or_default();
        let negotiated = Negotiated {
            heartbeat_ms: client.heartbeat_ms.load(Ordering::Relaxed),
            output_buffer_size: client.output_buffer_size.load(Ordering::Relaxed),
            output_buffer_timeout_ms: daemon.opts.output_buffer_timeout.as_millis() as i64,
            sample_rate: 0,
            msg_timeout_ms: daemon.opts.msg_timeout.as_millis() as i64,
        };
        Conn {
            wake_pump: false,
            daemon,
            client,
            reader,
            writer,
            out: BytesMut::with_capacity(1024),
            negotiated,
            topic_cache: None,
            security,
            remote_ip,
            tls_common_name: String::new(),
            authz: AuthSession::default(),
        }
    }

    /// Runs until EOF, a fatal error, a read deadline, or a close request.
    pub async fn run(mut self) {
        loop {
            self.arm_deadline();
            let line = match self.next_line().await {
                Ok(l) => l,
                Err(e) => {
                    match e {
                        ReadError::Eof => {}
                        ReadError::Io(ref io)
                            if io.kind() == std::io::ErrorKind::Other
                                && self.client.exiting.load(Ordering::Acquire) => {}
                        e => tracing::error!(
                            "[{}] IOLoop error - failed to read command - {e}",
                            self.client.remote_addr
                        ),
                    }
                    break;
                }
            };
            match self.exec(nsq_protocol::command::trim_line(&line)).await {
                Ok(Some(resp)) => write_frame(&mut self.out, FrameType::Response, resp),
                Ok(None) => {}
                Err(err) => {
                    write_frame(&mut self.out, FrameType::Error, err.to_string().as_bytes());
                    if err.is_fatal() {
                        tracing::error!("[{}] - {err}", self.client.remote_addr);
                        let _ = self.flush_out().await;
                        break;
                    }
                }
            }
        }
        let _ = self.flush_out().await;
    }

    fn arm_deadline(&mut self) {
        let hb = self.client.heartbeat_ms.load(Ordering::Relaxed);
        self.reader.deadline =
            (hb > 0).then(|| tokio::time::Instant::now() + Duration::from_millis(2 * hb as u64));
    }

    /// Writes pending responses.
    async fn flush_out(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let writer = Arc::clone(&self.writer);
        let mut w = writer.lock().await;
        self.flush_out_to(&mut w).await
    }

    /// Writes (and flushes, for the TLS and compression layers) pending responses through an
    /// already locked writer, bounded by the heartbeat interval as the write deadline.
    async fn flush_out_to(&mut self, w: &mut ConnWriter) -> std::io::Result<()> {
        let hb = self.client.heartbeat_ms.load(Ordering::Relaxed);
        let write = async {
            w.write_all(&self.out).await?;
            w.flush().await
        };
        let res = if hb > 0 {
            match tokio::time::timeout(Duration::from_millis(hb as u64), write).await {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "write deadline exceeded",
                )),
            }
        } else {
            write.await
        };
        self.out.clear();
        res
    }

    /// Reads more bytes, first writing any pending responses (the client may be waiting for
    /// them before it sends more), and stopping early if the connection must close.
    async fn fill(&mut self) -> Result<(), ReadError> {
        if self.wake_pump {
            self.wake_pump = false;
            self.client.pump_wake.notify_one();
        }
        if !self.out.is_empty() {
            self.flush_out().await?;
        }
        if self.client.exiting.load(Ordering::Acquire) {
            return Err(ReadError::Eof);
        }
        let client = Arc::clone(&self.client);
        tokio::select! {
            r = self.reader.fill() => r,
            _ = client.close_wake.notified() => Err(ReadError::Eof),
        }
    }

    async fn next_line(&mut self) -> Result<BytesMut, ReadError> {
        loop {
            if let Some(line) = self.reader.take_line()? {
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    async fn read_i32(&mut self) -> Result<i32, BodyError> {
        loop {
            if let Some(v) = self.reader.take_i32() {
                return Ok(v);
            }
            self.fill().await.map_err(BodyError::Read)?;
        }
    }

    async fn read_bytes(&mut self, n: usize) -> Result<Bytes, BodyError> {
        self.reader.reserve_for(n);
        loop {
            if let Some(b) = self.reader.take_bytes(n) {
                return Ok(b);
            }
            self.fill().await.map_err(BodyError::Read)?;
        }
    }

    async fn exec(&mut self, line: &[u8]) -> CmdResult {
        let params: Vec<&[u8]> = nsq_protocol::split_params(line);
        let name = params[0];
        let cmd = CommandName::parse(name);
        if cmd != Some(CommandName::Identify) && self.tls_required_but_missing() {
            return Err(ClientError::invalid(format!(
                "cannot {} in current state (TLS required)",
                String::from_utf8_lossy(name)
            )));
        }
        let Some(cmd) = cmd else {
            return Err(ClientError::invalid(format!(
                "invalid command {}",
                String::from_utf8_lossy(name)
            )));
        };
        match cmd {
            CommandName::Nop => Ok(None),
            CommandName::Identify => self.identify().await,
            CommandName::Auth => self.auth(&params).await,
            CommandName::Sub => self.sub(&params).await,
            CommandName::Rdy => self.rdy(&params),
            CommandName::Fin => self.fin(&params),
            CommandName::Req => self.req(&params),
            CommandName::Touch => self.touch(&params),
            CommandName::Cls => self.cls(),
            CommandName::Pub => self.publish(&params).await,
            CommandName::Mpub => self.mpub(&params).await,
            CommandName::Dpub => self.dpub(&params).await,
        }
    }

    fn tls_required_but_missing(&self) -> bool {
        self.daemon.opts.tls_required != TlsRequired::No && !self.client.meta.lock().tls
    }

    fn state_is(&self, s: u8) -> bool {
        self.client.state() == s
    }

    async fn read_sized_body(&mut self, cmd: &str, max: i64) -> Result<Bytes, ClientError> {
        let bad = |d: String| ClientError::new(ErrorCode::BadBody, d);
        let size = self
            .read_i32()
            .await
            .map_err(|_| bad(format!("{cmd} failed to read body size")))?;
        if i64::from(size) > max {
            return Err(bad(format!("{cmd} body too big {size} > {max}")));
        }
        if size <= 0 {
            return Err(bad(format!("{cmd} invalid body size {size}")));
        }
        self.read_bytes(size as usize)
            .await
            .map_err(|_| bad(format!("{cmd} failed to read body")))
    }
}

impl From<BodyError> for ReadError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Read(r) => r,
        }
    }
}
