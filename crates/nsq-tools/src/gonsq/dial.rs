//! Opening an nsqd connection the way go-nsq's `Conn.Connect` does: dial (optionally from
//! `local_addr`) within `dial_timeout`, send the magic and IDENTIFY, and AUTH when the
//! server requires it.
//!
//! The utilities print connection failures verbatim (`log.Fatal(err)`), so failures carry
//! Go's texts: `dial tcp 127.0.0.1:4150: connect: connection refused`,
//! `failed to IDENTIFY - ...`, `Auth Required`.

use std::net::SocketAddr;
use std::time::Duration;

use nsq_client::{CommandWriter, Frame, FrameReader, IdentifyResponse};
use serde::Deserialize;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};

use super::config::{to_std, Config};
use super::log::{Level, LogContext};

/// A connection failure; `Display` is go-nsq's text for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// The TCP connection could not be made (`dial tcp ...`).
    #[error("{0}")]
    Dial(String),
    /// The handshake failed: `failed to IDENTIFY - <reason>`.
    #[error("failed to IDENTIFY - {0}")]
    Identify(String),
    /// The server requires AUTH and no `auth_secret` is configured.
    #[error("Auth Required")]
    AuthRequired,
    /// AUTH was refused or its answer unreadable.
    #[error("{0}")]
    Auth(String),
    /// The configuration asks for something this client cannot do (TLS, compression).
    #[error("{0} is not supported by this implementation")]
    Unsupported(String),
}

/// An identified (and, if required, authenticated) connection, split into halves.
#[derive(Debug)]
pub struct Dialed {
    /// Frames from the server.
    pub reader: FrameReader<OwnedReadHalf>,
    /// Commands to the server.
    pub writer: CommandWriter<OwnedWriteHalf>,
    /// What the server answered to IDENTIFY.
    pub identify: IdentifyResponse,
}

async fn tcp_connect(addr: &str, cfg: &Config) -> Result<TcpStream, DialError> {
    let timeout = to_std(cfg.dial_timeout);
    let fut = async {
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host(addr).await {
            Ok(a) => a.collect(),
            Err(e) => return Err(DialError::Dial(lookup_error(addr, &e))),
        };
        let mut last = DialError::Dial(format!("dial tcp {addr}: no suitable address found"));
        for sa in addrs {
            let socket = if sa.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            };
            let socket = socket.map_err(|e| DialError::Dial(format!("dial tcp {sa}: {e}")))?;
            if let Some(local) = cfg.local_addr {
                if let Err(e) = socket.bind(local) {
                    last = DialError::Dial(format!(
                        "dial tcp {local}->{sa}: bind: {}",
                        nsq_http::listen::go_errno_text(&e)
                    ));
                    continue;
                }
            }
            match socket.connect(sa).await {
                Ok(s) => return Ok(s),
                Err(e) => {
                    last = DialError::Dial(format!(
                        "dial tcp {sa}: connect: {}",
                        nsq_http::listen::go_errno_text(&e)
                    ))
                }
            }
        }
        Err(last)
    };
    if timeout.is_zero() {
        return fut.await;
    }
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(DialError::Dial(format!("dial tcp {addr}: i/o timeout"))),
    }
}

/// Go's text for a failed name lookup (or a malformed address).
fn lookup_error(addr: &str, e: &std::io::Error) -> String {
    match addr.rsplit_once(':') {
        None => format!("dial tcp: address {addr}: missing port in address"),
        Some((host, _)) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if e.kind() == std::io::ErrorKind::InvalidInput {
                format!("dial tcp: address {addr}: {e}")
            } else {
                format!("dial tcp: lookup {host}: no such host")
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AuthResponse {
    identity: String,
    identity_url: String,
    permission_count: i64,
}

/// Connects to `addr`, identifies with `cfg` and authenticates if the server asks.
/// Logs go-nsq's `Auth ...` lines through `log`.
pub async fn dial(addr: &str, cfg: &Config, log: &LogContext) -> Result<Dialed, DialError> {
    if let Some(f) = cfg.unsupported_features().first() {
        return Err(DialError::Unsupported((*f).to_string()));
    }
    let stream = tcp_connect(addr, cfg).await?;
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let io_timeout = to_std(cfg.read_timeout).max(Duration::from_millis(100));
    let conn = tokio::time::timeout(
        io_timeout,
        nsq_client::Connection::handshake(rd, wr, &cfg.client_config()),
    )
    .await
    .map_err(|_| DialError::Identify(format!("read tcp {addr}: i/o timeout")))?
    .map_err(|e| DialError::Identify(identify_reason(&e)))?;
    let identify = conn.identify_response().clone();
    let (mut reader, mut writer, _held) = conn.into_split();
    if identify.auth_required {
        if cfg.auth_secret.is_empty() {
            log.conn_log(Level::Error, addr, format_args!("Auth Required"));
            return Err(DialError::AuthRequired);
        }
        let r = tokio::time::timeout(io_timeout, async {
            writer.auth(cfg.auth_secret.as_bytes());
            writer.flush().await.map_err(|e| e.to_string())?;
            match reader.next_frame().await.map_err(|e| e.to_string())? {
                Frame::Error(data) => Err(format!(
                    "Error authenticating {}",
                    String::from_utf8_lossy(&data)
                )),
                Frame::Response(data) => {
                    serde_json::from_slice::<AuthResponse>(&data).map_err(|e| e.to_string())
                }
                Frame::Message(_) => Err("unexpected message before AUTH's answer".to_string()),
            }
        })
        .await
        .unwrap_or_else(|_| Err(format!("read tcp {addr}: i/o timeout")));
        match r {
            Ok(a) => log.conn_log(
                Level::Info,
                addr,
                format_args!(
                    "Auth accepted. Identity: {} {} Permissions: {}",
                    nsq_protocol::gostr::quote(a.identity.as_bytes()),
                    a.identity_url,
                    a.permission_count
                ),
            ),
            Err(e) => {
                log.conn_log(Level::Error, addr, format_args!("Auth Failed {e}"));
                return Err(DialError::Auth(e));
            }
        }
    }
    Ok(Dialed {
        reader,
        writer,
        identify,
    })
}

/// The reason part of `failed to IDENTIFY - <reason>`: an error frame's text verbatim, else
/// the failure.
fn identify_reason(e: &nsq_client::Error) -> String {
    match e {
        nsq_client::Error::Server { code, description } if description.is_empty() => code.clone(),
        nsq_client::Error::Server { code, description } => format!("{code} {description}"),
        nsq_client::Error::Closed => "EOF".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_connection_has_go_text() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr").to_string();
        drop(l);
        let err = dial(&addr, &Config::default(), &LogContext::producer(1))
            .await
            .expect_err("refused");
        assert_eq!(
            err.to_string(),
            format!("dial tcp {addr}: connect: connection refused")
        );
    }

    #[tokio::test]
    async fn unsupported_features_fail_early() {
        let mut cfg = Config::default();
        cfg.set_flag("snappy").expect("set");
        let err = dial("127.0.0.1:1", &cfg, &LogContext::producer(1))
            .await
            .expect_err("unsupported");
        assert_eq!(
            err.to_string(),
            "snappy is not supported by this implementation"
        );
    }

    #[test]
    fn missing_port() {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "x");
        assert_eq!(
            lookup_error("localhost", &e),
            "dial tcp: address localhost: missing port in address"
        );
    }
}
