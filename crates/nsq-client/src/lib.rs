//! A small asynchronous NSQ client (TCP protocol V2) on tokio.
//!
//! It exists so that our load tools, tests and benchmarks can talk to any nsqd (ours or the
//! reference) without depending on the daemon's internals. It deliberately covers only what
//! those need: connect, `IDENTIFY` (no TLS/compression), `SUB`/`RDY`, `PUB`/`MPUB`/`DPUB`,
//! `FIN`/`REQ`/`TOUCH`, `NOP`/`CLS`, answering heartbeats, and decoding frames.
//!
//! Two levels of use:
//! * [`Connection`]: one task owns the socket; request/response helpers such as
//!   [`Connection::publish`] wait for their answer, [`Connection::next_message`] answers
//!   heartbeats by itself.
//! * [`Connection::into_split`]: a [`FrameReader`] and a [`CommandWriter`] that can live in
//!   different tasks (pipelined publishing, a consumer that reads while another task writes).
//!   At this level the caller answers heartbeats.
//!
//! Nothing a peer sends can make this crate panic: malformed frames become [`Error`]s.

#![warn(missing_docs)]

pub mod command;
pub mod conn;
pub mod error;
pub mod frame;
pub mod identify;
pub mod io;

pub use conn::{Connection, Event};
pub use error::Error;
pub use frame::{Frame, FrameDecoder};
pub use identify::{Config, IdentifyResponse};
pub use io::{CommandWriter, FrameReader};
pub use nsq_protocol::{Message, MessageId};

/// Result type of every fallible operation in this crate.
pub type Result<T> = std::result::Result<T, Error>;
