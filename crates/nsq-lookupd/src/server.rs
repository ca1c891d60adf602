//! One nsqlookupd instance: bind both listeners, serve TCP and HTTP, shut down together.
//!
//! Binding happens in [`Lookupd::bind`] so callers learn the real ports (needed for port 0
//! and for the IDENTIFY response) and get the reference's startup error before anything
//! runs. [`Lookupd::run`] serves until the shutdown future completes, then closes the
//! listeners, ends every TCP connection (dropping its registrations) and returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use nsq_http::{bind_tcp, ListenError, Listener};

use crate::options::{os_hostname, Options};
use crate::state::State;
use crate::tcp::shutdown_signalled;

/// Why an instance could not start. Displayed as the reference's
/// `listen (<addr>) failed - <Go listen error>`.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not be bound.
    #[error("listen ({addr}) failed - {source}")]
    Listen {
        /// The address as configured.
        addr: String,
        /// The Go-worded listen error.
        source: ListenError,
    },
    /// The OS host name could not be read (Go's `os.Hostname` failure is fatal too).
    #[error("unable to get hostname {0}")]
    Hostname(std::io::Error),
}

/// A bound, not yet running nsqlookupd.
pub struct Lookupd {
    state: Arc<State>,
    tcp: TcpListener,
    http: TcpListener,
    tcp_addr: SocketAddr,
    http_addr: SocketAddr,
}

impl Lookupd {
    /// Binds the TCP then the HTTP listener (the reference's order).
    pub async fn bind(opts: Options) -> Result<Lookupd, StartError> {
        let hostname = os_hostname().map_err(StartError::Hostname)?;
        let tcp = bind_tcp(&opts.tcp_address)
            .await
            .map_err(|source| StartError::Listen {
                addr: opts.tcp_address.clone(),
                source,
            })?;
        let http = bind_tcp(&opts.http_address)
            .await
            .map_err(|source| StartError::Listen {
                addr: opts.http_address.clone(),
                source,
            })?;
        let local = |l: &TcpListener, addr: &str| {
            l.local_addr().map_err(|e| StartError::Listen {
                addr: addr.to_string(),
                source: ListenError::Sys {
                    net: "tcp",
                    addr: addr.to_string(),
                    syscall: "getsockname",
                    source: e,
                },
            })
        };
        let tcp_addr = local(&tcp, &opts.tcp_address)?;
        let http_addr = local(&http, &opts.http_address)?;
        let state = State::new(opts, hostname, tcp_addr.port(), http_addr.port());
        Ok(Lookupd {
            state,
            tcp,
            http,
            tcp_addr,
            http_addr,
        })
    }

    /// The bound TCP address.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The shared state (database, options).
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops both servers; returns once every TCP
    /// connection has ended and been unregistered.
    pub async fn run<F: Future<Output = ()>>(self, shutdown: F) {
        let (tx, rx) = watch::channel(false);
        let tcp = tokio::spawn(crate::tcp::serve(self.tcp, self.state.clone(), rx.clone()));
        let app = Arc::new(crate::http::app(self.state.clone()));
        let mut http_rx = rx;
        let http = tokio::spawn(nsq_http::serve(
            Listener::Tcp(self.http),
            app,
            "HTTP",
            async move { shutdown_signalled(&mut http_rx).await },
        ));
        shutdown.await;
        let _ = tx.send(true);
        // A panic inside either server task is already reported by the runtime.
        let _ = tcp.await;
        let _ = http.await;
    }
}
