//! nsqadmin: the NSQ cluster's HTTP aggregator and web UI.
//!
//! Operators use nsqadmin to watch depths and rates, find stuck channels and pause, empty
//! or delete topics and channels during incidents; scripts and dashboards call its `/api`.
//! This crate answers that `/api` as the reference nsqadmin does (same routes, JSON shapes,
//! status codes, partial `WARNING:` and total `UPSTREAM_ERROR` answers, webhook, ACL,
//! base path, `/config`) and embeds its own web UI.
//!
//! Layout:
//! * [`options`] / [`flags`] / [`validate`]: configuration, the Go-compatible command line
//!   and startup checks;
//! * [`client`]: the bounded upstream HTTP client with Go's error texts;
//! * [`cluster`]: querying nsqlookupd and nsqd and merging their answers;
//! * [`api`]: the HTTP routes; [`assets`]: the embedded UI;
//! * [`acl`], [`notify`], [`compress`]: admin checks, the webhook, response compression;
//! * [`server`]: binding and serving ([`NsqAdmin`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), nsq_admin::StartupError> {
//! let mut opts = nsq_admin::Options::default();
//! opts.http_address = "127.0.0.1:4171".into();
//! opts.nsqlookupd_http_addresses = vec!["127.0.0.1:4161".into()];
//! let admin = nsq_admin::NsqAdmin::bind(opts, None).await?;
//! admin.run(std::future::pending()).await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod acl;
pub mod api;
pub mod assets;
pub mod cidr;
pub mod client;
pub mod cluster;
pub mod compress;
pub mod flags;
pub mod godecode;
pub mod notify;
pub mod options;
pub mod semver;
pub mod server;
pub mod state;
pub mod validate;

pub use options::Options;
pub use server::NsqAdmin;
pub use validate::StartupError;
