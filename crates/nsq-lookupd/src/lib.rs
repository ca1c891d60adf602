//! nsqlookupd, the NSQ discovery daemon, as a library (the `nsqlookupd` binary in
//! `apps/nsqlookupd` only parses flags and calls [`Lookupd`]).
//!
//! nsqd instances connect over TCP and speak the lookup protocol V1 ([`protocol`]) to
//! announce themselves (IDENTIFY), their topics and channels (REGISTER/UNREGISTER) and
//! their liveness (PING). The announcements land in the in-memory [`db`], which consumers
//! and nsqadmin query over HTTP ([`http`]). Nothing is persisted.
//!
//! Module map: [`options`] (settings and defaults), [`db`] (registration database),
//! [`identify`] (IDENTIFY body decoding), [`protocol`] (V1 commands), [`tcp`] (TCP
//! listener and connection lifecycle), [`http`] (HTTP routes), [`state`] (what TCP and
//! HTTP share), [`server`] (binding and running an instance).

#![warn(missing_docs)]

pub mod db;
pub mod http;
pub mod identify;
pub mod options;
pub mod protocol;
pub mod server;
pub mod state;
pub mod tcp;

pub use db::RegistrationDb;
pub use options::Options;
pub use server::{Lookupd, StartError};
pub use state::State;
