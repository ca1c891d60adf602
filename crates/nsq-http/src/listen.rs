//! Binding listeners the way Go NSQ does.
//!
//! NSQ's address flags are Go `host:port` strings: `:4161` and `0.0.0.0:4161` mean every
//! interface (Go then listens dual-stack and prints `[::]:4161`), a host name is resolved
//! (first IPv4 address preferred), and nsqd treats anything that is not a valid
//! `net.SplitHostPort` address as a unix socket path. Operators read the resulting log and
//! error lines, so [`ListenError`] renders Go's texts, e.g.
//! `listen tcp 127.0.0.1:4160: bind: address already in use`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UnixListener, UnixStream};

/// Why an address could not be split, in Go's words (`missing port in address`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address {addr}: {reason}")]
pub struct AddrError {
    /// The address as given.
    pub addr: String,
    /// Go's reason text.
    pub reason: &'static str,
}

/// Splits `host:port` with Go's `net.SplitHostPort` rules: IPv6 hosts must be bracketed,
/// the port may be empty, a bare host or an unbracketed IPv6 address is an error.
pub fn split_host_port(addr: &str) -> Result<(String, String), AddrError> {
    let err = |reason| AddrError {
        addr: addr.to_string(),
        reason,
    };
    let Some(colon) = addr.rfind(':') else {
        return Err(err("missing port in address"));
    };
    let (host, port) = if let Some(after_bracket) = addr.strip_prefix('[') {
        let Some(end) = addr.find(']') else {
            return Err(err("missing ']' in address"));
        };
        if end + 1 == addr.len() {
            return Err(err("missing port in address"));
        }
        if end + 1 != colon {
            return Err(if addr.as_bytes()[end + 1] == b':' {
                err("too many colons in address")
            } else {
                err("missing port in address")
            });
        }
        let host = &addr[1..end];
        if after_bracket.contains('[') {
            return Err(err("unexpected '[' in address"));
        }
        if addr[end + 1..].contains(']') {
            return Err(err("unexpected ']' in address"));
        }
        (host, &addr[colon + 1..])
    } else {
        let host = &addr[..colon];
        if host.contains(':') {
            return Err(err("too many colons in address"));
        }
        if addr.contains('[') {
            return Err(err("unexpected '[' in address"));
        }
        if addr.contains(']') {
            return Err(err("unexpected ']' in address"));
        }
        (host, &addr[colon + 1..])
    };
    Ok((host.to_string(), port.to_string()))
}

/// Where a listener should bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// A TCP `host:port` (host may be empty; port may be empty, meaning any).
    Tcp {
        /// Host part, brackets removed.
        host: String,
        /// Port part, unparsed.
        port: String,
    },
    /// A unix socket path.
    Unix(PathBuf),
}

impl ListenAddr {
    /// nsqd's rule: TCP iff `addr` splits as `host:port`, otherwise a unix socket path.
    pub fn parse(addr: &str) -> ListenAddr {
        match split_host_port(addr) {
            Ok((host, port)) => ListenAddr::Tcp { host, port },
            Err(_) => ListenAddr::Unix(PathBuf::from(addr)),
        }
    }
}

/// A bind failure, displayed exactly as Go's `net.Listen` error.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The address is not `host:port` (TCP-only binding).
    #[error("listen tcp: {0}")]
    Address(AddrError),
    /// The port is neither empty nor a number.
    #[error("listen tcp: lookup tcp/{0}: unknown port")]
    UnknownPort(String),
    /// The port is a number above 65535.
    #[error("listen tcp: address {0}: invalid port")]
    InvalidPort(String),
    /// The host name did not resolve.
    #[error("listen tcp: lookup {0}: no such host")]
    NoSuchHost(String),
    /// A socket call failed: `listen <net> <addr>: <syscall>: <errno text>`.
    #[error("listen {net} {addr}: {syscall}: {}", go_errno_text(.source))]
    Sys {
        /// `tcp` or `unix`.
        net: &'static str,
        /// The address as Go prints it.
        addr: String,
        /// `socket`, `setsockopt`, `bind` or `listen`.
        syscall: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

/// The text Go prints for an OS error: the C `strerror` text starting lower-case
/// (`address already in use`), or the error's own text when it carries no errno.
pub fn go_errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let s = io::Error::from_raw_os_error(code).to_string();
            let s = s
                .strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&s)
                .to_string();
            let mut chars = s.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => s,
            }
        }
        None => e.to_string(),
    }
}

/// A bound listener: TCP or unix socket.
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A unix socket listener and its path.
    Unix(UnixListener, PathBuf),
}

/// An accepted connection from a [`Listener`].
#[derive(Debug)]
pub enum Conn {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A unix socket connection.
    Unix(UnixStream),
}

impl Listener {
    /// The bound address as Go prints `listener.Addr()`: `[::]:4161`, `127.0.0.1:4161`, or
    /// the socket path.
    pub fn local_addr_string(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "?".to_string()),
            Listener::Unix(_, p) => p.display().to_string(),
        }
    }

    /// The real bound port of a TCP listener (useful after binding port 0); `None` for a
    /// unix socket.
    pub fn tcp_port(&self) -> Option<u16> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok().map(|a| a.port()),
            Listener::Unix(..) => None,
        }
    }

    /// Accepts one connection and the peer as Go prints `RemoteAddr` (`ip:port`, or `@`
    /// for a unix socket peer).
    pub async fn accept(&self) -> io::Result<(Conn, String)> {
        match self {
            Listener::Tcp(l) => {
                let (s, a) = l.accept().await?;
                Ok((Conn::Tcp(s), a.to_string()))
            }
            Listener::Unix(l, _) => {
                let (s, _) = l.accept().await?;
                Ok((Conn::Unix(s), "@".to_string()))
            }
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_flush(cx),
            Conn::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Binds `addr` as TCP when it splits as `host:port`, else as a unix socket (nsqd's rule).
pub async fn bind(addr: &str) -> Result<Listener, ListenError> {
    match ListenAddr::parse(addr) {
        ListenAddr::Tcp { .. } => Ok(Listener::Tcp(bind_tcp(addr).await?)),
        ListenAddr::Unix(path) => bind_unix(&path),
    }
}

/// Binds a unix socket at `path` (an existing file is an error, as in Go).
pub fn bind_unix(path: &Path) -> Result<Listener, ListenError> {
    UnixListener::bind(path)
        .map(|l| Listener::Unix(l, path.to_path_buf()))
        .map_err(|source| ListenError::Sys {
            net: "unix",
            addr: path.display().to_string(),
            syscall: "bind",
            source,
        })
}

fn parse_port(port: &str) -> Result<u16, ListenError> {
    if port.is_empty() {
        return Ok(0);
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ListenError::UnknownPort(port.to_string()));
    }
    port.parse::<u16>()
        .map_err(|_| ListenError::InvalidPort(port.to_string()))
}

/// Binds a TCP listener on a Go `host:port` address (nsqlookupd accepts nothing else).
///
/// Guarantees: an empty host, `0.0.0.0` or `::` listens on every interface, dual-stack when
/// the system has IPv6 (falling back to IPv4); a host name binds its first IPv4 address, or
/// its first address when it has no IPv4 one; `SO_REUSEADDR` is set as Go sets it.
pub async fn bind_tcp(addr: &str) -> Result<TcpListener, ListenError> {
    let (host, port) = split_host_port(addr).map_err(ListenError::Address)?;
    let port = parse_port(&port)?;
    let wildcard = host.is_empty() || host == "0.0.0.0" || host == "::";
    if wildcard {
        let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
        match listen_socket(v6, true) {
            Ok(l) => return Ok(l),
            Err(e) if host == "::" || !is_no_ipv6(&e) => {
                return Err(sys_err(&host, port, e));
            }
            Err(_) => {}
        }
        let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        return listen_socket(v4, false).map_err(|e| sys_err(&host, port, e));
    }
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|_| ListenError::NoSuchHost(host.clone()))?
                .collect();
            addrs
                .iter()
                .find(|a| a.is_ipv4())
                .or_else(|| addrs.first())
                .map(|a| a.ip())
                .ok_or_else(|| ListenError::NoSuchHost(host.clone()))?
        }
    };
    let sa = SocketAddr::new(ip, port);
    listen_socket(sa, false).map_err(|e| ListenError::Sys {
        net: "tcp",
        addr: sa.to_string(),
        syscall: e.0,
        source: e.1,
    })
}

type SysFailure = (&'static str, io::Error);

fn is_no_ipv6(e: &SysFailure) -> bool {
    matches!(
        e.1.raw_os_error(),
        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT)
    )
}

fn sys_err(host: &str, port: u16, e: SysFailure) -> ListenError {
    // Go prints the address it was asked for: ":4160" for an empty host.
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    ListenError::Sys {
        net: "tcp",
        addr,
        syscall: e.0,
        source: e.1,
    }
}

fn listen_socket(addr: SocketAddr, dual_stack: bool) -> Result<TcpListener, SysFailure> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| ("socket", e))?;
    socket.set_reuseaddr(true).map_err(|e| ("setsockopt", e))?;
    if addr.is_ipv6() {
        set_v6only(&socket, !dual_stack).map_err(|e| ("setsockopt", e))?;
    }
    socket.bind(addr).map_err(|e| ("bind", e))?;
    socket.listen(1024).map_err(|e| ("listen", e))
}

fn set_v6only(socket: &TcpSocket, only: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let val: libc::c_int = i32::from(only);
    // SAFETY: the fd is a live socket owned by `socket`; the option value is a c_int that
    // outlives the call, and its size is passed correctly.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            &val as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_go() {
        let ok = |a: &str, h: &str, p: &str| {
            assert_eq!(
                split_host_port(a),
                Ok((h.to_string(), p.to_string())),
                "{a}"
            )
        };
        ok("127.0.0.1:4161", "127.0.0.1", "4161");
        ok(":4161", "", "4161");
        ok("[::1]:4161", "::1", "4161");
        ok("[::]:", "::", "");
        ok("localhost:http", "localhost", "http");
        let bad = |a: &str, r: &str| assert_eq!(split_host_port(a).unwrap_err().reason, r, "{a}");
        bad("/tmp/nsqd.sock", "missing port in address");
        bad("::1:4161", "too many colons in address");
        bad("[::1]", "missing port in address");
        bad("[::1", "missing ']' in address");
        bad("[::1]x:1", "missing port in address");
        bad("a]:1", "unexpected ']' in address");
    }

    #[test]
    fn classify() {
        assert_eq!(
            ListenAddr::parse("0.0.0.0:4151"),
            ListenAddr::Tcp {
                host: "0.0.0.0".into(),
                port: "4151".into()
            }
        );
        assert_eq!(
            ListenAddr::parse("/tmp/x.sock"),
            ListenAddr::Unix("/tmp/x.sock".into())
        );
    }

    #[tokio::test]
    async fn binds_and_reports_go_errors() {
        let l = bind_tcp("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let err = bind_tcp(&format!("127.0.0.1:{port}")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("listen tcp 127.0.0.1:{port}: bind: address already in use")
        );
        assert_eq!(
            bind_tcp("/tmp/x").await.unwrap_err().to_string(),
            "listen tcp: address /tmp/x: missing port in address"
        );
        assert_eq!(
            bind_tcp("127.0.0.1:abc").await.unwrap_err().to_string(),
            "listen tcp: lookup tcp/abc: unknown port"
        );
        assert_eq!(
            bind_tcp("127.0.0.1:70000").await.unwrap_err().to_string(),
            "listen tcp: address 70000: invalid port"
        );
        let any = Listener::Tcp(bind_tcp(":0").await.unwrap());
        assert!(
            any.local_addr_string().starts_with("[::]:")
                || any.local_addr_string().starts_with("0.0.0.0:")
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let l = bind(path.to_str().unwrap()).await.unwrap();
        assert_eq!(l.tcp_port(), None);
        assert!(bind(path.to_str().unwrap()).await.is_err());
    }
}
