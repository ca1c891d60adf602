//! The two options `PUT /config/:opt` may change while nsqd runs (spec §4.2 `/config`):
//! `nsqlookupd_tcp_addresses` and `log_level`. Everything else stays in the immutable
//! [`crate::Options`].
//!
//! The lookupd address list itself lives in the daemon
//! ([`Daemon::set_nsqlookupd_tcp_addresses`], followed by the lookupd loop through
//! [`Daemon::watch_nsqlookupd_tcp_addresses`]); this module only remembers whether it was
//! last set from a JSON `null` (the reference then reports `null`, not `[]`). The log level
//! lives in the process log handle.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::daemon::Daemon;

/// Runtime-updatable options.
///
/// Invariant: `lookupd_null` is true iff the daemon's lookupd address list was last set
/// through [`LiveConfig::set_lookupd_addresses`] with `None`.
#[derive(Debug)]
pub struct LiveConfig {
    lookupd_null: AtomicBool,
    log: Option<nsq_cli::LogHandle>,
}

impl LiveConfig {
    /// `log` is the process log handle whose level `log_level` reads and changes (`None` in
    /// tests: the level then stays at the configured one).
    pub fn new(log: Option<nsq_cli::LogHandle>) -> LiveConfig {
        LiveConfig {
            lookupd_null: AtomicBool::new(false),
            log,
        }
    }

    /// The lookupd TCP addresses as `/config` shows them: `None` for JSON `null`.
    pub fn lookupd_addresses(&self, daemon: &Daemon) -> Option<Vec<String>> {
        if self.lookupd_null.load(Ordering::Acquire) {
            None
        } else {
            Some(daemon.nsqlookupd_tcp_addresses())
        }
    }

    /// Replaces the lookupd TCP addresses (`None` = JSON `null`, i.e. no addresses); the
    /// daemon's watchers (the lookupd loop) see the change.
    pub fn set_lookupd_addresses(&self, daemon: &Daemon, addrs: Option<Vec<String>>) {
        self.lookupd_null.store(addrs.is_none(), Ordering::Release);
        daemon.set_nsqlookupd_tcp_addresses(addrs.unwrap_or_default());
    }

    /// The current log level as the reference's integer (1 debug .. 5 fatal).
    pub fn log_level(&self, configured: u8) -> i64 {
        match &self.log {
            Some(h) => h.level().as_int(),
            None => i64::from(configured),
        }
    }

    /// Changes the process log level. Without a log handle (tests) this is a no-op.
    pub fn set_log_level(&self, level: nsq_cli::LogLevel) {
        if let Some(h) = &self.log {
            h.set_level(level);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lookupd_changes_reach_the_daemon() {
        let d = Daemon::new(crate::Options::default());
        let live = LiveConfig::new(None);
        let mut rx = d.watch_nsqlookupd_tcp_addresses();
        assert_eq!(live.lookupd_addresses(&d), Some(vec![]));
        live.set_lookupd_addresses(&d, Some(vec!["b:2".into(), "c:3".into()]));
        rx.changed().await.expect("sender alive");
        assert_eq!(*rx.borrow(), vec!["b:2".to_string(), "c:3".to_string()]);
        live.set_lookupd_addresses(&d, None);
        assert_eq!(live.lookupd_addresses(&d), None);
        assert!(d.nsqlookupd_tcp_addresses().is_empty());
        assert_eq!(live.log_level(3), 3);
    }
}
