//! The NSQ TCP protocol V2 vocabulary shared by every program in this workspace.
//!
//! Nothing here does IO. Each wire concept lives in its own module so a reader can find it:
//! [`frame`] (server → client frames), [`command`] (client → server command lines),
//! [`message`] (the message payload layout, also used on disk), [`id`] (message ID
//! generation), [`names`] (topic/channel name rules), [`error`] (error codes and which ones
//! close the connection), [`number`] (the reference's numeric parameter parser) and
//! [`gostr`] (Go-compatible string quoting used inside error texts and JSON).

pub mod command;
pub mod error;
pub mod frame;
pub mod gostr;
pub mod id;
pub mod message;
pub mod names;
pub mod number;

pub use command::{split_params, CommandName};
pub use error::{ClientError, ErrorCode};
pub use frame::FrameType;
pub use id::{IdGenerator, MessageId};
pub use message::Message;

/// The 4-byte magic a V2 (nsqd) client sends first.
pub const MAGIC_V2: &[u8; 4] = b"  V2";
/// The 4-byte magic an nsqlookupd (V1) peer sends first.
pub const MAGIC_V1: &[u8; 4] = b"  V1";
/// The NSQ release whose behaviour we reproduce; reported in IDENTIFY, /info, /stats.
pub const NSQ_VERSION: &str = "1.3.0";
/// Longest command line (including its `\n`) the server accepts, as the reference's
/// 16 KiB buffered reader.
pub const MAX_LINE_LEN: usize = 16 * 1024;
