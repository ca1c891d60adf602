//! One nsqlookupd peer: its TCP connection, the V1 request/response exchange, and the
//! (re)connect sequence.
//!
//! The peer connects lazily: a command that finds it disconnected first dials (1 s), writes
//! the `"  V1"` magic, IDENTIFYs, re-announces every topic and channel the daemon has, and
//! only then sends the command, exactly as the reference does. Every write and every read
//! has a 1 s deadline; any failure closes the connection. Unlike the reference, a failed
//! connection attempt starts a backoff (1 s doubling to 15 s): commands arriving during it
//! are not sent (the re-announce at the next connection covers them) and a reconnection is
//! attempted when it ends, so a lookupd that comes back is re-registered promptly without
//! nsqd hammering one that is down.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::directory::Directory;
use super::wire::{Command, IdentifyReplyError, LookupdInfo};
use crate::daemon::Daemon;

/// Deadline of the dial and of every single write or read.
pub const IO_TIMEOUT: Duration = Duration::from_secs(1);
/// Interval of the keep-alive `PING`.
pub const PING_INTERVAL: Duration = Duration::from_secs(15);
/// First wait after a failed connection attempt.
pub const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// Why a command did not complete. The text is only logged.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Dialing failed.
    #[error("dial tcp {0}: {1}")]
    Dial(String, std::io::Error),
    /// A dial, write or read exceeded its deadline.
    #[error("{0} {1}: i/o timeout")]
    Timeout(&'static str, String),
    /// A write or read failed (including EOF).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The lookupd announced a response larger than `--max-body-size`.
    #[error("response body size ({0}) is greater than limit ({1})")]
    TooBig(i64, i64),
    /// The lookupd announced a negative response size.
    #[error("response body size ({0}) is invalid")]
    NegativeSize(i32),
    /// The IDENTIFY answer was refused or unparsable.
    #[error("{0}")]
    Identify(#[from] IdentifyReplyError),
    /// Connecting did not complete (IDENTIFY or the re-announce failed).
    #[error("lookupPeer connectCallback() failed")]
    ConnectFailed,
    /// Not sent: the peer is waiting before its next connection attempt.
    #[error("waiting to reconnect")]
    Backoff,
}

/// What the peer task is asked to do.
#[derive(Debug, Clone)]
pub enum Request {
    /// Connect now if disconnected (startup, new address).
    Connect,
    /// Send a topology notification; `branch` (`topic`/`channel`) is for the log line.
    Notify {
        /// `topic` or `channel`.
        branch: &'static str,
        /// The REGISTER/UNREGISTER command.
        cmd: Command,
    },
}

/// What every peer shares: the daemon (for the re-announce), the IDENTIFY body, the
/// response size limit and the directory where learned HTTP addresses go.
#[derive(Debug)]
pub struct PeerContext {
    /// The daemon whose topics and channels are announced.
    pub daemon: Arc<Daemon>,
    /// The IDENTIFY JSON body (fixed once the listeners are bound).
    pub identify_body: String,
    /// `--max-body-size`: larger responses are refused.
    pub max_body_size: i64,
    /// Where each lookupd's HTTP address is recorded.
    pub directory: Arc<Directory>,
}

/// An open connection with per-operation deadlines.
struct Conn {
    stream: TcpStream,
    addr: String,
}

impl Conn {
    async fn dial(addr: &str) -> Result<Conn, PeerError> {
        let stream = match tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(PeerError::Dial(addr.to_string(), e)),
            Err(_) => return Err(PeerError::Timeout("dial tcp", addr.to_string())),
        };
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            addr: addr.to_string(),
        })
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), PeerError> {
        match tokio::time::timeout(IO_TIMEOUT, self.stream.write_all(data)).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(PeerError::Timeout("write tcp", self.addr.clone())),
        }
    }

    /// Fills `buf`; each read may take up to [`IO_TIMEOUT`].
    async fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), PeerError> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = match tokio::time::timeout(IO_TIMEOUT, self.stream.read(&mut buf[filled..]))
                .await
            {
                Ok(r) => r?,
                Err(_) => return Err(PeerError::Timeout("read tcp", self.addr.clone())),
            };
            if n == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
            filled += n;
        }
        Ok(())
    }

    /// Reads one `[i32 BE size][data]` response of at most `limit` bytes.
    async fn read_response(&mut self, limit: i64) -> Result<Vec<u8>, PeerError> {
        let mut head = [0u8; 4];
        self.read_exact(&mut head).await?;
        let size = i32::from_be_bytes(head);
        if size < 0 {
            return Err(PeerError::NegativeSize(size));
        }
        if i64::from(size) > limit {
            return Err(PeerError::TooBig(i64::from(size), limit));
        }
        let mut data = vec![0u8; size as usize];
        self.read_exact(&mut data).await?;
        Ok(data)
    }

    async fn round_trip(&mut self, cmd: &Command, limit: i64) -> Result<Vec<u8>, PeerError> {
        self.write(&cmd.encode()).await?;
        self.read_response(limit).await
    }
}

/// One lookupd peer and its connection state.
pub struct Peer {
    addr: String,
    ctx: Arc<PeerContext>,
    conn: Option<Conn>,
    info: LookupdInfo,
    backoff: Duration,
    next_attempt: Option<Instant>,
    retry_pending: bool,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Peer({})", self.addr)
    }
}

impl Peer {
    /// A disconnected peer for the lookupd at `addr` (`host:port`).
    pub fn new(addr: &str, ctx: Arc<PeerContext>) -> Peer {
        Peer {
            addr: addr.to_string(),
            ctx,
            conn: None,
            info: LookupdInfo::default(),
            backoff: MIN_BACKOFF,
            next_attempt: None,
            retry_pending: false,
        }
    }

    /// The lookupd's TCP address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// True while a connection is open.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// When a deferred reconnection attempt is due, if one is.
    pub fn retry_at(&self) -> Option<Instant> {
        if !self.retry_pending || self.conn.is_some() {
            return None;
        }
        Some(self.next_attempt.unwrap_or_else(Instant::now))
    }

    /// Sends `cmd` (or, with `None`, only makes sure the peer is connected) and returns
    /// the response. Connects first if needed; any failure closes the connection.
    pub async fn command(&mut self, cmd: Option<&Command>) -> Result<Option<Vec<u8>>, PeerError> {
        if self.conn.is_none() {
            if self.next_attempt.is_some_and(|t| Instant::now() < t) {
                self.retry_pending = true;
                return Err(PeerError::Backoff);
            }
            match self.connect().await {
                Ok(()) => {
                    self.backoff = MIN_BACKOFF;
                    self.next_attempt = None;
                    self.retry_pending = false;
                }
                Err(e) => {
                    self.conn = None;
                    self.next_attempt = Some(Instant::now() + self.backoff);
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    self.retry_pending = true;
                    return Err(e);
                }
            }
        }
        let Some(cmd) = cmd else { return Ok(None) };
        let limit = self.ctx.max_body_size;
        let Some(conn) = self.conn.as_mut() else {
            return Err(PeerError::ConnectFailed);
        };
        match conn.round_trip(cmd, limit).await {
            Ok(resp) => Ok(Some(resp)),
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }

    /// Dials, writes the magic, IDENTIFYs and re-announces everything. On error the
    /// connection is left closed.
    async fn connect(&mut self) -> Result<(), PeerError> {
        tracing::info!("LOOKUP connecting to {}", self.addr);
        let mut conn = Conn::dial(&self.addr).await?;
        conn.write(nsq_protocol::MAGIC_V1).await?;
        let limit = self.ctx.max_body_size;

        let identify = Command::identify(self.ctx.identify_body.clone());
        let resp = match conn.round_trip(&identify, limit).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("LOOKUPD({}): {identify} - {e}", self.addr);
                return Err(PeerError::ConnectFailed);
            }
        };
        self.info = match LookupdInfo::decode(&self.info, &resp) {
            Ok(info) => info,
            Err(IdentifyReplyError::Invalid) => {
                tracing::info!(
                    "LOOKUPD({}): lookupd returned {}",
                    self.addr,
                    String::from_utf8_lossy(&resp)
                );
                return Err(IdentifyReplyError::Invalid.into());
            }
            Err(e) => {
                tracing::error!("LOOKUPD({}): {e}", self.addr);
                return Err(e.into());
            }
        };
        tracing::info!(
            "LOOKUPD({}): peer info {{TCPPort:{} HTTPPort:{} Version:{} BroadcastAddress:{}}}",
            self.addr,
            self.info.tcp_port,
            self.info.http_port,
            self.info.version,
            self.info.broadcast_address
        );
        let http = self.info.http_address();
        if http.is_none() {
            tracing::error!("LOOKUPD({}): no broadcast address", self.addr);
        }
        self.ctx.directory.set_http_address(&self.addr, http);

        for cmd in announcements(&self.ctx.daemon) {
            tracing::info!("LOOKUPD({}): {cmd}", self.addr);
            if let Err(e) = conn.round_trip(&cmd, limit).await {
                tracing::error!("LOOKUPD({}): {cmd} - {e}", self.addr);
                return Err(PeerError::ConnectFailed);
            }
        }
        self.conn = Some(conn);
        Ok(())
    }
}

/// The re-announce after a (re)connect: per topic (sorted), `REGISTER <topic>` if it has no
/// channels, otherwise one `REGISTER <topic> <channel>` per channel (sorted).
pub fn announcements(daemon: &Daemon) -> Vec<Command> {
    let mut out = Vec::new();
    for t in daemon.topics() {
        let channels = t.channels();
        if channels.is_empty() {
            out.push(Command::register(&t.name, None));
        } else {
            for c in channels {
                out.push(Command::register(&t.name, Some(&c.name)));
            }
        }
    }
    out
}

/// Drives one peer until its request channel closes (or the task is aborted): connects on
/// [`Request::Connect`], forwards notifications in order, PINGs every 15 s, and retries a
/// connection when a backoff it had to wait out ends.
pub async fn run(mut peer: Peer, mut requests: mpsc::UnboundedReceiver<Request>) {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let retry_at = peer.retry_at();
        tokio::select! {
            req = requests.recv() => match req {
                None => return,
                Some(Request::Connect) => {
                    if let Err(e) = peer.command(None).await {
                        log_failure(&peer, "connect", &e);
                    }
                }
                Some(Request::Notify { branch, cmd }) => {
                    tracing::info!("LOOKUPD({}): {branch} {cmd}", peer.addr);
                    if let Err(e) = peer.command(Some(&cmd)).await {
                        log_failure(&peer, &cmd.to_string(), &e);
                    }
                }
            },
            _ = ping.tick() => {
                tracing::debug!("LOOKUPD({}): sending heartbeat", peer.addr);
                let cmd = Command::ping();
                if let Err(e) = peer.command(Some(&cmd)).await {
                    log_failure(&peer, "PING", &e);
                }
            }
            _ = sleep_until_opt(retry_at), if retry_at.is_some() => {
                if let Err(e) = peer.command(None).await {
                    log_failure(&peer, "reconnect", &e);
                }
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn log_failure(peer: &Peer, what: &str, e: &PeerError) {
    match e {
        PeerError::Backoff => tracing::debug!("LOOKUPD({}): {what} - {e}", peer.addr),
        // Already logged where it happened.
        PeerError::ConnectFailed | PeerError::Identify(_) => {}
        _ => tracing::error!("LOOKUPD({}): {what} - {e}", peer.addr),
    }
}
