//! The TCP (protocol V2) server: accepts connections, checks the magic, and runs each
//! connection's IO loop ([`conn`]) and message pump ([`pump`]).

pub mod authz;
pub mod compress;
pub mod conn;
pub mod identify;
pub mod listener;
pub mod peer_cert;
pub mod pump;
pub mod reader;
pub mod tls;
pub mod transport;
pub mod upgrade;

use std::sync::Arc;

use nsq_protocol::frame::write_frame;
use nsq_protocol::FrameType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex as AsyncMutex;

use crate::daemon::Daemon;
use crate::security::Security;
use listener::Listener;
use transport::Transport;

/// Accepts connections until shutdown, without TLS or auth.
pub async fn serve(daemon: Arc<Daemon>, listener: Listener) {
    serve_secure(daemon, listener, Arc::new(Security::disabled())).await
}

/// Accepts connections until shutdown; `security` enables the TLS upgrade and auth.
pub async fn serve_secure(daemon: Arc<Daemon>, listener: Listener, security: Arc<Security>) {
    tracing::info!("TCP: listening on {}", listener.local_display());
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = daemon.shutdown.notified() => break,
        };
        if daemon.is_exiting() {
            break;
        }
        match accepted {
            Ok((transport, remote_addr, remote_ip)) => {
                let d = Arc::clone(&daemon);
                let s = Arc::clone(&security);
                tokio::spawn(handle(d, transport, remote_addr, remote_ip, s));
            }
            Err(e) => {
                tracing::error!("TCP: accept error - {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    tracing::info!("TCP: closing {}", listener.local_display());
}

async fn handle(
    daemon: Arc<Daemon>,
    mut transport: Transport,
    remote_addr: String,
    remote_ip: String,
    security: Arc<Security>,
) {
    tracing::info!("TCP: new client({remote_addr})");
    let mut magic = [0u8; 4];
    if transport.read_exact(&mut magic).await.is_err() {
        return;
    }
    if &magic != nsq_protocol::MAGIC_V2 {
        tracing::error!(
            "client({remote_addr}) bad protocol magic '{}'",
            String::from_utf8_lossy(&magic)
        );
        let mut b = bytes::BytesMut::new();
        write_frame(&mut b, FrameType::Error, b"E_BAD_PROTOCOL");
        let _ = transport.write_all(&b).await;
        let _ = transport.shutdown().await;
        return;
    }
    tracing::info!("CLIENT({remote_addr}): desired protocol magic '  V2'");
    let client = daemon.add_client(remote_addr.clone(), remote_ip);
    let (reader, writer) = transport::split(transport);
    let writer = Arc::new(AsyncMutex::new(writer));
    let pump = tokio::spawn(pump::run(Arc::clone(&client), Arc::clone(&writer)));
    let conn = conn::Conn::new(
        Arc::clone(&daemon),
        Arc::clone(&client),
        reader::CommandReader::new(reader, &[]),
        Arc::clone(&writer),
        security,
    );
    conn.run().await;
    tracing::info!("PROTOCOL(V2): [{remote_addr}] exiting ioloop");
    client.request_close();
    let _ = pump.await;
    if let Some(ch) = client.channel.lock().take() {
        ch.remove_client(client.id);
    }
    daemon.remove_client(client.id);
    let _ = writer.lock().await.shutdown().await;
}
