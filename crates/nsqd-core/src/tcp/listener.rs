//! Listening sockets. Like the reference, an address that Go's `net.SplitHostPort` accepts
//! (`host:port`, `:port`, `[::1]:port`) is TCP; anything else is a unix socket path.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, UnixListener};

use super::transport::Transport;

/// A bound listener.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix socket at a path.
    Unix(UnixListener, String),
}

/// Splits `host:port` like Go's `net.SplitHostPort`; `None` if it is not of that form.
pub fn split_host_port(addr: &str) -> Option<(String, String)> {
    if let Some(rest) = addr.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = after.strip_prefix(':')?;
        if port.contains(':') || port.contains('[') || port.contains(']') {
            return None;
        }
        return Some((host.to_string(), port.to_string()));
    }
    let idx = addr.rfind(':')?;
    let (host, port) = (&addr[..idx], &addr[idx + 1..]);
    if host.contains(':') || host.contains('[') || host.contains(']') || port.contains(']') {
        return None;
    }
    Some((host.to_string(), port.to_string()))
}

impl Listener {
    /// Binds `addr` (TCP or unix socket path).
    pub async fn bind(addr: &str) -> io::Result<Listener> {
        match split_host_port(addr) {
            Some((host, port)) => {
                let port: u16 = port.parse().map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("unknown port {port}"))
                })?;
                let l = if host.is_empty() {
                    match TcpListener::bind(("::", port)).await {
                        Ok(l) => l,
                        Err(_) => TcpListener::bind(("0.0.0.0", port)).await?,
                    }
                } else {
                    TcpListener::bind((host.as_str(), port)).await?
                };
                Ok(Listener::Tcp(l))
            }
            None => {
                let l = UnixListener::bind(addr)?;
                Ok(Listener::Unix(l, addr.to_string()))
            }
        }
    }

    /// The bound TCP address (None for unix sockets).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            Listener::Unix(..) => None,
        }
    }

    /// The actual port, or -1 for a unix socket (as /info reports it).
    pub fn port(&self) -> i64 {
        self.local_addr().map(|a| i64::from(a.port())).unwrap_or(-1)
    }

    /// Text for log lines.
    pub fn local_display(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            Listener::Unix(_, p) => p.clone(),
        }
    }

    /// Accepts one connection: (stream, remote `ip:port`, remote ip).
    pub async fn accept(&self) -> io::Result<(Transport, String, String)> {
        match self {
            Listener::Tcp(l) => {
                let (s, a) = l.accept().await?;
                let _ = s.set_nodelay(true);
                let ip = a.ip().to_string();
                Ok((Transport::Tcp(s), a.to_string(), ip))
            }
            Listener::Unix(l, _) => {
                let (s, _) = l.accept().await?;
                Ok((Transport::Unix(s), "@".to_string(), String::new()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_split_host_port() {
        assert_eq!(
            split_host_port("127.0.0.1:80"),
            Some(("127.0.0.1".into(), "80".into()))
        );
        assert_eq!(
            split_host_port("test:80"),
            Some(("test".into(), "80".into()))
        );
        assert_eq!(split_host_port(":4150"), Some(("".into(), "4150".into())));
        assert_eq!(
            split_host_port("[::1%lo0]:80"),
            Some(("::1%lo0".into(), "80".into()))
        );
        assert_eq!(split_host_port("/var/run/nsqd.sock"), None);
        assert_eq!(split_host_port("4150"), None);
        assert_eq!(split_host_port("::1:80"), None);
    }
}
