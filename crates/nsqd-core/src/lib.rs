//! The nsqd engine: topics, channels, their queues, in-flight and deferred tracking, client
//! connections and the TCP protocol server.
//!
//! How a message flows (see docs/architecture.md): a connection's IO loop ([`tcp`]) parses
//! `PUB`, looks up the [`topic::Topic`] (cached per connection) and calls
//! [`topic::Topic::publish`], which fans the batch out to every [`channel::Channel`]. A
//! subscribed connection's pump pulls ready messages from its channel into flight and writes
//! them; FIN/REQ/TOUCH come back through the IO loop; each channel's timer task handles
//! timeouts and deferrals.

pub mod auth;
pub mod backend;
pub mod channel;
pub mod client;
pub mod clock;
pub mod daemon;
pub mod deferred;
pub mod deferred_index;
pub mod e2e;
pub mod flags;
pub mod health;
pub mod http;
pub mod inflight;
pub mod lookup;
pub mod metadata;
pub mod metrics;
pub mod options;
pub mod security;
pub mod server;
pub mod stats;
pub mod statsd;
pub mod tcp;
pub mod tls_config;
pub mod topic;

pub use daemon::{Daemon, Event};
pub use options::Options;

#[cfg(test)]
mod engine_tests;
