//! A delivered message and the promise to answer it (go-nsq's `*nsq.Message`).
//!
//! A handler receives a [`Delivery`]. Unless it calls
//! [`Delivery::disable_auto_response`], the consumer finishes the message when the handler
//! succeeds and requeues it (with backoff) when the handler fails. Handlers that answer
//! later (nsq_to_file after fsync, nsq_to_nsq after the republish is acknowledged) keep a
//! clone and call [`Delivery::finish`] / [`Delivery::requeue`] themselves. Only the first
//! answer counts, so a message is never both finished and requeued.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nsq_protocol::{Message, MessageId};

use super::consumer::conn::{ConnCmd, ConnShared};

/// A message delivered by one nsqd connection. Cheap to clone; clones share the answer.
#[derive(Debug, Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    msg: Message,
    conn: Arc<ConnShared>,
    responded: AtomicBool,
    auto_disabled: AtomicBool,
}

impl Delivery {
    pub(crate) fn new(msg: Message, conn: Arc<ConnShared>) -> Delivery {
        Delivery {
            inner: Arc::new(Inner {
                msg,
                conn,
                responded: AtomicBool::new(false),
                auto_disabled: AtomicBool::new(false),
            }),
        }
    }

    /// The message body.
    pub fn body(&self) -> &Bytes {
        &self.inner.msg.body
    }

    /// The message ID.
    pub fn id(&self) -> MessageId {
        self.inner.msg.id
    }

    /// Delivery attempts so far (1 on first delivery).
    pub fn attempts(&self) -> u16 {
        self.inner.msg.attempts
    }

    /// Publish time, ns since the Unix epoch.
    pub fn timestamp(&self) -> i64 {
        self.inner.msg.timestamp
    }

    /// The address of the nsqd that delivered it.
    pub fn nsqd_address(&self) -> &str {
        &self.inner.conn.addr
    }

    /// Takes responsibility for answering: the consumer will neither finish nor requeue it.
    pub fn disable_auto_response(&self) {
        self.inner.auto_disabled.store(true, Ordering::SeqCst);
    }

    /// Whether [`Delivery::disable_auto_response`] was called.
    pub fn is_auto_response_disabled(&self) -> bool {
        self.inner.auto_disabled.load(Ordering::SeqCst)
    }

    /// Whether the message was already finished or requeued.
    pub fn has_responded(&self) -> bool {
        self.inner.responded.load(Ordering::SeqCst)
    }

    fn claim(&self) -> bool {
        !self.inner.responded.swap(true, Ordering::SeqCst)
    }

    /// Sends `FIN` (once; later answers are ignored).
    pub fn finish(&self) {
        if self.claim() {
            self.inner.conn.send(ConnCmd::Respond {
                id: self.inner.msg.id,
                requeue_ms: None,
                backoff: false,
            });
        }
    }

    /// Sends `REQ` and signals backoff. `None` is go-nsq's `-1`: the configured
    /// `default_requeue_delay` times the attempt count, capped at `max_requeue_delay`.
    pub fn requeue(&self, delay: Option<Duration>) {
        self.do_requeue(delay, true);
    }

    /// Sends `REQ` without signalling backoff.
    pub fn requeue_without_backoff(&self, delay: Option<Duration>) {
        self.do_requeue(delay, false);
    }

    fn do_requeue(&self, delay: Option<Duration>, backoff: bool) {
        if !self.claim() {
            return;
        }
        let ms = match delay {
            Some(d) => u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            None => {
                let (default_ns, max_ns) = self.inner.conn.requeue_delays();
                let d = default_ns.saturating_mul(i64::from(self.inner.msg.attempts));
                u64::try_from(d.min(max_ns) / 1_000_000).unwrap_or(0)
            }
        };
        self.inner.conn.send(ConnCmd::Respond {
            id: self.inner.msg.id,
            requeue_ms: Some(ms),
            backoff,
        });
    }

    /// Sends `TOUCH` (resets the server's timeout) unless already answered.
    pub fn touch(&self) {
        if !self.has_responded() {
            self.inner.conn.send(ConnCmd::Touch(self.inner.msg.id));
        }
    }
}
