//! Starting and stopping a whole nsqd: lock the data path, bind the listeners, load
//! `nsqd.dat`, serve until SIGINT/SIGTERM, then shut down gracefully (§6.3 of the spec):
//! stop accepting, close client connections, persist metadata, flush every queue to disk.

use std::sync::Arc;
use std::time::Duration;

use crate::daemon::Daemon;
use crate::options::Options;
use crate::tcp::listener::Listener;

/// A fatal startup error; the binary prints it after `FATAL: ` and exits 1. Most are
/// `failed to instantiate nsqd - <reason>` as in the reference; metadata problems have
/// their own texts (see [`StartError::Plain`]).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A failure while building the daemon (listeners, TLS, data-path lock, options).
    #[error("failed to instantiate nsqd - {0}")]
    Instantiate(String),
    /// A failure after the daemon was built, printed as is (e.g. `failed to load metadata -
    /// ...`).
    #[error("{0}")]
    Plain(String),
}

/// An exclusive lock on the data directory, held for the daemon's lifetime.
#[derive(Debug)]
pub struct DataPathLock {
    _file: std::fs::File,
}

/// Takes the reference's exclusive, non-blocking `flock` on the data directory.
pub fn lock_data_path(dir: &std::path::Path) -> Result<DataPathLock, StartError> {
    use std::os::fd::AsRawFd;
    let fail = |e: String| {
        StartError::Instantiate(format!(
            "failed to lock data-path: cannot flock directory {} - {e} (possibly in use by another instance of nsqd)",
            dir.display()
        ))
    };
    let file = std::fs::File::open(dir).map_err(|e| fail(e.to_string()))?;
    // SAFETY: flock on a valid, owned file descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(fail(std::io::Error::last_os_error().to_string()));
    }
    Ok(DataPathLock { _file: file })
}

/// Runs nsqd until a signal arrives. Returns after a graceful shutdown.
pub async fn run(opts: Options, log: nsq_cli::LogHandle) -> Result<(), StartError> {
    let mut signals = Signals::install();
    let dir = opts.data_dir();
    let _lock = lock_data_path(&dir)?;
    let security = Arc::new(
        crate::security::Security::from_options(&opts)
            .map_err(|e| StartError::Instantiate(e.to_string()))?,
    );
    let tcp = Listener::bind(&opts.tcp_address).await.map_err(|e| {
        StartError::Instantiate(format!("listen ({}) failed - {e}", opts.tcp_address))
    })?;
    let http = crate::http::Listeners::bind(&opts, security.tls.clone())
        .await
        .map_err(StartError::Instantiate)?;
    let mut opts = opts;
    crate::http::apply_listener_ports(&mut opts, tcp.port(), http.http_port());
    let http_ports = (tcp.port(), http.http_port());
    let daemon = Daemon::new(opts);
    crate::metadata::load(&daemon)
        .map_err(|e| StartError::Plain(format!("failed to load metadata - {e}")))?;
    if let Err(e) = daemon.persist_metadata() {
        return Err(StartError::Plain(format!(
            "failed to persist metadata - {e}"
        )));
    }
    tokio::spawn(crate::metadata::persist_on_change(Arc::clone(&daemon)));
    tokio::spawn(sync_loop(Arc::clone(&daemon)));
    let tcp_port = tcp.port();
    let tcp_task = tokio::spawn(crate::tcp::serve_secure(
        Arc::clone(&daemon),
        tcp,
        Arc::clone(&security),
    ));
    let http_task = crate::http::spawn(&daemon, http, http_ports.0, log.clone());
    tokio::spawn(crate::statsd::run(Arc::clone(&daemon)));
    tokio::spawn(crate::e2e::track_channels(Arc::clone(&daemon)));
    let ports = crate::lookup::BroadcastPorts::resolve(&daemon.opts, tcp_port, http_ports.1);
    let lookup = crate::lookup::LookupLoop::start(Arc::clone(&daemon), ports);

    signals.recv().await;
    tracing::info!("signal received, exiting");
    daemon.begin_shutdown();
    lookup.stop().await;
    let _ = tcp_task.await;
    let _ = http_task.await;
    wait_for_clients(&daemon, Duration::from_secs(5)).await;
    if let Err(e) = daemon.persist_metadata() {
        tracing::error!("failed to persist metadata - {e}");
    }
    let d = Arc::clone(&daemon);
    let _ = tokio::task::spawn_blocking(move || d.close_topics()).await;
    Ok(())
}

/// Waits (bounded) until every client connection has finished, so no message is being
/// delivered or acknowledged while the queues are flushed.
async fn wait_for_clients(daemon: &Daemon, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while !daemon.clients().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// fsyncs disk queues that saw activity, every quarter of `--sync-timeout`.
async fn sync_loop(daemon: Arc<Daemon>) {
    let period = (daemon.opts.sync_timeout / 4).max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = daemon.shutdown.notified() => return,
        }
        if daemon.is_exiting() {
            return;
        }
        let d = Arc::clone(&daemon);
        let _ = tokio::task::spawn_blocking(move || d.sync_tick()).await;
    }
}

/// SIGTERM/SIGINT listeners, installed before anything else so that a signal arriving
/// during startup (the TCP port accepts connections as soon as it is bound) still leads to a
/// graceful shutdown instead of killing the process.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        if term.is_none() || int.is_none() {
            tracing::error!(
                "cannot install signal handlers; SIGTERM/SIGINT will not shut down gracefully"
            );
        }
        Signals { term, int }
    }

    async fn recv(&mut self) {
        async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = next(&mut self.term) => {}
            _ = next(&mut self.int) => {}
        }
    }
}
