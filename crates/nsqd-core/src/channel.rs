//! A channel: one consumer group of a topic. Every message of the topic is copied into each
//! channel, and each channel delivers each message to one of its ready clients.
//!
//! Locking: all mutable state of a channel sits behind one mutex, taken once per batch by
//! the topic fan-out, once per pull by a client's pump and once per FIN/REQ/TOUCH. Lock order
//! is topic → channel; a channel never takes its topic's lock while holding its own.
//!
//! Delivery is pull-based: a ready client's pump pulls as many messages as its RDY window
//! allows. A pump that finds nothing parks itself in `waiters`; a put wakes one waiter, and a
//! pull that leaves messages behind wakes the next, so work spreads over ready clients without
//! a thundering herd.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use nsq_protocol::{Message, MessageId};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::backend::{AckToken, Backend, BackendError};
use crate::client::Client;
use crate::clock::{instant_at, mono_nanos};
use crate::deferred::Deferred;
use crate::e2e::E2eLatency;
use crate::inflight::{InFlight, InFlightEntry, InFlightError};
use crate::topic::Topic;

/// Why SUB could not attach a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddClientError {
    /// The channel is being deleted or closed.
    #[error("exiting")]
    Exiting,
    /// `--max-channel-consumers` reached.
    #[error("consumers for {topic}:{channel} exceeds limit of {limit}")]
    TooMany {
        /// Topic name.
        topic: String,
        /// Channel name.
        channel: String,
        /// The configured limit.
        limit: i64,
    },
}

/// Why a REQ failed (reference texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequeueError {
    /// Not in flight / not owned.
    #[error("{0}")]
    InFlight(#[from] InFlightError),
    /// The channel is exiting.
    #[error("exiting")]
    Exiting,
    /// The ID is already deferred (duplicate IDs only).
    #[error("ID already deferred")]
    AlreadyDeferred,
}

/// Point-in-time figures of a channel for /stats.
#[derive(Debug, Clone)]
pub struct ChannelSnapshot {
    /// Channel name.
    pub name: String,
    /// Memory + backend depth.
    pub depth: i64,
    /// Backend depth.
    pub backend_depth: i64,
    /// In-flight count.
    pub in_flight_count: i64,
    /// Deferred count.
    pub deferred_count: i64,
    /// Messages put into the channel.
    pub message_count: u64,
    /// Successful REQs.
    pub requeue_count: u64,
    /// In-flight timeouts.
    pub timeout_count: u64,
    /// Deliveries taken from the memory queue (the reference's `global_msg_count`).
    pub global_msg_count: u64,
    /// Paused flag.
    pub paused: bool,
    /// Attached clients.
    pub clients: Vec<Arc<Client>>,
}

struct State {
    memory: VecDeque<Message>,
    mem_limit: usize,
    backend: Backend,
    in_flight: InFlight,
    deferred: Deferred,
    clients: HashMap<u64, Arc<Client>>,
    waiters: VecDeque<Arc<Client>>,
    /// When the timer task will next wake (monotonic ns), `i64::MAX` if idle.
    timer_at: i64,
    /// Disk records read but not yet settled, by message ID. A message read from the disk
    /// queue keeps its record unacknowledged until it is finished or written to disk again,
    /// so a crash (kill -9) replays it instead of losing it.
    acks: HashMap<MessageId, AckToken>,
}

/// Settings a channel reads on its hot path, copied from the options at creation.
#[derive(Debug, Clone, Copy)]
pub struct ChannelLimits {
    /// `--mem-queue-size`.
    pub mem_queue_size: usize,
    /// `--max-msg-timeout` in ns.
    pub max_msg_timeout_ns: i64,
    /// `--max-channel-consumers` (0 = unlimited).
    pub max_channel_consumers: i64,
}

/// One channel of a topic.
pub struct Channel {
    /// Owning topic's name.
    pub topic_name: String,
    /// Channel name.
    pub name: String,
    /// Name ends in `#ephemeral`.
    pub ephemeral: bool,
    limits: ChannelLimits,
    state: Mutex<State>,
    paused: AtomicBool,
    exiting: AtomicBool,
    timer_wake: Notify,
    message_count: AtomicU64,
    requeue_count: AtomicU64,
    timeout_count: AtomicU64,
    global_msg_count: AtomicU64,
    /// End-to-end latency, set once when percentiles are configured (see
    /// [`Channel::enable_e2e`]).
    e2e: OnceLock<E2eLatency>,
    topic: Weak<Topic>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Channel({}:{})", self.topic_name, self.name)
    }
}

impl Channel {
    /// Creates a channel and starts its timer task (in-flight timeouts, deferred release).
    /// Must be called inside a tokio runtime.
    pub fn new(
        topic: &Arc<Topic>,
        name: &str,
        limits: ChannelLimits,
        backend: Backend,
    ) -> Arc<Channel> {
        let ch = Arc::new(Channel {
            topic_name: topic.name.clone(),
            name: name.to_string(),
            ephemeral: nsq_protocol::names::is_ephemeral(name),
            limits,
            state: Mutex::new(State {
                memory: VecDeque::new(),
                mem_limit: limits.mem_queue_size,
                backend,
                in_flight: InFlight::default(),
                deferred: Deferred::default(),
                clients: HashMap::new(),
                waiters: VecDeque::new(),
                timer_at: i64::MAX,
                acks: HashMap::new(),
            }),
            paused: AtomicBool::new(false),
            exiting: AtomicBool::new(false),
            timer_wake: Notify::new(),
            message_count: AtomicU64::new(0),
            requeue_count: AtomicU64::new(0),
            timeout_count: AtomicU64::new(0),
            global_msg_count: AtomicU64::new(0),
            e2e: OnceLock::new(),
            topic: Arc::downgrade(topic),
        });
        tokio::spawn(timer_task(Arc::downgrade(&ch)));
        ch
    }

    /// True once the channel is being deleted or closed.
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::Acquire)
    }

    /// True iff paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// How many more ready messages can be stored right now (`usize::MAX` when the backend
    /// takes overflow).
    pub fn room(&self) -> usize {
        let st = self.state.lock();
        if st.backend.accepts(1) || st.backend.accepts(usize::MAX) {
            usize::MAX
        } else {
            st.mem_limit.saturating_sub(st.memory.len())
        }
    }

    /// True iff `n` more ready messages can be stored right now.
    pub fn can_accept(&self, n: usize) -> bool {
        let st = self.state.lock();
        st.memory.len() + n <= st.mem_limit || st.backend.accepts(n)
    }

    /// Stores messages from the topic (deferred ones go to the deferred queue) and wakes a
    /// waiting client. Counts each toward `message_count`.
    pub fn put_batch(&self, msgs: &[Message]) -> Result<(), BackendError> {
        if self.is_exiting() {
            return Err(BackendError::Io("exiting".into()));
        }
        let now = mono_nanos();
        let mut st = self.state.lock();
        let mut wake_timer = false;
        let mut spill: Vec<Message> = Vec::new();
        for m in msgs {
            if m.defer_ms > 0 {
                let due = now.saturating_add((m.defer_ms as i64).saturating_mul(1_000_000));
                let mut m = m.clone();
                m.defer_ms = 0;
                if st.deferred.push(m, due) && due < st.timer_at {
                    wake_timer = true;
                }
            } else if spill.is_empty() && st.memory.len() < st.mem_limit && st.backend.is_empty() {
                st.memory.push_back(m.clone());
            } else {
                spill.push(m.clone());
            }
        }
        st.backend.put_batch(&spill)?;
        self.message_count
            .fetch_add(msgs.len() as u64, Ordering::Relaxed);
        wake_one_waiter(&mut st);
        drop(st);
        if wake_timer {
            self.timer_wake.notify_one();
        }
        Ok(())
    }

    /// Attaches a subscribing client.
    pub fn add_client(&self, client: &Arc<Client>) -> Result<(), AddClientError> {
        if self.is_exiting() {
            return Err(AddClientError::Exiting);
        }
        let mut st = self.state.lock();
        let limit = self.limits.max_channel_consumers;
        if limit > 0 && st.clients.len() as i64 >= limit && !st.clients.contains_key(&client.id) {
            return Err(AddClientError::TooMany {
                topic: self.topic_name.clone(),
                channel: self.name.clone(),
                limit,
            });
        }
        st.clients.insert(client.id, Arc::clone(client));
        Ok(())
    }

    /// Detaches a client. Its in-flight messages stay in flight until they time out (as in
    /// the reference). Deletes an ephemeral channel when its last client leaves.
    pub fn remove_client(&self, client_id: u64) {
        let now_empty = {
            let mut st = self.state.lock();
            if st.clients.remove(&client_id).is_none() {
                return;
            }
            st.waiters.retain(|c| c.id != client_id);
            st.clients.is_empty()
        };
        if now_empty && self.ephemeral {
            if let Some(topic) = self.topic.upgrade() {
                let name = self.name.clone();
                tokio::spawn(async move {
                    topic.delete_channel_if_unused(&name);
                });
            }
        }
    }

    /// Number of attached clients.
    pub fn client_count(&self) -> usize {
        self.state.lock().clients.len()
    }

    /// Moves up to `max` ready messages into flight for `client`, appending them to `out`.
    /// If fewer than `max` were available, the client is parked as a waiter and woken by the
    /// next put. Returns how many were appended.
    pub fn pull(&self, client: &Arc<Client>, max: usize, out: &mut Vec<Message>) -> usize {
        if max == 0 {
            return 0;
        }
        let now = mono_nanos();
        let timeout = client.msg_timeout_ns.load(Ordering::Relaxed);
        let deadline = now.saturating_add(timeout);
        let sample_rate = client.sample_rate.load(Ordering::Relaxed);
        let mut st = self.state.lock();
        if self.is_paused() || self.is_exiting() {
            return 0;
        }
        let mut taken = 0;
        let mut from_memory = 0u64;
        let mut wake_timer_for_deferred = false;
        while taken < max {
            let mut m = if let Some(m) = st.memory.pop_front() {
                from_memory += 1;
                m
            } else if let Some((m, due, token)) = st.backend.pop_due_unacked() {
                st.acks.insert(m.id, token);
                if let Some(due_unix) = due {
                    // Stored while deferred: keep the remaining delay.
                    let remaining = due_unix - crate::clock::unix_nanos();
                    if remaining > 0 {
                        let due_mono = now.saturating_add(remaining);
                        if st.deferred.push(m, due_mono) && due_mono < st.timer_at {
                            wake_timer_for_deferred = true;
                        }
                        continue;
                    }
                }
                m
            } else {
                break;
            };
            if sample_rate > 0
                && rand::Rng::gen_range(&mut rand::thread_rng(), 0..100u8) > sample_rate
            {
                // Sampled out: dropped for this channel, as in the reference.
                settle(&mut st, &m.id);
                continue;
            }
            m.attempts = m.attempts.wrapping_add(1);
            if st.in_flight.insert(m.clone(), client.id, now, deadline) {
                out.push(m);
                taken += 1;
            }
        }
        // Took less than asked: the queue is drained and the client still has room, so it
        // waits for the next put. (Parking only when nothing was taken would strand a
        // consumer that drained the queue with a partly used window.)
        if taken < max && !client.waiting.swap(true, Ordering::AcqRel) {
            st.waiters.push_back(Arc::clone(client));
        }
        if taken > 0 {
            client.in_flight.fetch_add(taken as i64, Ordering::AcqRel);
            client
                .message_count
                .fetch_add(taken as u64, Ordering::Relaxed);
            self.global_msg_count
                .fetch_add(from_memory, Ordering::Relaxed);
            let wake_timer = deadline < st.timer_at;
            if !st.memory.is_empty() || !st.backend.is_empty() {
                wake_one_waiter(&mut st);
            }
            drop(st);
            if wake_timer {
                self.timer_wake.notify_one();
            }
        }
        if wake_timer_for_deferred {
            self.timer_wake.notify_one();
        }
        taken
    }

    /// Passes a wake-up on to another waiter if messages are pending. A pump calls this when
    /// it was woken but can no longer take messages, so the wake is not lost.
    pub fn pass_wake(&self) {
        let mut st = self.state.lock();
        if !st.memory.is_empty() || !st.backend.is_empty() {
            wake_one_waiter(&mut st);
        }
    }

    /// FIN: removes an owned message from flight.
    pub fn finish(&self, id: &MessageId, client: &Client) -> Result<InFlightEntry, InFlightError> {
        let entry = {
            let mut st = self.state.lock();
            let entry = st.in_flight.remove(id, client.id)?;
            settle(&mut st, id);
            entry
        };
        client.finish_count.fetch_add(1, Ordering::Relaxed);
        client.message_settled();
        if let Some(e2e) = self.e2e.get() {
            e2e.record(crate::clock::unix_nanos() - entry.message.timestamp);
        }
        Ok(entry)
    }

    /// Starts recording end-to-end latency on every FIN into `latency`. Only the first call
    /// has an effect.
    pub fn enable_e2e(&self, latency: E2eLatency) {
        let _ = self.e2e.set(latency);
    }

    /// The end-to-end latency stream, if enabled.
    pub fn e2e(&self) -> Option<&E2eLatency> {
        self.e2e.get()
    }

    /// REQ: takes an owned message out of flight and puts it back now (`delay_ns == 0`, at
    /// the tail) or after `delay_ns`.
    pub fn requeue(
        &self,
        id: &MessageId,
        client: &Client,
        delay_ns: i64,
    ) -> Result<(), RequeueError> {
        if self.is_exiting() {
            return Err(RequeueError::Exiting);
        }
        let mut st = self.state.lock();
        let entry = st.in_flight.remove(id, client.id)?;
        let mut wake_timer = false;
        if delay_ns <= 0 {
            if let Err(e) = push_ready(&mut st, entry.message) {
                tracing::error!(
                    "channel({}:{}): requeue failed - {e}",
                    self.topic_name,
                    self.name
                );
            }
            wake_one_waiter(&mut st);
        } else {
            let due = mono_nanos().saturating_add(delay_ns);
            if !st.deferred.push(entry.message, due) {
                return Err(RequeueError::AlreadyDeferred);
            }
            wake_timer = due < st.timer_at;
        }
        drop(st);
        self.requeue_count.fetch_add(1, Ordering::Relaxed);
        client.requeue_count.fetch_add(1, Ordering::Relaxed);
        client.message_settled();
        if wake_timer {
            self.timer_wake.notify_one();
        }
        Ok(())
    }

    /// TOUCH: extends an owned message's deadline by the client's msg timeout, capped at
    /// `delivery time + --max-msg-timeout`.
    pub fn touch(&self, id: &MessageId, client: &Client) -> Result<(), InFlightError> {
        let now = mono_nanos();
        let timeout = client.msg_timeout_ns.load(Ordering::Relaxed);
        let mut st = self.state.lock();
        let delivered_at = match st.in_flight.get(id) {
            Some(e) if e.client_id == client.id => e.delivered_at,
            Some(_) => return Err(InFlightError::NotOwner),
            None => return Err(InFlightError::NotInFlight),
        };
        let cap = delivered_at.saturating_add(self.limits.max_msg_timeout_ns);
        let deadline = now.saturating_add(timeout).min(cap);
        st.in_flight.touch(id, client.id, deadline)
    }

    /// Pauses delivery (clients become not ready; in-flight messages may still be acked).
    pub fn pause(&self) {
        self.paused.store(true, Ordering::Release);
    }

    /// Resumes delivery and wakes every client.
    pub fn unpause(&self) {
        self.paused.store(false, Ordering::Release);
        let st = self.state.lock();
        for c in st.clients.values() {
            c.pump_wake.notify_one();
        }
    }

    /// Drops every queued, in-flight and deferred message and resets clients' in-flight
    /// counts (HTTP /channel/empty).
    pub fn empty(&self) -> Result<(), BackendError> {
        let mut st = self.state.lock();
        st.memory.clear();
        st.in_flight.drain();
        st.deferred.drain();
        st.acks.clear();
        for c in st.clients.values() {
            c.in_flight.store(0, Ordering::Release);
            c.pump_wake.notify_one();
        }
        st.backend.empty()
    }

    /// Graceful shutdown: writes memory, in-flight and deferred messages (in that order, as
    /// ordinary messages) to the disk queue and closes it. Ephemeral channels discard them.
    pub fn close(&self) {
        self.close_clients();
        let mut st = self.state.lock();
        let mut rest: Vec<Message> = st.memory.drain(..).collect();
        let mut in_flight: Vec<_> = st.in_flight.drain();
        in_flight.sort_by_key(|e| e.delivered_at);
        rest.extend(in_flight.into_iter().map(|e| e.message));
        // Deferred messages keep their remaining delay through the disk queue (see
        // `DeferredIndex`); the reference delivers them at once after a restart.
        let (mono_now, unix_now) = (mono_nanos(), crate::clock::unix_nanos());
        let mut dues = Vec::new();
        for (m, due_mono) in st.deferred.drain() {
            dues.push((m.id, unix_now.saturating_add(due_mono - mono_now)));
            rest.push(m);
        }
        if !rest.is_empty() {
            if let Err(e) = st.backend.put_batch_due(&rest, &dues) {
                tracing::error!(
                    "channel({}:{}): failed to flush {} messages - {e}",
                    self.topic_name,
                    self.name,
                    rest.len()
                );
            } else {
                // Everything unsettled now has a new record: release the old ones.
                let tokens: Vec<AckToken> = st.acks.drain().map(|(_, t)| t).collect();
                for t in tokens {
                    st.backend.ack(t);
                }
            }
        }
        st.backend.close();
    }

    /// Deletion: drops every message and removes the disk queue files.
    pub fn delete_storage(&self) {
        let mut st = self.state.lock();
        st.memory.clear();
        st.in_flight.drain();
        st.deferred.drain();
        st.acks.clear();
        st.backend.delete();
    }

    /// Time-based fsync of the disk queue.
    pub fn tick(&self) {
        self.state.lock().backend.tick();
    }

    /// Marks the channel exiting and closes its client connections (delete/close).
    pub fn close_clients(&self) {
        self.exiting.store(true, Ordering::Release);
        let st = self.state.lock();
        for c in st.clients.values() {
            c.request_close();
        }
        drop(st);
        self.timer_wake.notify_one();
    }

    /// Memory + backend depth.
    pub fn depth(&self) -> i64 {
        let st = self.state.lock();
        st.memory.len() as i64 + st.backend.depth()
    }

    /// Figures for /stats.
    pub fn snapshot(&self) -> ChannelSnapshot {
        let st = self.state.lock();
        ChannelSnapshot {
            name: self.name.clone(),
            depth: st.memory.len() as i64 + st.backend.depth(),
            backend_depth: st.backend.depth(),
            in_flight_count: st.in_flight.len() as i64,
            deferred_count: st.deferred.len() as i64,
            message_count: self.message_count.load(Ordering::Relaxed),
            requeue_count: self.requeue_count.load(Ordering::Relaxed),
            timeout_count: self.timeout_count.load(Ordering::Relaxed),
            global_msg_count: self.global_msg_count.load(Ordering::Relaxed),
            paused: self.is_paused(),
            clients: st.clients.values().cloned().collect(),
        }
    }

    /// Handles due timeouts and deferrals; returns the next wake time (monotonic ns).
    fn process_timers(&self, now: i64) -> i64 {
        let mut st = self.state.lock();
        let mut woke = false;
        let mut timed_out = Vec::new();
        while let Some(entry) = st.in_flight.pop_expired(now) {
            timed_out.push(entry.client_id);
            if let Err(e) = push_ready(&mut st, entry.message) {
                tracing::error!(
                    "channel({}:{}): timeout requeue failed - {e}",
                    self.topic_name,
                    self.name
                );
            }
            woke = true;
        }
        while let Some(m) = st.deferred.pop_due(now) {
            if let Err(e) = push_ready(&mut st, m) {
                tracing::error!(
                    "channel({}:{}): deferred release failed - {e}",
                    self.topic_name,
                    self.name
                );
            }
            woke = true;
        }
        if !timed_out.is_empty() {
            self.timeout_count
                .fetch_add(timed_out.len() as u64, Ordering::Relaxed);
            for id in &timed_out {
                if let Some(c) = st.clients.get(id) {
                    c.message_done();
                }
            }
        }
        if woke {
            // Several messages may have become ready: wake as many waiters.
            let n = st.memory.len().min(st.waiters.len()).max(1);
            for _ in 0..n {
                wake_one_waiter(&mut st);
            }
        }
        let next = match (st.in_flight.next_deadline(), st.deferred.next_due()) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => i64::MAX,
        };
        st.timer_at = next;
        next
    }
}

/// Appends a ready message to memory, or to the backend when memory is full or the backend
/// already holds older messages (so delivery order stays FIFO).
fn push_ready(st: &mut State, m: Message) -> Result<(), BackendError> {
    if st.memory.len() < st.mem_limit && st.backend.is_empty() {
        st.memory.push_back(m);
        Ok(())
    } else {
        st.backend.put(&m)?;
        // Stored durably again as a new record: the old record may be released.
        settle(st, &m.id);
        Ok(())
    }
}

/// Releases the disk record a message was read from, if any (finished, dropped, or
/// rewritten to disk).
fn settle(st: &mut State, id: &MessageId) {
    if st.acks.is_empty() {
        return;
    }
    if let Some(token) = st.acks.remove(id) {
        st.backend.ack(token);
    }
}

fn wake_one_waiter(st: &mut State) {
    while let Some(c) = st.waiters.pop_front() {
        c.waiting.store(false, Ordering::Release);
        // A parked client that stopped being ready will pull (and park again) when it
        // becomes ready; skipping it here keeps the wake for someone who can use it.
        if c.is_ready() {
            c.pump_wake.notify_one();
            return;
        }
    }
}

/// Per-channel timer: sleeps until the earliest in-flight deadline or deferred due time,
/// handles what is due, and is woken early when an earlier deadline appears. Unlike the
/// reference's sampling scan loop, timeouts fire on time regardless of channel age.
async fn timer_task(channel: Weak<Channel>) {
    loop {
        let Some(ch) = channel.upgrade() else { return };
        if ch.is_exiting() {
            return;
        }
        let next = ch.process_timers(mono_nanos());
        let wake = async {
            if next == i64::MAX {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep_until(instant_at(next)).await
            }
        };
        tokio::select! {
            _ = wake => {}
            _ = ch.timer_wake.notified() => {}
        }
        drop(ch);
    }
}
