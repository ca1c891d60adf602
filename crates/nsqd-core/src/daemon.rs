//! The daemon: the topic registry, connected clients, health, and the event stream that the
//! lookupd loop and metadata persistence follow.
//!
//! The topic map is behind a read-write lock taken once per lookup; connections cache the
//! `Arc<Topic>` they publish to, so the hot path does not touch this lock per message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch, Notify};

use crate::backend::Backend;
use crate::client::{Client, ClientDefaults};
use crate::health::Health;
use crate::options::Options;
use crate::topic::Topic;

/// Topology changes, in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A topic was created.
    TopicCreated(String),
    /// A topic was deleted.
    TopicDeleted(String),
    /// A channel was created.
    ChannelCreated {
        /// Its topic.
        topic: String,
        /// The channel.
        channel: String,
    },
    /// A channel was deleted.
    ChannelDeleted {
        /// Its topic.
        topic: String,
        /// The channel.
        channel: String,
    },
}

/// Called for every topic created after the hook was installed (i.e. not for topics loaded
/// from `nsqd.dat` at startup). The topic is created *held* (see [`Topic::hold`]): the hook
/// owns it and must eventually call [`Topic::release`], after which the topic delivers its
/// backlog. Called outside the daemon's locks; it must not block (spawn instead).
pub type TopicCreatedHook = Arc<dyn Fn(&Arc<Topic>) + Send + Sync>;

/// The nsqd daemon state shared by every connection and server.
pub struct Daemon {
    /// Effective options (immutable after start).
    pub opts: Arc<Options>,
    /// Unix seconds at start.
    pub start_time: i64,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    clients: Mutex<HashMap<u64, Arc<Client>>>,
    next_client_id: AtomicU64,
    /// Storage health (`/ping`, `/stats`).
    pub health_state: Arc<Health>,
    /// Serialises `nsqd.dat` writes.
    pub metadata_lock: Mutex<()>,
    /// Where `nsqd.dat` and the disk queues live.
    pub data_dir: std::path::PathBuf,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Event>>>,
    exiting: AtomicBool,
    /// Notified once when shutdown begins.
    pub shutdown: Notify,
    /// Runtime `nsqlookupd_tcp_addresses` (starts as the option; `PUT /config` changes it).
    lookupd_tcp_addresses: watch::Sender<Vec<String>>,
    /// See [`TopicCreatedHook`]; installed by the lookupd loop for channel pre-creation.
    topic_created_hook: RwLock<Option<TopicCreatedHook>>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Daemon")
    }
}

impl Daemon {
    /// A daemon with no topics.
    pub fn new(opts: Options) -> Arc<Daemon> {
        let data_dir = opts.data_dir();
        let (lookupd_tcp_addresses, _) = watch::channel(opts.nsqlookupd_tcp_addresses.clone());
        Arc::new(Daemon {
            lookupd_tcp_addresses,
            topic_created_hook: RwLock::new(None),
            data_dir,
            opts: Arc::new(opts),
            start_time: crate::clock::unix_secs(),
            topics: RwLock::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            next_client_id: AtomicU64::new(1),
            health_state: Arc::new(Health::default()),
            metadata_lock: Mutex::new(()),
            subscribers: Mutex::new(Vec::new()),
            exiting: AtomicBool::new(false),
            shutdown: Notify::new(),
        })
    }

    /// True once shutdown began.
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::Acquire)
    }

    /// Returns a receiver of every future [`Event`].
    pub fn subscribe_events(&self) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribers.lock().push(tx);
        rx
    }

    /// Publishes an event to the subscribers (dropping closed ones).
    pub fn notify(&self, ev: Event) {
        self.subscribers
            .lock()
            .retain(|tx| tx.send(ev.clone()).is_ok());
    }

    /// The overflow store for a new topic (`name` = topic) or channel (`name` =
    /// `topic:channel`) queue: a disk queue unless ephemeral.
    pub fn backend_for(&self, name: &str, ephemeral: bool) -> Backend {
        if ephemeral {
            Backend::Discard
        } else {
            Backend::open_disk(name, &self.data_dir, &self.opts, &self.health_state)
        }
    }

    /// Looks up a topic.
    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().get(name).cloned()
    }

    /// Returns the topic, creating it if needed. `None` only while shutting down.
    pub fn get_or_create_topic(self: &Arc<Self>, name: &str) -> Option<Arc<Topic>> {
        if let Some(t) = self.topic(name) {
            return Some(t);
        }
        if self.is_exiting() {
            return None;
        }
        let mut topics = self.topics.write();
        if let Some(t) = topics.get(name) {
            return Some(Arc::clone(t));
        }
        let t = Topic::new(name, self);
        let hook = self.topic_created_hook.read().clone();
        if hook.is_some() {
            t.hold();
        }
        topics.insert(name.to_string(), Arc::clone(&t));
        drop(topics);
        tracing::info!("TOPIC({}): created", name);
        self.notify(Event::TopicCreated(name.to_string()));
        if let Some(hook) = hook {
            hook(&t);
        }
        Some(t)
    }

    /// Installs (or with `None` removes) the hook run for every newly created topic.
    pub fn set_topic_created_hook(&self, hook: Option<TopicCreatedHook>) {
        *self.topic_created_hook.write() = hook;
    }

    /// The current nsqlookupd TCP addresses (`GET /config/nsqlookupd_tcp_addresses`).
    pub fn nsqlookupd_tcp_addresses(&self) -> Vec<String> {
        self.lookupd_tcp_addresses.borrow().clone()
    }

    /// Replaces the nsqlookupd TCP addresses (`PUT /config/nsqlookupd_tcp_addresses`); the
    /// lookupd loop drops peers no longer listed and connects new ones.
    pub fn set_nsqlookupd_tcp_addresses(&self, addrs: Vec<String>) {
        self.lookupd_tcp_addresses.send_replace(addrs);
    }

    /// Follows the nsqlookupd TCP addresses: the receiver sees every later
    /// [`Daemon::set_nsqlookupd_tcp_addresses`].
    pub fn watch_nsqlookupd_tcp_addresses(&self) -> watch::Receiver<Vec<String>> {
        self.lookupd_tcp_addresses.subscribe()
    }

    /// Deletes a topic and all its channels. Returns false if it did not exist.
    pub fn delete_topic(&self, name: &str) -> bool {
        let Some(t) = self.topics.write().remove(name) else {
            return false;
        };
        tracing::info!("TOPIC({}): deleting", name);
        self.notify(Event::TopicDeleted(name.to_string()));
        t.delete_all();
        true
    }

    /// All topics sorted by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        let mut v: Vec<Arc<Topic>> = self.topics.read().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Registers a new connection.
    pub fn add_client(&self, remote_addr: String, remote_ip: String) -> Arc<Client> {
        let id = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        let o = &self.opts;
        let defaults = ClientDefaults {
            msg_timeout_ns: o.msg_timeout.as_nanos() as i64,
            heartbeat_ms: o.default_heartbeat().as_millis() as i64,
            output_buffer_size: 16 * 1024,
            output_buffer_timeout_ms: o.output_buffer_timeout.as_millis() as i64,
        };
        let c = Arc::new(Client::new(id, remote_addr, remote_ip, defaults));
        self.clients.lock().insert(id, Arc::clone(&c));
        c
    }

    /// Forgets a closed connection.
    pub fn remove_client(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Every connected client (stats: producers).
    pub fn clients(&self) -> Vec<Arc<Client>> {
        self.clients.lock().values().cloned().collect()
    }

    /// Records the outcome of a storage write (`None` = healthy).
    pub fn set_health(&self, err: Option<String>) {
        self.health_state.set(err);
    }

    /// `OK` or `NOK - <err>`.
    pub fn health(&self) -> String {
        match self.health_state.error() {
            None => "OK".into(),
            Some(e) => format!("NOK - {e}"),
        }
    }

    /// True iff healthy.
    pub fn is_healthy(&self) -> bool {
        self.health_state.error().is_none()
    }

    /// Begins shutdown: refuses new topics and closes every client connection.
    pub fn begin_shutdown(&self) {
        if self.exiting.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shutdown.notify_waiters();
        for c in self.clients() {
            c.request_close();
        }
    }

    /// Final step of a graceful shutdown: every topic and channel writes its memory,
    /// in-flight and deferred messages to its disk queue and closes it.
    pub fn close_topics(&self) {
        for t in self.topics() {
            t.close();
        }
    }

    /// Time-based fsync of every disk queue; called periodically.
    pub fn sync_tick(&self) {
        for t in self.topics() {
            t.tick();
        }
    }
}
