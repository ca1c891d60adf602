//! The HTTPS listener (`--https-address`, only when a TLS certificate and key are
//! configured; spec §4.1): the same API as plain HTTP, served over TLS with the server TLS
//! configuration of the TCP protocol (so the same client-certificate policy applies).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use nsq_http::App;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::State;

/// How long a peer may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `app` over TLS on `listener` until `shutdown` completes. A failed handshake only
/// ends that connection.
pub async fn serve<F>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Arc<App<State>>,
    shutdown: F,
) where
    F: Future<Output = ()>,
{
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!("HTTPS: listening on {addr}");
    let acceptor = TlsAcceptor::from(tls);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let acceptor = acceptor.clone();
                    let app = Arc::clone(&app);
                    conns.spawn(async move {
                        let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                        match tls {
                            Ok(Ok(s)) => nsq_http::serve_connection(app, s, peer.to_string()).await,
                            Ok(Err(e)) => tracing::debug!("HTTPS: TLS handshake with {peer} failed - {e}"),
                            Err(_) => tracing::debug!("HTTPS: TLS handshake with {peer} timed out"),
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("https: Accept error: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    conns.abort_all();
    tracing::info!("HTTPS: closing {addr}");
}
