//! The state every request handler shares.
//!
//! Options can change at runtime (`PUT /config/:opt`), so handlers take a snapshot
//! ([`AdminState::opts`]) at the start of a request and use it throughout; a concurrent
//! change affects only later requests.

use std::sync::Arc;

use nsq_cli::LogHandle;
use parking_lot::RwLock;

use crate::cidr::Cidr;
use crate::client::{Client, Url};
use crate::cluster::ClusterInfo;
use crate::notify::{AdminAction, Notifier, RequestInfo};
use crate::options::Options;

struct Inner {
    opts: RwLock<Arc<Options>>,
    ci: ClusterInfo,
    notifier: Notifier,
    log: Option<LogHandle>,
    hostname: String,
    cidr: Option<Cidr>,
    graphite: Option<Url>,
}

/// Shared handler state. Cheap to clone.
#[derive(Clone)]
pub struct AdminState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState").finish_non_exhaustive()
    }
}

/// The parts [`AdminState::new`] needs, already validated.
pub struct StateParts {
    /// Validated options.
    pub opts: Options,
    /// Upstream client.
    pub client: Client,
    /// Process log handle (runtime level changes), if logging was initialised.
    pub log: Option<LogHandle>,
    /// `--allow-config-from-cidr`, parsed (`None` = check disabled).
    pub cidr: Option<Cidr>,
    /// `--graphite-url`, parsed when `--proxy-graphite` is on.
    pub graphite: Option<Url>,
}

impl AdminState {
    /// Builds the state and starts the notification worker (needs a tokio runtime).
    pub fn new(parts: StateParts) -> AdminState {
        let notifier = Notifier::start(parts.client.clone());
        let hostname = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        AdminState {
            inner: Arc::new(Inner {
                opts: RwLock::new(Arc::new(parts.opts)),
                ci: ClusterInfo::new(parts.client),
                notifier,
                log: parts.log,
                hostname,
                cidr: parts.cidr,
                graphite: parts.graphite,
            }),
        }
    }

    /// The current options.
    pub fn opts(&self) -> Arc<Options> {
        self.inner.opts.read().clone()
    }

    /// Replaces the options (and applies a changed log level to the process logger).
    pub fn swap_opts(&self, opts: Options) {
        if let Some(log) = &self.inner.log {
            log.set_level(opts.log_level);
        }
        *self.inner.opts.write() = Arc::new(opts);
    }

    /// The cluster query engine.
    pub fn ci(&self) -> &ClusterInfo {
        &self.inner.ci
    }

    /// The parsed `--allow-config-from-cidr`.
    pub fn cidr(&self) -> Option<&Cidr> {
        self.inner.cidr.as_ref()
    }

    /// The graphite URL when proxying is enabled.
    pub fn graphite(&self) -> Option<&Url> {
        self.inner.graphite.as_ref()
    }

    /// Queues an admin-action notification (a no-op without an endpoint).
    pub fn notify(&self, action: &str, topic: &str, channel: &str, node: &str, req: &RequestInfo) {
        let opts = self.opts();
        if opts.notification_http_endpoint.is_empty() {
            return;
        }
        let a = AdminAction::new(action, topic, channel, node, req, &self.inner.hostname);
        self.inner
            .notifier
            .notify(&opts.notification_http_endpoint, a);
    }
}
