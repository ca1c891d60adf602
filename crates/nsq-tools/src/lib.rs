//! The NSQ utilities: `to_nsq`, `nsq_tail`, `nsq_stat`, `nsq_to_file`, `nsq_to_http` and
//! `nsq_to_nsq`.
//!
//! Each utility is a drop-in replacement for the Go program of the same name: same flags
//! (Go `flag` syntax), same validation messages and exit statuses, same output formats and
//! the same client behaviour towards nsqd and nsqlookupd. The programs under `apps/` only
//! call the `main` function of their module here, so all logic is testable in one crate.
//!
//! Shared pieces: [`gonsq`] (the go-nsq consumer/producer semantics every tool depends
//! on), [`app`] (flag and signal plumbing), [`query`] and [`gofmt`] (Go URL escaping and
//! printf), [`hostpool`] and [`timer_metrics`] (destination choice and latency lines of the
//! relays), [`http_client`] (nsq_to_http's outbound requests).

#![warn(missing_docs)]

pub mod app;
pub mod gofmt;
pub mod gonsq;
pub mod hostpool;
pub mod http_client;
pub mod nsq_stat;
pub mod nsq_tail;
pub mod nsq_to_file;
pub mod nsq_to_http;
pub mod nsq_to_nsq;
pub mod query;
pub mod timer_metrics;
pub mod to_nsq;
