//! A topic: a named stream whose every message is copied into each of its channels.
//!
//! Unlike the reference there is no per-topic pump goroutine on the common path: when the
//! topic has channels, is not paused and holds no backlog, a publisher fans its batch out to
//! the channels itself, under the topic lock (one lock per batch, bodies shared between
//! channels). Otherwise messages queue in the topic (memory, then backend) and a drain task
//! moves them to the channels once there are channels and the topic is not paused; while a
//! backlog exists new messages queue behind it, so order is kept.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use nsq_protocol::{IdGenerator, Message};
use parking_lot::Mutex;

use crate::backend::{Backend, BackendError};
use crate::channel::{Channel, ChannelLimits};
use crate::clock::unix_nanos;
use crate::daemon::{Daemon, Event};

/// Why a publish was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutError {
    /// The topic is being deleted or the daemon is shutting down.
    #[error("exiting")]
    Exiting,
    /// No room to store the messages.
    #[error("{0}")]
    Backend(#[from] BackendError),
}

struct State {
    channels: BTreeMap<String, Arc<Channel>>,
    ids: IdGenerator,
    memory: VecDeque<Message>,
    mem_limit: usize,
    backend: Backend,
    draining: bool,
    /// Delivery withheld until channel pre-creation finished ([`Topic::hold`]).
    held: bool,
}

/// Point-in-time figures of a topic for /stats.
#[derive(Debug, Clone)]
pub struct TopicSnapshot {
    /// Topic name.
    pub name: String,
    /// Memory + backend depth.
    pub depth: i64,
    /// Backend depth.
    pub backend_depth: i64,
    /// Messages published.
    pub message_count: u64,
    /// Bytes published.
    pub message_bytes: u64,
    /// Paused flag.
    pub paused: bool,
    /// Channels, sorted by name.
    pub channels: Vec<Arc<Channel>>,
}

/// One topic.
pub struct Topic {
    /// Topic name.
    pub name: String,
    /// Name ends in `#ephemeral`.
    pub ephemeral: bool,
    state: Mutex<State>,
    paused: AtomicBool,
    exiting: AtomicBool,
    message_count: AtomicU64,
    message_bytes: AtomicU64,
    daemon: Weak<Daemon>,
    limits: ChannelLimits,
}

impl std::fmt::Debug for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Topic({})", self.name)
    }
}

impl Topic {
    /// Creates a topic (no channels, not paused).
    pub fn new(name: &str, daemon: &Arc<Daemon>) -> Arc<Topic> {
        let opts = &daemon.opts;
        let ephemeral = nsq_protocol::names::is_ephemeral(name);
        let limits = ChannelLimits {
            mem_queue_size: opts.mem_queue_size.max(0) as usize,
            max_msg_timeout_ns: opts.max_msg_timeout.as_nanos() as i64,
            max_channel_consumers: opts.max_channel_consumers,
        };
        Arc::new(Topic {
            name: name.to_string(),
            ephemeral,
            state: Mutex::new(State {
                channels: BTreeMap::new(),
                ids: IdGenerator::new(opts.id),
                memory: VecDeque::new(),
                mem_limit: limits.mem_queue_size,
                backend: daemon.backend_for(name, ephemeral),
                draining: false,
                held: false,
            }),
            paused: AtomicBool::new(false),
            exiting: AtomicBool::new(false),
            message_count: AtomicU64::new(0),
            message_bytes: AtomicU64::new(0),
            daemon: Arc::downgrade(daemon),
            limits,
        })
    }

    /// True once the topic is being deleted or closed.
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::Acquire)
    }

    /// True iff paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Publishes bodies as new messages, all or none. `defer_ms > 0` defers each message in
    /// every channel. Returns the number of messages stored.
    pub fn publish(self: &Arc<Self>, bodies: Vec<Bytes>, defer_ms: u64) -> Result<usize, PutError> {
        if self.is_exiting() {
            return Err(PutError::Exiting);
        }
        let n = bodies.len();
        let bytes: u64 = bodies.iter().map(|b| b.len() as u64).sum();
        let now = unix_nanos();
        let mut st = self.state.lock();
        let mut msgs = Vec::with_capacity(n);
        for body in bodies {
            let mut m = Message::new(st.ids.next(now), now, body);
            m.defer_ms = defer_ms;
            msgs.push(m);
        }
        let direct = !self.is_paused()
            && !st.held
            && !st.channels.is_empty()
            && st.memory.is_empty()
            && st.backend.is_empty();
        if direct {
            if !st.channels.values().all(|c| c.can_accept(n)) {
                return Err(BackendError::Full.into());
            }
            for c in st.channels.values() {
                c.put_batch(&msgs)?;
            }
        } else {
            if st.memory.len() + n > st.mem_limit && !st.backend.accepts(n) {
                return Err(BackendError::Full.into());
            }
            let mut spill = Vec::new();
            for m in msgs {
                if spill.is_empty() && st.memory.len() < st.mem_limit && st.backend.is_empty() {
                    st.memory.push_back(m);
                } else {
                    spill.push(m);
                }
            }
            st.backend.put_batch_due(&spill, &deferred_dues(&spill))?;
        }
        drop(st);
        self.message_count.fetch_add(n as u64, Ordering::Relaxed);
        self.message_bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(n)
    }

    /// Returns the channel, creating it (and telling lookupd/metadata) if needed.
    pub fn get_or_create_channel(self: &Arc<Self>, name: &str) -> Arc<Channel> {
        let mut st = self.state.lock();
        if let Some(c) = st.channels.get(name) {
            return Arc::clone(c);
        }
        let ephemeral = nsq_protocol::names::is_ephemeral(name);
        let backend = match self.daemon.upgrade() {
            Some(d) => d.backend_for(&format!("{}:{}", self.name, name), ephemeral),
            None => Backend::Bounded,
        };
        let ch = Channel::new(self, name, self.limits, backend);
        st.channels.insert(name.to_string(), Arc::clone(&ch));
        drop(st);
        tracing::info!("TOPIC({}): new channel({})", self.name, name);
        if let Some(d) = self.daemon.upgrade() {
            d.notify(Event::ChannelCreated {
                topic: self.name.clone(),
                channel: name.to_string(),
            });
        }
        self.start_drain();
        ch
    }

    /// Looks up a channel.
    pub fn channel(&self, name: &str) -> Option<Arc<Channel>> {
        self.state.lock().channels.get(name).cloned()
    }

    /// Deletes a channel: closes its clients and drops its messages.
    pub fn delete_channel(self: &Arc<Self>, name: &str) -> bool {
        let removed = self.state.lock().channels.remove(name);
        let Some(ch) = removed else { return false };
        ch.close_clients();
        ch.delete_storage();
        tracing::info!("TOPIC({}): deleting channel {}", self.name, name);
        if let Some(d) = self.daemon.upgrade() {
            d.notify(Event::ChannelDeleted {
                topic: self.name.clone(),
                channel: name.to_string(),
            });
        }
        let now_empty = self.state.lock().channels.is_empty();
        if now_empty && self.ephemeral {
            if let Some(d) = self.daemon.upgrade() {
                d.delete_topic(&self.name);
            }
        }
        true
    }

    /// Deletes an ephemeral channel if it still has no clients (called after its last
    /// client left; a new subscriber may have arrived meanwhile).
    pub fn delete_channel_if_unused(self: &Arc<Self>, name: &str) {
        let unused = matches!(self.channel(name), Some(c) if c.client_count() == 0);
        if unused {
            self.delete_channel(name);
        }
    }

    /// Pauses: messages accumulate in the topic.
    pub fn pause(&self) {
        self.paused.store(true, Ordering::Release);
    }

    /// Unpauses and starts moving any backlog to the channels.
    pub fn unpause(self: &Arc<Self>) {
        self.paused.store(false, Ordering::Release);
        self.start_drain();
    }

    /// Withholds delivery: messages queue in the topic (as while it has no channels) until
    /// [`Topic::release`]. Used so channels pre-created from nsqlookupd exist before the
    /// first message is handed to any channel; publishers never wait for it.
    pub fn hold(&self) {
        self.state.lock().held = true;
    }

    /// Ends a [`Topic::hold`] and starts moving any backlog to the channels.
    pub fn release(self: &Arc<Self>) {
        self.state.lock().held = false;
        self.start_drain();
    }

    /// Drops the topic's own queued messages (HTTP /topic/empty); channels are untouched.
    pub fn empty(&self) -> Result<(), BackendError> {
        let mut st = self.state.lock();
        st.memory.clear();
        st.backend.empty()
    }

    /// Marks the topic exiting and deletes every channel (topic delete).
    pub fn delete_all(self: &Arc<Self>) {
        self.exiting.store(true, Ordering::Release);
        let names: Vec<String> = self.state.lock().channels.keys().cloned().collect();
        for n in names {
            self.delete_channel(&n);
        }
        let mut st = self.state.lock();
        st.memory.clear();
        st.backend.delete();
    }

    /// Graceful shutdown: closes every channel (flushing it to disk), then writes the
    /// topic's own memory queue to its disk queue and closes it.
    pub fn close(&self) {
        self.exiting.store(true, Ordering::Release);
        let channels: Vec<Arc<Channel>> = self.state.lock().channels.values().cloned().collect();
        for c in channels {
            c.close();
        }
        let mut st = self.state.lock();
        let rest: Vec<Message> = st.memory.drain(..).collect();
        if !rest.is_empty() {
            if let Err(e) = st.backend.put_batch_due(&rest, &deferred_dues(&rest)) {
                tracing::error!(
                    "TOPIC({}): failed to flush {} messages - {e}",
                    self.name,
                    rest.len()
                );
            }
        }
        st.backend.close();
    }

    /// Time-based fsync of this topic's and its channels' disk queues.
    pub fn tick(&self) {
        let st = self.state.lock();
        st.backend.tick();
        for c in st.channels.values() {
            c.tick();
        }
    }

    /// Channels, sorted by name.
    pub fn channels(&self) -> Vec<Arc<Channel>> {
        self.state.lock().channels.values().cloned().collect()
    }

    /// Memory + backend depth.
    pub fn depth(&self) -> i64 {
        let st = self.state.lock();
        st.memory.len() as i64 + st.backend.depth()
    }

    /// Figures for /stats.
    pub fn snapshot(&self) -> TopicSnapshot {
        let st = self.state.lock();
        TopicSnapshot {
            name: self.name.clone(),
            depth: st.memory.len() as i64 + st.backend.depth(),
            backend_depth: st.backend.depth(),
            message_count: self.message_count.load(Ordering::Relaxed),
            message_bytes: self.message_bytes.load(Ordering::Relaxed),
            paused: self.is_paused(),
            channels: st.channels.values().cloned().collect(),
        }
    }

    /// Starts the drain task if there is a backlog, channels to receive it, and no pause.
    fn start_drain(self: &Arc<Self>) {
        let mut st = self.state.lock();
        if st.draining || st.held || self.is_paused() || st.channels.is_empty() {
            return;
        }
        if st.memory.is_empty() && st.backend.is_empty() {
            return;
        }
        st.draining = true;
        drop(st);
        let topic = Arc::clone(self);
        tokio::spawn(async move { topic.drain().await });
    }

    /// Moves the backlog to the channels in batches, yielding between batches so publishers
    /// and consumers keep running. Stops when the backlog is gone, the topic is paused or has
    /// no channels; waits (briefly) when a channel has no room.
    async fn drain(self: Arc<Self>) {
        const BATCH: usize = 512;
        let mut batch = Vec::with_capacity(BATCH);
        let mut tokens = Vec::new();
        loop {
            {
                let mut st = self.state.lock();
                if self.is_exiting() || st.held || self.is_paused() || st.channels.is_empty() {
                    st.draining = false;
                    return;
                }
                let room = st
                    .channels
                    .values()
                    .map(|c| c.room())
                    .min()
                    .unwrap_or(0)
                    .min(BATCH);
                while batch.len() < room {
                    if let Some(m) = st.memory.pop_front() {
                        batch.push(m);
                        continue;
                    }
                    // Disk records are acknowledged only once every channel stored the
                    // message, so a crash in between replays it rather than losing it.
                    let Some((mut m, due, token)) = st.backend.pop_due_unacked() else {
                        break;
                    };
                    if let Some(due_unix) = due {
                        let remaining = due_unix - crate::clock::unix_nanos();
                        m.defer_ms = (remaining.max(0) / 1_000_000) as u64;
                    }
                    tokens.push(token);
                    batch.push(m);
                }
                if batch.is_empty() && st.memory.is_empty() && st.backend.is_empty() {
                    st.draining = false;
                    return;
                }
                let mut stored = true;
                for c in st.channels.values() {
                    if let Err(e) = c.put_batch(&batch) {
                        stored = false;
                        tracing::error!(
                            "TOPIC({}): failed to put msg(s) to channel({}) - {e}",
                            self.name,
                            c.name
                        );
                    }
                }
                if stored {
                    for t in tokens.drain(..) {
                        st.backend.ack(t);
                    }
                }
                tokens.clear();
            }
            let stalled = batch.is_empty();
            batch.clear();
            if stalled {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            } else {
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Due times (unix ns) of the deferred messages among `msgs`, for the disk queue's
/// deferred index: a DPUB that spills to disk keeps its delay (the reference loses it).
fn deferred_dues(msgs: &[Message]) -> Vec<(nsq_protocol::MessageId, i64)> {
    let now = unix_nanos();
    msgs.iter()
        .filter(|m| m.defer_ms > 0)
        .map(|m| {
            (
                m.id,
                now.saturating_add((m.defer_ms as i64).saturating_mul(1_000_000)),
            )
        })
        .collect()
}
