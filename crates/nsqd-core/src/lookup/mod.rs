//! nsqd's side of discovery (spec §8.3): registering with every nsqlookupd in
//! `nsqlookupd_tcp_addresses`, keeping the registrations current as topics and channels
//! come and go, and pre-creating channels that lookupds know of (§3.1).
//!
//! The loop owns one task per lookupd ([`peer`]); daemon [`Event`]s become REGISTER /
//! UNREGISTER commands fanned out to every peer's queue in event order, so one slow or dead
//! lookupd never delays the others. The address list is followed at runtime
//! (`PUT /config/nsqlookupd_tcp_addresses`): peers no longer listed are dropped, new ones
//! connect at once. At shutdown the peers are simply dropped — nsqd never sends UNREGISTER
//! when it exits; lookupd forgets it when the connection closes.

pub mod directory;
pub mod peer;
pub mod precreate;
pub mod wire;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::daemon::{Daemon, Event};
use directory::Directory;
use peer::{Peer, PeerContext, Request};
use wire::{Command, SelfInfo};

/// The ports nsqd announces: `--broadcast-{tcp,http}-port`, or the bound listeners' ports
/// when those are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BroadcastPorts {
    /// TCP port for consumers and publishers.
    pub tcp: i64,
    /// HTTP port.
    pub http: i64,
}

impl BroadcastPorts {
    /// Applies the options: a non-zero `--broadcast-*-port` wins over the listener's port.
    pub fn resolve(opts: &crate::options::Options, tcp_listener: i64, http_listener: i64) -> Self {
        let pick = |flag: i64, actual: i64| if flag != 0 { flag } else { actual.max(0) };
        BroadcastPorts {
            tcp: pick(opts.broadcast_tcp_port, tcp_listener),
            http: pick(opts.broadcast_http_port, http_listener),
        }
    }
}

/// The running lookupd loop. [`LookupLoop::stop`] ends it; dropping it also does.
#[derive(Debug)]
pub struct LookupLoop {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LookupLoop {
    /// Starts the loop: installs channel pre-creation on the daemon, connects to every
    /// configured lookupd and follows topology events and address changes.
    pub fn start(daemon: Arc<Daemon>, ports: BroadcastPorts) -> LookupLoop {
        let hostname = hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        let o = &daemon.opts;
        let me = SelfInfo {
            broadcast_address: o.broadcast_address.clone(),
            hostname,
            http_port: ports.http,
            tcp_port: ports.tcp,
            topology_region: o.topology_region.clone(),
            topology_zone: o.topology_zone.clone(),
            version: nsq_protocol::NSQ_VERSION.to_string(),
        };
        let directory = Arc::new(Directory::default());
        let ctx = Arc::new(PeerContext {
            identify_body: wire::identify_body(&me),
            max_body_size: o.max_body_size,
            directory: Arc::clone(&directory),
            daemon: Arc::clone(&daemon),
        });
        match http_tls_config() {
            Ok(tls) => {
                let http = crate::auth::HttpClient {
                    tls,
                    connect_timeout: o.http_client_connect_timeout,
                    request_timeout: o.http_client_request_timeout,
                };
                daemon.set_topic_created_hook(Some(precreate::hook(&daemon, directory, http)));
            }
            Err(e) => tracing::error!("channel pre-creation from nsqlookupd disabled - {e}"),
        }
        // Subscribe before any peer connects: every change after a peer's re-announce
        // snapshot then also reaches it as an event.
        let events = daemon.subscribe_events();
        let addrs = daemon.watch_nsqlookupd_tcp_addresses();
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(daemon, ctx, events, addrs, stop_rx));
        LookupLoop {
            stop: Some(stop_tx),
            task: Some(task),
        }
    }

    /// Stops the loop and drops every lookupd connection (no UNREGISTER is sent).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LookupLoop {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// TLS settings for the (unusual) https retry of a lookupd query: system roots and safe
/// default versions, like the reference's default client.
fn http_tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let config = rustls::ClientConfig::builder_with_provider(crate::tls_config::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(crate::tls_config::system_roots())
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A running peer task and the queue feeding it.
struct PeerHandle {
    addr: String,
    tx: mpsc::UnboundedSender<Request>,
    task: JoinHandle<()>,
}

async fn run(
    daemon: Arc<Daemon>,
    ctx: Arc<PeerContext>,
    mut events: mpsc::UnboundedReceiver<Event>,
    mut addrs: watch::Receiver<Vec<String>>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut peers: Vec<PeerHandle> = Vec::new();
    let initial = addrs.borrow_and_update().clone();
    reconcile(&mut peers, &initial, &ctx);
    let mut follow_addrs = true;
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            changed = addrs.changed(), if follow_addrs => {
                if changed.is_err() {
                    follow_addrs = false;
                    continue;
                }
                let list = addrs.borrow_and_update().clone();
                reconcile(&mut peers, &list, &ctx);
            }
            ev = events.recv() => {
                let Some(ev) = ev else { break };
                // Deletions caused by shutdown (ephemeral channels losing their clients)
                // are not announced: nsqd never unregisters when it exits.
                if daemon.is_exiting() {
                    continue;
                }
                let (branch, cmd) = command_for(&ev);
                for p in &peers {
                    let _ = p.tx.send(Request::Notify { branch, cmd: cmd.clone() });
                }
            }
        }
    }
    tracing::info!("LOOKUP: closing");
    daemon.set_topic_created_hook(None);
    for p in peers {
        p.task.abort();
    }
}

/// The command announcing an event, and the log label the reference uses for it.
pub fn command_for(ev: &Event) -> (&'static str, Command) {
    match ev {
        Event::TopicCreated(t) => ("topic", Command::register(t, None)),
        Event::TopicDeleted(t) => ("topic", Command::unregister(t, None)),
        Event::ChannelCreated { topic, channel } => {
            ("channel", Command::register(topic, Some(channel)))
        }
        Event::ChannelDeleted { topic, channel } => {
            ("channel", Command::unregister(topic, Some(channel)))
        }
    }
}

/// Makes `peers` match `wanted`: peers no longer listed are dropped (their connection
/// closes), listed addresses without a peer get one that connects at once. Existing peers
/// keep their order; new ones are appended in list order; duplicates are ignored.
fn reconcile(peers: &mut Vec<PeerHandle>, wanted: &[String], ctx: &Arc<PeerContext>) {
    peers.retain(|p| {
        let keep = wanted.contains(&p.addr);
        if !keep {
            tracing::info!("LOOKUP({}): removing peer", p.addr);
            ctx.directory.remove(&p.addr);
            p.task.abort();
        }
        keep
    });
    for addr in wanted {
        if peers.iter().any(|p| &p.addr == addr) {
            continue;
        }
        tracing::info!("LOOKUP({addr}): adding peer");
        ctx.directory.add(addr);
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(Request::Connect);
        let task = tokio::spawn(peer::run(Peer::new(addr, Arc::clone(ctx)), rx));
        peers.push(PeerHandle {
            addr: addr.clone(),
            tx,
            task,
        });
    }
}

#[cfg(test)]
mod tests;
