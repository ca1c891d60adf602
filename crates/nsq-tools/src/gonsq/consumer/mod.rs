//! A go-nsq compatible consumer: one topic/channel over many nsqd connections.
//!
//! The utilities rely on go-nsq's consumer semantics, which operators observe: nsqd
//! addresses given directly are reconnected every `lookupd_poll_interval` after a loss;
//! with lookupds, `/lookup` is polled (one lookupd per poll, round robin, with jitter) and
//! new producers are connected; `max_in_flight` is split over the connections as RDY
//! counts; a failed handler requeues with backoff (RDY 0 everywhere, then RDY 1 to test);
//! messages past `max_attempts` are finished and logged; and a stop sends `CLS`, finishes
//! in-flight work and ends within 30 s at most. This module holds the shared state and the
//! handler side; [`conn`] the connections, [`rdy`] RDY and backoff, [`lookupd`] discovery.

pub(crate) mod conn;
mod lookupd;
mod rdy;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::{mpsc, watch, Mutex as AsyncMutex, Notify};
use tokio::task::JoinHandle;

use self::conn::{ConnCmd, ConnShared};
use super::config::Config;
use super::dial::{dial, DialError};
use super::log::{next_instance_id, Level, LogContext};
use super::message::Delivery;

/// A message handler: gets each delivery, returns `Err(reason)` to requeue it with backoff
/// (unless it disabled auto response).
pub type Handler =
    Arc<dyn Fn(Delivery) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// Why a consumer could not be created or connected; `Display` is go-nsq's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsumerError {
    /// `NewConsumer` with an invalid topic name.
    #[error("invalid topic name")]
    InvalidTopic,
    /// `NewConsumer` with an invalid channel name.
    #[error("invalid channel name")]
    InvalidChannel,
    /// The configuration failed validation.
    #[error("{0}")]
    Config(#[from] super::config::ConfigError),
    /// The consumer was stopped.
    #[error("consumer stopped")]
    Stopped,
    /// No handler was added before connecting.
    #[error("no handlers")]
    NoHandlers,
    /// `ConnectToNSQD` for an address already connected (or connecting).
    #[error("already connected")]
    AlreadyConnected,
    /// Connecting failed.
    #[error("{0}")]
    Dial(#[from] DialError),
    /// Writing `SUB` failed.
    #[error("[{addr}] failed to subscribe to {topic}:{channel} - {reason}")]
    Subscribe {
        /// The nsqd address.
        addr: String,
        /// The topic.
        topic: String,
        /// The channel.
        channel: String,
        /// Why.
        reason: String,
    },
    /// A lookupd address that cannot be turned into a `/lookup` URL.
    #[error("{0}")]
    LookupdAddress(String),
}

#[derive(Debug, Default)]
struct ConnState {
    /// Open connections, in the order they were made.
    connections: Vec<Arc<ConnShared>>,
    pending: Vec<String>,
    /// Addresses to keep connected (direct `ConnectToNSQD` or discovered).
    nsqd_tcp_addrs: Vec<String>,
}

/// State shared by the consumer handle, its connections and its loops.
pub(crate) struct Inner {
    pub(crate) topic: String,
    pub(crate) channel: String,
    pub(crate) cfg: Config,
    pub(crate) log: LogContext,
    max_in_flight: AtomicI64,
    total_rdy: AtomicI64,
    conns: Mutex<ConnState>,
    /// The hand-off to the handlers; capacity 1 so a connection's reader waits for a
    /// handler, like go-nsq's unbuffered channel.
    incoming: Mutex<Option<mpsc::Sender<Delivery>>>,
    incoming_rx: Arc<AsyncMutex<mpsc::Receiver<Delivery>>>,
    stop_flag: AtomicBool,
    running_handlers: AtomicI64,
    /// go-nsq's `backoffMtx`: serialises backoff state changes.
    backoff: Mutex<()>,
    backoff_counter: AtomicI64,
    backoff_duration_ns: AtomicI64,
    need_rdy_redistributed: AtomicBool,
    rdy_retry: Mutex<HashMap<String, JoinHandle<()>>>,
    lookupd: Mutex<lookupd::LookupdState>,
    lookupd_recheck: Notify,
    rng: Mutex<StdRng>,
    exit_tx: watch::Sender<bool>,
    stopped_tx: watch::Sender<bool>,
    loops: Mutex<Vec<JoinHandle<()>>>,
    exited: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A consumer of one topic/channel. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Consumer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("topic", &self.inner.topic)
            .field("channel", &self.inner.channel)
            .finish_non_exhaustive()
    }
}

impl Consumer {
    /// go-nsq's `NewConsumer`: validates the names and the configuration and takes the
    /// next instance number. Must be called inside a tokio runtime.
    pub fn new(topic: &str, channel: &str, cfg: Config) -> Result<Consumer, ConsumerError> {
        cfg.validate()?;
        if !nsq_protocol::names::is_valid_topic_name(topic) {
            return Err(ConsumerError::InvalidTopic);
        }
        if !nsq_protocol::names::is_valid_channel_name(channel) {
            return Err(ConsumerError::InvalidChannel);
        }
        let id = next_instance_id();
        let (tx, rx) = mpsc::channel(1);
        let inner = Arc::new(Inner {
            topic: topic.to_string(),
            channel: channel.to_string(),
            log: LogContext::consumer(id, topic, channel),
            max_in_flight: AtomicI64::new(cfg.max_in_flight),
            cfg,
            total_rdy: AtomicI64::new(0),
            conns: Mutex::new(ConnState::default()),
            incoming: Mutex::new(Some(tx)),
            incoming_rx: Arc::new(AsyncMutex::new(rx)),
            stop_flag: AtomicBool::new(false),
            running_handlers: AtomicI64::new(0),
            backoff: Mutex::new(()),
            backoff_counter: AtomicI64::new(0),
            backoff_duration_ns: AtomicI64::new(0),
            need_rdy_redistributed: AtomicBool::new(false),
            rdy_retry: Mutex::new(HashMap::new()),
            lookupd: Mutex::new(lookupd::LookupdState::default()),
            lookupd_recheck: Notify::new(),
            rng: Mutex::new(StdRng::from_entropy()),
            exit_tx: watch::channel(false).0,
            stopped_tx: watch::channel(false).0,
            loops: Mutex::new(Vec::new()),
            exited: AtomicBool::new(false),
        });
        let rdy_loop = tokio::spawn(rdy::rdy_loop(inner.clone()));
        lock(&inner.loops).push(rdy_loop);
        Ok(Consumer { inner })
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.inner.topic
    }

    /// The channel.
    pub fn channel(&self) -> &str {
        &self.inner.channel
    }

    /// go-nsq's `AddConcurrentHandlers`: `concurrency` tasks each handle one message at a
    /// time. Add handlers before connecting.
    pub fn add_concurrent_handlers(&self, handler: Handler, concurrency: usize) {
        self.inner
            .running_handlers
            .fetch_add(concurrency as i64, Ordering::SeqCst);
        for _ in 0..concurrency {
            tokio::spawn(handler_loop(self.inner.clone(), handler.clone()));
        }
    }

    /// go-nsq's `AddHandler` (one handler task).
    pub fn add_handler(&self, handler: Handler) {
        self.add_concurrent_handlers(handler, 1);
    }

    /// go-nsq's `ConnectToNSQDs`: connects to each address in turn; the first failure is
    /// returned (later addresses are not tried).
    pub async fn connect_to_nsqds(&self, addrs: &[String]) -> Result<(), ConsumerError> {
        for a in addrs {
            connect_boxed(self.inner.clone(), a.clone()).await?;
        }
        Ok(())
    }

    /// go-nsq's `ConnectToNSQD`.
    pub async fn connect_to_nsqd(&self, addr: &str) -> Result<(), ConsumerError> {
        connect_boxed(self.inner.clone(), addr.to_string()).await
    }

    /// go-nsq's `ConnectToNSQLookupds`: registers the lookupds; the first one triggers an
    /// immediate `/lookup` and starts polling.
    pub async fn connect_to_lookupds(&self, addrs: &[String]) -> Result<(), ConsumerError> {
        for a in addrs {
            lookupd::connect_to_lookupd(&self.inner, a).await?;
        }
        Ok(())
    }

    /// go-nsq's `IsStarved`: some connection has at least 85% of its RDY count in flight.
    pub fn is_starved(&self) -> bool {
        self.inner.conns_snapshot().iter().any(|c| {
            let threshold = (c.rdy() as f64 * 0.85) as i64;
            let f = c.in_flight();
            f >= threshold && f > 0 && !c.is_closing()
        })
    }

    /// go-nsq's `Stop`: sends `CLS` on every connection; handlers finish what is in flight
    /// and the consumer stops when the last connection closed (at most 30 s later).
    pub fn stop(&self) {
        self.inner.stop();
    }

    /// Waits until the consumer has stopped (go-nsq's `<-StopChan`).
    pub async fn wait_stopped(&self) {
        let mut rx = self.inner.stopped_tx.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Whether the consumer has stopped.
    pub fn is_stopped(&self) -> bool {
        *self.inner.stopped_tx.borrow()
    }
}

/// The connect future, boxed so the connection task (which may reconnect) does not make
/// its own type recursive.
pub(crate) fn connect_boxed(
    inner: Arc<Inner>,
    addr: String,
) -> Pin<Box<dyn Future<Output = Result<(), ConsumerError>> + Send>> {
    Box::pin(async move { inner.connect_to_nsqd(&addr).await })
}

async fn handler_loop(inner: Arc<Inner>, handler: Handler) {
    loop {
        let next = { inner.incoming_rx.lock().await.recv().await };
        let Some(d) = next else { break };
        let max = inner.cfg.max_attempts;
        if max > 0 && d.attempts() > max {
            inner.log.log(
                Level::Warning,
                format_args!(
                    "msg {} attempted {} times, giving up",
                    d.id().as_text(),
                    d.attempts()
                ),
            );
            d.finish();
            continue;
        }
        match handler(d.clone()).await {
            Ok(()) => {
                if !d.is_auto_response_disabled() {
                    d.finish();
                }
            }
            Err(e) => {
                inner.log.log(
                    Level::Error,
                    format_args!("Handler returned error ({e}) for msg {}", d.id().as_text()),
                );
                if !d.is_auto_response_disabled() {
                    d.requeue(None);
                }
            }
        }
    }
    if inner.running_handlers.fetch_sub(1, Ordering::SeqCst) == 1 {
        inner.exit();
    }
}

impl Inner {
    pub(crate) fn conns_snapshot(&self) -> Vec<Arc<ConnShared>> {
        lock(&self.conns).connections.clone()
    }

    fn is_stopping(&self) -> bool {
        self.stop_flag.load(Ordering::SeqCst)
    }

    async fn connect_to_nsqd(self: &Arc<Self>, addr: &str) -> Result<(), ConsumerError> {
        if self.is_stopping() {
            return Err(ConsumerError::Stopped);
        }
        if self.running_handlers.load(Ordering::SeqCst) == 0 {
            return Err(ConsumerError::NoHandlers);
        }
        {
            let mut st = lock(&self.conns);
            if st.pending.iter().any(|a| a == addr) || st.connections.iter().any(|c| c.addr == addr)
            {
                return Err(ConsumerError::AlreadyConnected);
            }
            st.pending.push(addr.to_string());
            if !st.nsqd_tcp_addrs.iter().any(|a| a == addr) {
                st.nsqd_tcp_addrs.push(addr.to_string());
            }
        }
        let unpend = |inner: &Inner| lock(&inner.conns).pending.retain(|a| a != addr);
        self.log
            .conn_log(Level::Info, addr, format_args!("connecting to nsqd"));
        let mut dialed = match dial(addr, &self.cfg, &self.log).await {
            Ok(d) => d,
            Err(e) => {
                unpend(self);
                return Err(e.into());
            }
        };
        let max_rdy = dialed.identify.max_rdy_count;
        let mif = self.max_in_flight.load(Ordering::SeqCst);
        if max_rdy < mif {
            self.log.conn_log(
                Level::Warning,
                addr,
                format_args!(
                    "max RDY count {max_rdy} < consumer max in flight {mif}, truncation possible"
                ),
            );
        }
        dialed.writer.sub(&self.topic, &self.channel);
        let write_timeout = super::config::to_std(self.cfg.write_timeout);
        let flushed = tokio::time::timeout(
            write_timeout.max(Duration::from_millis(100)),
            dialed.writer.flush(),
        )
        .await;
        let sub_err = match flushed {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("write tcp {addr}: i/o timeout")),
        };
        if let Some(reason) = sub_err {
            unpend(self);
            return Err(ConsumerError::Subscribe {
                addr: addr.to_string(),
                topic: self.topic.clone(),
                channel: self.channel.clone(),
                reason,
            });
        }
        let (shared, rx, rdy_rx) = ConnShared::new(
            addr,
            max_rdy,
            (self.cfg.default_requeue_delay, self.cfg.max_requeue_delay),
        );
        {
            let mut st = lock(&self.conns);
            st.pending.retain(|a| a != addr);
            st.connections.push(shared.clone());
        }
        tokio::spawn(conn::run(
            self.clone(),
            shared,
            dialed.reader,
            dialed.writer,
            rx,
            rdy_rx,
        ));
        for c in self.conns_snapshot() {
            self.maybe_update_rdy(&c);
        }
        Ok(())
    }

    /// A message arrived: hand it to the handlers, waiting until one takes it (or, once
    /// they are gone, put it back).
    pub(crate) async fn on_message(&self, d: Delivery) {
        let tx = lock(&self.incoming).clone();
        let sent = match tx {
            Some(tx) => tx.send(d.clone()).await.is_ok(),
            None => false,
        };
        if !sent {
            d.requeue_without_backoff(Some(Duration::ZERO));
        }
    }

    /// A FIN was written: go-nsq's `OnResume`.
    pub(crate) fn on_finished(self: &Arc<Self>) {
        self.start_stop_continue_backoff(rdy::Signal::Resume);
    }

    /// A REQ was written: go-nsq's `OnBackoff` / `OnContinue`.
    pub(crate) fn on_requeued(self: &Arc<Self>, backoff: bool) {
        self.start_stop_continue_backoff(if backoff {
            rdy::Signal::Backoff
        } else {
            rdy::Signal::Continue
        });
    }

    /// A connection ended: forget it, and reconnect or re-discover unless stopping.
    pub(crate) fn on_conn_close(self: &Arc<Self>, c: &Arc<ConnShared>) {
        let rdy = c.rdy();
        self.total_rdy.fetch_sub(rdy, Ordering::SeqCst);
        let had_retry = match lock(&self.rdy_retry).remove(&c.addr) {
            Some(h) => {
                h.abort();
                true
            }
            None => false,
        };
        let left = {
            let mut st = lock(&self.conns);
            st.connections.retain(|x| !Arc::ptr_eq(x, c));
            st.connections.len()
        };
        self.log.log(
            Level::Warning,
            format_args!("there are {left} connections left alive"),
        );
        if (had_retry || rdy > 0)
            && (left as i64 == self.max_in_flight.load(Ordering::SeqCst) || self.in_backoff())
        {
            self.need_rdy_redistributed.store(true, Ordering::SeqCst);
        }
        if self.is_stopping() {
            if left == 0 {
                self.stop_handlers();
            }
            return;
        }
        let num_lookupd = lock(&self.lookupd).addrs.len();
        let reconnect = lock(&self.conns)
            .nsqd_tcp_addrs
            .iter()
            .any(|a| *a == c.addr);
        if num_lookupd > 0 {
            self.lookupd_recheck.notify_one();
        } else if reconnect {
            tokio::spawn(reconnect_loop(self.clone(), c.addr.clone()));
        }
    }

    fn stop(self: &Arc<Self>) {
        if self.stop_flag.swap(true, Ordering::SeqCst) {
            return;
        }
        self.log.log(Level::Info, format_args!("stopping..."));
        let conns = self.conns_snapshot();
        if conns.is_empty() {
            self.stop_handlers();
        } else {
            for c in conns {
                c.send(ConnCmd::Cls);
            }
            let me = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                me.exit();
            });
        }
    }

    fn stop_handlers(&self) {
        let mut incoming = lock(&self.incoming);
        if incoming.is_some() {
            self.log.log(Level::Info, format_args!("stopping handlers"));
            // Dropping the only sender ends every handler loop once it is drained.
            *incoming = None;
        }
    }

    fn exit(self: &Arc<Self>) {
        if self.exited.swap(true, Ordering::SeqCst) {
            return;
        }
        self.exit_tx.send_replace(true);
        let loops: Vec<JoinHandle<()>> = lock(&self.loops).drain(..).collect();
        let me = self.clone();
        tokio::spawn(async move {
            for l in loops {
                let _ = l.await;
            }
            me.stopped_tx.send_replace(true);
        });
    }

    /// Resolves when [`Inner::exit`] was called.
    pub(crate) async fn exiting(&self) {
        let mut rx = self.exit_tx.subscribe();
        let _ = rx.wait_for(|e| *e).await;
    }

    pub(crate) fn random_index(&self, n: usize) -> usize {
        use rand::Rng;
        if n == 0 {
            return 0;
        }
        lock(&self.rng).gen_range(0..n)
    }

    pub(crate) fn random_f64(&self) -> f64 {
        use rand::Rng;
        lock(&self.rng).gen::<f64>()
    }
}

/// Reconnects a directly configured nsqd every `lookupd_poll_interval` until it works,
/// the address is removed, or the consumer stops.
async fn reconnect_loop(inner: Arc<Inner>, addr: String) {
    let interval = super::config::to_std(inner.cfg.lookupd_poll_interval);
    loop {
        inner.log.conn_log(
            Level::Info,
            &addr,
            format_args!("re-connecting in {}", nsq_cli::format_go_duration(interval)),
        );
        tokio::time::sleep(interval).await;
        if inner.is_stopping() {
            break;
        }
        if !lock(&inner.conns).nsqd_tcp_addrs.contains(&addr) {
            inner.log.conn_log(
                Level::Warning,
                &addr,
                format_args!("skipped reconnect after removal..."),
            );
            return;
        }
        match connect_boxed(inner.clone(), addr.clone()).await {
            Ok(()) | Err(ConsumerError::AlreadyConnected) => break,
            Err(e) => {
                inner.log.conn_log(
                    Level::Error,
                    &addr,
                    format_args!("error connecting to nsqd - {e}"),
                );
            }
        }
    }
}
