//! What sits behind a topic's or channel's memory queue when it is full.
//!
//! * `Discard`: ephemeral topics/channels: overflow is dropped, as in the reference.
//! * `Bounded`: no secondary storage: overflow is refused, so a publisher gets
//!   `E_PUB_FAILED` instead of a silent loss.
//!
//! The disk-backed variant (go-diskqueue format) plugs in here.

use nsq_protocol::Message;

/// Error from a backend write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// Memory is full and there is nowhere else to put the message.
    #[error("queue full")]
    Full,
    /// The disk write failed.
    #[error("{0}")]
    Io(String),
}

/// The overflow store of one queue.
#[derive(Debug)]
pub enum Backend {
    /// Drop overflow silently (ephemeral).
    Discard,
    /// Refuse overflow.
    Bounded,
}

impl Backend {
    /// True iff a write of `n` overflowing messages can succeed (without doing it).
    pub fn accepts(&self, _n: usize) -> bool {
        match self {
            Backend::Discard => true,
            Backend::Bounded => false,
        }
    }

    /// Stores one overflowing message.
    pub fn put(&mut self, _m: &Message) -> Result<(), BackendError> {
        match self {
            Backend::Discard => Ok(()),
            Backend::Bounded => Err(BackendError::Full),
        }
    }

    /// Takes the oldest stored message.
    pub fn pop(&mut self) -> Option<Message> {
        None
    }

    /// Messages stored.
    pub fn depth(&self) -> i64 {
        0
    }

    /// Drops everything stored.
    pub fn empty(&mut self) -> Result<(), BackendError> {
        Ok(())
    }
}
