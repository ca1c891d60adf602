//! State of one TCP client connection shared between its IO loop, its message pump, the
//! channel it subscribes to, and stats readers.
//!
//! Hot counters are atomics so the delivery path never locks the client; descriptive fields
//! set by IDENTIFY/AUTH live behind a small mutex that only IDENTIFY, AUTH, PUB accounting
//! and stats touch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::channel::Channel;

/// Client state numbers as they appear in /stats.
pub mod state {
    /// Connected, not subscribed.
    pub const INIT: u8 = 0;
    /// Subscribed to a channel.
    pub const SUBSCRIBED: u8 = 3;
    /// Sent CLS; no more deliveries.
    pub const CLOSING: u8 = 4;
}

/// Fields set by IDENTIFY/AUTH and shown in /stats.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    /// IDENTIFY `client_id` (defaults to the remote IP).
    pub client_id: String,
    /// IDENTIFY `hostname` (defaults to the remote IP).
    pub hostname: String,
    /// IDENTIFY `user_agent`.
    pub user_agent: String,
    /// IDENTIFY `topology_region`.
    pub topology_region: String,
    /// IDENTIFY `topology_zone`.
    pub topology_zone: String,
    /// Effective output buffer size in bytes.
    pub output_buffer_size: i64,
    /// Effective output buffer timeout in ms (0 = none).
    pub output_buffer_timeout_ms: i64,
    /// Connection upgraded to TLS.
    pub tls: bool,
    /// TLS details for /stats.
    pub tls_version: String,
    /// TLS cipher suite name for /stats.
    pub tls_cipher_suite: String,
    /// Snappy negotiated.
    pub snappy: bool,
    /// Deflate negotiated.
    pub deflate: bool,
    /// Holds at least one authorization.
    pub authed: bool,
    /// Identity returned by the auth server.
    pub auth_identity: String,
    /// Identity URL returned by the auth server.
    pub auth_identity_url: String,
    /// Messages published per topic over this connection (TCP producers).
    pub pub_counts: HashMap<String, u64>,
}

/// Shared state of one client connection. Invariant: `in_flight` equals the number of
/// messages of the subscribed channel's in-flight table owned by this client (except
/// transiently while a channel operation is running).
#[derive(Debug)]
pub struct Client {
    /// Process-wide connection number (never on the wire).
    pub id: u64,
    /// Remote address as `ip:port` (empty host for unix sockets).
    pub remote_addr: String,
    /// Connect time, Unix seconds.
    pub connect_ts: i64,
    /// One of [`state`].
    pub state: AtomicU8,
    /// Last RDY count (0 after CLS).
    pub ready_count: AtomicI64,
    /// Messages delivered and not yet FIN/REQ/timed out.
    pub in_flight: AtomicI64,
    /// Deliveries to this client.
    pub message_count: AtomicU64,
    /// FINs by this client.
    pub finish_count: AtomicU64,
    /// REQs by this client.
    pub requeue_count: AtomicU64,
    /// Effective in-flight timeout for deliveries to this client, ns.
    pub msg_timeout_ns: AtomicI64,
    /// Effective heartbeat interval, ms (0 = disabled).
    pub heartbeat_ms: AtomicI64,
    /// Sample rate 0..=99 (0 = deliver everything).
    pub sample_rate: AtomicU8,
    /// Output buffer size in bytes: the pump writes once this much is buffered.
    pub output_buffer_size: AtomicI64,
    /// Timer-flush interval in ms, or 0. Non-zero only when the client negotiated an output
    /// buffer timeout different from the server default: it asked for batching, so partial
    /// buffers wait for the timer. At the default we flush as soon as nothing more can be
    /// sent right now, which is never later than the reference and usually much sooner.
    pub timer_flush_ms: AtomicI64,
    /// Set while this client sits in its channel's waiter list.
    pub waiting: AtomicBool,
    /// Set once the connection is closing; the pump and IO loop stop.
    pub exiting: AtomicBool,
    /// Wakes the message pump (RDY change, in-flight decrease, new messages, exit).
    pub pump_wake: Notify,
    /// Wakes the IO loop to close the connection (channel deleted, shutdown).
    pub close_wake: Notify,
    /// Descriptive fields.
    pub meta: Mutex<ClientMeta>,
    /// The subscribed channel, set once by SUB.
    pub channel: Mutex<Option<Arc<Channel>>>,
}

impl Client {
    /// A fresh client in state `init`.
    pub fn new(
        id: u64,
        remote_addr: String,
        remote_ip: String,
        defaults: ClientDefaults,
    ) -> Client {
        Client {
            id,
            remote_addr,
            connect_ts: crate::clock::unix_secs(),
            state: AtomicU8::new(state::INIT),
            ready_count: AtomicI64::new(0),
            in_flight: AtomicI64::new(0),
            message_count: AtomicU64::new(0),
            finish_count: AtomicU64::new(0),
            requeue_count: AtomicU64::new(0),
            msg_timeout_ns: AtomicI64::new(defaults.msg_timeout_ns),
            heartbeat_ms: AtomicI64::new(defaults.heartbeat_ms),
            sample_rate: AtomicU8::new(0),
            output_buffer_size: AtomicI64::new(defaults.output_buffer_size),
            timer_flush_ms: AtomicI64::new(0),
            waiting: AtomicBool::new(false),
            exiting: AtomicBool::new(false),
            pump_wake: Notify::new(),
            close_wake: Notify::new(),
            meta: Mutex::new(ClientMeta {
                client_id: remote_ip.clone(),
                hostname: remote_ip,
                output_buffer_size: defaults.output_buffer_size,
                output_buffer_timeout_ms: defaults.output_buffer_timeout_ms,
                ..ClientMeta::default()
            }),
            channel: Mutex::new(None),
        }
    }

    /// Current state number.
    pub fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// True iff the pump may deliver another message right now (ignoring channel pause).
    pub fn is_ready(&self) -> bool {
        let rdy = self.ready_count.load(Ordering::Acquire);
        rdy > 0
            && self.in_flight.load(Ordering::Acquire) < rdy
            && self.state() == state::SUBSCRIBED
            && !self.exiting.load(Ordering::Acquire)
    }

    /// Called when one of this client's messages left flight by timeout: the pump is woken
    /// because the RDY window opened.
    pub fn message_done(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.pump_wake.notify_one();
    }

    /// Called when the client itself settled a message (FIN/REQ): the window opened, but the
    /// IO loop wakes the pump once per batch of pipelined commands rather than per command
    /// (see `Conn::fill`), so a burst of FINs costs one wake-up.
    pub fn message_settled(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Asks the connection to close (used by channel deletion and shutdown).
    pub fn request_close(&self) {
        self.exiting.store(true, Ordering::Release);
        self.close_wake.notify_one();
        self.pump_wake.notify_one();
    }
}

/// Server-side defaults a new client starts with.
#[derive(Debug, Clone, Copy)]
pub struct ClientDefaults {
    /// `--msg-timeout` in ns.
    pub msg_timeout_ns: i64,
    /// Default heartbeat (30 s) in ms.
    pub heartbeat_ms: i64,
    /// Default output buffer size (16 KiB).
    pub output_buffer_size: i64,
    /// `--output-buffer-timeout` in ms.
    pub output_buffer_timeout_ms: i64,
}
