//! The TCP listener: accepts nsqd connections, checks the protocol magic and runs the V1
//! command loop on each, cleaning up a connection's registrations when it ends.
//!
//! Shutdown (the watch flag turning true) stops accepting, ends every connection's loop,
//! runs each connection's cleanup, and only then returns, like the reference's
//! `TCP: closing` after all handlers finished.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::protocol::{io_loop, send_response, unregister_all, Client, Exit};
use crate::state::State;

/// Resolves once `rx` reports `true` or its sender is gone.
pub async fn shutdown_signalled(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Accepts connections until shutdown, then waits for every connection to finish.
pub async fn serve(listener: TcpListener, state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!("TCP: listening on {addr}");
    let mut conns = JoinSet::new();
    let mut backoff = Duration::from_millis(5);
    loop {
        tokio::select! {
            _ = shutdown_signalled(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    backoff = Duration::from_millis(5);
                    conns.spawn(handle(stream, remote.to_string(), state.clone(), shutdown.clone()));
                }
                Err(e) => {
                    tracing::warn!("temporary Accept() failure - {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
    tracing::info!("TCP: closing {addr}");
}

async fn handle(
    mut stream: TcpStream,
    remote: String,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!("TCP: new client({remote})");
    // Borrowed halves: dropping them sends no FIN of their own; the socket simply closes
    // when `stream` drops, as a Go `conn.Close()` does.
    let (mut r, mut w) = stream.split();

    // The magic is read unbuffered, so bytes after it stay in the socket: closing after a
    // bad magic then resets the connection, as the reference's does.
    let mut magic = [0u8; 4];
    tokio::select! {
        res = r.read_exact(&mut magic) => {
            if let Err(e) = res {
                let e = if e.kind() == std::io::ErrorKind::UnexpectedEof { "EOF".to_string() } else { e.to_string() };
                tracing::error!("failed to read protocol version - {e}");
                return;
            }
        }
        _ = shutdown_signalled(&mut shutdown) => return,
    }
    let magic_text = String::from_utf8_lossy(&magic).into_owned();
    tracing::info!("CLIENT({remote}): desired protocol magic '{magic_text}'");
    if &magic != nsq_protocol::MAGIC_V1 {
        let _ = send_response(&mut w, b"E_BAD_PROTOCOL").await;
        tracing::error!("client({remote}) bad protocol magic '{magic_text}'");
        return;
    }

    let mut r = BufReader::new(r);
    let mut client = Client::new(remote.clone());
    let exit = tokio::select! {
        exit = io_loop(&state, &mut client, &mut r, &mut w) => exit,
        _ = shutdown_signalled(&mut shutdown) => Exit::Shutdown,
    };
    tracing::info!("PROTOCOL(V1): [{remote}] exiting ioloop");
    unregister_all(&state.db, &client);
    tracing::error!("client({remote}) - {exit}");
}
