//! Starting and stopping a whole nsqd: lock the data path, bind the listeners, serve until
//! SIGINT/SIGTERM, then shut down gracefully.

use std::path::PathBuf;
use std::sync::Arc;

use crate::daemon::Daemon;
use crate::options::Options;
use crate::tcp::listener::Listener;

/// A fatal startup error; the binary prints `failed to instantiate nsqd - <this>`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// An exclusive lock on the data directory, held for the daemon's lifetime.
#[derive(Debug)]
pub struct DataPathLock {
    _file: std::fs::File,
}

/// Takes the reference's exclusive, non-blocking `flock` on the data directory.
pub fn lock_data_path(dir: &std::path::Path) -> Result<DataPathLock, StartError> {
    use std::os::fd::AsRawFd;
    let fail = |e: String| {
        StartError(format!(
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

/// The effective data directory (`--data-path`, or the working directory).
pub fn data_dir(opts: &Options) -> PathBuf {
    if opts.data_path.is_empty() {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
    } else {
        PathBuf::from(&opts.data_path)
    }
}

/// Runs nsqd until a signal arrives. Returns after a graceful shutdown.
pub async fn run(opts: Options, log: nsq_cli::LogHandle) -> Result<(), StartError> {
    let _log = log;
    let dir = data_dir(&opts);
    let _lock = lock_data_path(&dir)?;
    let tcp = Listener::bind(&opts.tcp_address)
        .await
        .map_err(|e| StartError(format!("listen ({}) failed - {e}", opts.tcp_address)))?;
    let daemon = Daemon::new(opts);
    let tcp_task = tokio::spawn(crate::tcp::serve(Arc::clone(&daemon), tcp));
    wait_for_signal().await;
    tracing::info!("signal received, exiting");
    daemon.begin_shutdown();
    let _ = tcp_task.await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; running until killed");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
