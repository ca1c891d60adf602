//! The NSQ utilities: `to_nsq`, `nsq_tail`, `nsq_stat`, `nsq_to_file`, `nsq_to_http` and
//! `nsq_to_nsq`.
//!
//! Each utility is a drop-in replacement for the Go program of the same name: same flags
//! (Go `flag` syntax), same validation messages and exit statuses, same output formats and
//! the same client behaviour towards nsqd and nsqlookupd. The programs under `apps/` only
//! call the `main` function of their module here, so all logic is testable in one crate.
//!
//! Shared pieces: [`gonsq`] (the go-nsq consumer/producer semantics every tool depends
//! on), [`app`] (flag and signal plumbing), [`query`] (Go URL escaping).

#![warn(missing_docs)]

pub mod app;
pub mod gonsq;
pub mod nsq_stat;
pub mod nsq_tail;
pub mod nsq_to_file;
pub mod query;
pub mod to_nsq;
