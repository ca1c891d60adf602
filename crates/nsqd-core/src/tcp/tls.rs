//! The `tls_v1` upgrade of a TCP connection (spec §2.4 step 1): a server-side TLS handshake
//! on the raw socket, bounded by a 5 s deadline, and the connection details the reference
//! shows in /stats and sends to the auth server.
//!
//! On failure the raw socket is handed back (with the deadline lifted) so the caller can
//! still write the plaintext `E_IDENTIFY_FAILED` frame, as the reference does.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::peer_cert;
use super::transport::{Prefixed, Transport};

/// The reference's TLS handshake deadline.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The raw socket under a TLS session: bytes buffered before the upgrade are replayed
/// first, and while the handshake runs every read and write fails with a timeout once the
/// deadline has passed.
#[derive(Debug)]
pub struct HandshakeIo {
    inner: Prefixed<Transport>,
    deadline: Option<Pin<Box<Sleep>>>,
    timeout_text: String,
}

impl HandshakeIo {
    fn new(transport: Transport, prefetched: BytesMut, timeout: Duration) -> HandshakeIo {
        let timeout_text = match &transport {
            Transport::Tcp(s) => match (s.local_addr(), s.peer_addr()) {
                (Ok(l), Ok(p)) => format!("read tcp {l}->{p}: i/o timeout"),
                _ => "i/o timeout".to_string(),
            },
            Transport::Unix(_) => "i/o timeout".to_string(),
        };
        HandshakeIo {
            inner: Prefixed::new(prefetched, transport),
            deadline: Some(Box::pin(tokio::time::sleep_until(Instant::now() + timeout))),
            timeout_text,
        }
    }

    /// Lifts the handshake deadline.
    fn clear_deadline(&mut self) {
        self.deadline = None;
    }

    /// `Err` once the deadline has passed (registering the waker otherwise).
    fn check_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if let Some(d) = self.deadline.as_mut() {
            if d.as_mut().poll(cx).is_ready() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    self.timeout_text.clone(),
                ));
            }
        }
        Ok(())
    }

    /// The raw socket (and any replayed bytes not yet consumed), for writing a plaintext
    /// error after a failed handshake.
    pub fn into_inner(self) -> Prefixed<Transport> {
        self.inner
    }
}

use std::future::Future;

impl AsyncRead for HandshakeIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => this
                .check_deadline(cx)
                .map_or_else(|e| Poll::Ready(Err(e)), |_| Poll::Pending),
            ready => ready,
        }
    }
}

impl AsyncWrite for HandshakeIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => this
                .check_deadline(cx)
                .map_or_else(|e| Poll::Ready(Err(e)), |_| Poll::Pending),
            ready => ready,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this
                .check_deadline(cx)
                .map_or_else(|e| Poll::Ready(Err(e)), |_| Poll::Pending),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A connection after a successful TLS handshake.
pub type TlsConn = TlsStream<HandshakeIo>;

/// The read side of a TLS connection, treating a peer that hangs up without a TLS
/// `close_notify` as a plain end of stream, as Go's TLS stack does (so a client closing its
/// socket is not logged as an error).
#[derive(Debug)]
pub struct LenientEof<R>(pub R);

impl<R: AsyncRead + Unpin> AsyncRead for LenientEof<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.get_mut().0).poll_read(cx, buf) {
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

/// What /stats and the auth server learn about a TLS connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLS1.2`, `TLS1.3`, ... (Go's naming).
    pub version: String,
    /// The cipher suite name as the reference prints it (see [`cipher_suite_name`]).
    pub cipher_suite: String,
    /// Subject CN of the client's certificate; empty without one.
    pub common_name: String,
}

/// Why the handshake failed, with the raw socket for the error frame.
pub struct HandshakeFailed {
    /// Go-like text for `E_IDENTIFY_FAILED IDENTIFY failed <text>`.
    pub text: String,
    /// The raw connection (deadline lifted).
    pub io: Prefixed<Transport>,
}

/// Runs the server handshake on `transport`, replaying `prefetched` (bytes the command
/// reader had already taken off the socket) first. Bounded by `timeout`.
pub async fn accept(
    config: Arc<ServerConfig>,
    transport: Transport,
    prefetched: BytesMut,
    timeout: Duration,
) -> Result<(TlsConn, TlsInfo), HandshakeFailed> {
    let mut io = HandshakeIo::new(transport, prefetched, timeout);
    if let Err(text) = first_record_check(&mut io).await {
        io.clear_deadline();
        return Err(HandshakeFailed {
            text,
            io: io.into_inner(),
        });
    }
    match TlsAcceptor::from(config).accept(io).into_fallible().await {
        Ok(mut tls) => {
            tls.get_mut().0.clear_deadline();
            let info = info(&tls);
            Ok((tls, info))
        }
        Err((e, mut io)) => {
            io.clear_deadline();
            Err(HandshakeFailed {
                text: go_error_text(&e),
                io: io.into_inner(),
            })
        }
    }
}

/// Like Go's TLS server, refuses a first record that is not a handshake (or alert) record
/// with a plausible version *before* the TLS machinery runs, so a client that is not
/// speaking TLS gets the plaintext error frame and no TLS alert. The header is put back.
async fn first_record_check(io: &mut HandshakeIo) -> Result<(), String> {
    use tokio::io::AsyncReadExt;
    let mut header = [0u8; 5];
    let mut got = 0;
    while got < header.len() {
        match io.read(&mut header[got..]).await {
            Ok(0) if got == 0 => return Err("EOF".into()),
            Ok(0) => return Err("unexpected EOF".into()),
            Ok(n) => got += n,
            Err(e) => return Err(go_error_text(&e)),
        }
    }
    let (kind, version) = (header[0], u16::from_be_bytes([header[1], header[2]]));
    // 21 = alert, 22 = handshake
    if !(kind == 21 || kind == 22) || version >= 0x1000 {
        return Err("tls: first record does not look like a TLS handshake".into());
    }
    io.inner.unread(&header);
    Ok(())
}

fn info(tls: &TlsConn) -> TlsInfo {
    let (_, conn) = tls.get_ref();
    TlsInfo {
        version: conn
            .protocol_version()
            .map(|v| version_name(u16::from(v)))
            .unwrap_or_default(),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map(|s| cipher_suite_name(u16::from(s.suite())))
            .unwrap_or_default(),
        common_name: conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| peer_cert::common_name(c.as_ref()))
            .unwrap_or_default(),
    }
}

/// Go-like wording for the handshake errors clients most often cause.
fn go_error_text(e: &io::Error) -> String {
    use rustls::InvalidMessage;
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return "EOF".into();
    }
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match tls {
            rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType)
            | rustls::Error::InvalidMessage(InvalidMessage::UnknownProtocolVersion) => {
                "tls: first record does not look like a TLS handshake".into()
            }
            other => format!("tls: {other}"),
        };
    }
    e.to_string()
}

/// The TLS version as the reference names it in /stats.
pub fn version_name(v: u16) -> String {
    match v {
        0x0301 => "TLS1.0".into(),
        0x0302 => "TLS1.1".into(),
        0x0303 => "TLS1.2".into(),
        0x0304 => "TLS1.3".into(),
        n => format!("Unknown {n}"),
    }
}

/// The cipher suite as the reference names it in /stats: the name for the suites its table
/// lists, `Unknown <decimal id>` for every other (all TLS 1.3 suites included).
pub fn cipher_suite_name(id: u16) -> String {
    let name = match id {
        0x0005 => "TLS_RSA_WITH_RC4_128_SHA",
        0x000a => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0xc007 => "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        0xc009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xc00a => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xc011 => "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        0xc012 => "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        0xc013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xc014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        n => return format!("Unknown {n}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_names() {
        assert_eq!(version_name(0x0303), "TLS1.2");
        assert_eq!(version_name(0x0304), "TLS1.3");
        assert_eq!(version_name(0x0300), "Unknown 768");
        assert_eq!(
            cipher_suite_name(0xc02f),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(cipher_suite_name(0x1301), "Unknown 4865");
        // listed by Go's crypto/tls but not by nsqd's table
        assert_eq!(cipher_suite_name(0xc030), "Unknown 49200");
    }
}
