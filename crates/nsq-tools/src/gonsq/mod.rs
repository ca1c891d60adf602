//! The parts of go-nsq (v1.1.0) the NSQ utilities are built on, with its observable
//! behaviour: option names and texts ([`config`]), log lines ([`log`]), connection set-up
//! ([`dial`]), the multi-connection [`consumer`] and the [`producer`].
//!
//! TLS, Snappy and Deflate are not implemented: asking for them (`tls_v1`, `snappy`,
//! `deflate`) makes connecting fail with `<option> is not supported by this implementation`.

pub mod config;
pub mod consumer;
pub mod dial;
pub mod log;
pub mod message;
pub mod producer;

pub use config::{Config, ConfigError, OptValue};
pub use consumer::{Consumer, ConsumerError, Handler};
pub use message::Delivery;
pub use producer::{Producer, ProducerError};

/// The go-nsq version the tools report in their user agent.
pub const GO_NSQ_VERSION: &str = "1.1.0";

/// The user agent a utility sends in IDENTIFY: `<tool>/1.3.0 go-nsq/1.1.0`.
pub fn user_agent(tool: &str) -> String {
    format!("{tool}/{} go-nsq/{GO_NSQ_VERSION}", nsq_cli::NSQ_VERSION)
}
