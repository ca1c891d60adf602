//! The byte stream under a client connection: TCP or a unix socket, and the layers that
//! IDENTIFY can put on top of it (TLS, then snappy or deflate).
//!
//! The IO loop reads through a [`ConnReader`] and the pump writes through a [`ConnWriter`];
//! both are boxed trait objects so that TLS and compression layers can be swapped in
//! mid-connection after IDENTIFY without changing the command or pump code. A TLS upgrade
//! needs the raw socket back in one piece; [`reunite`] recovers it from the two boxed halves
//! as long as no layer has been put on them yet.

use std::any::Any;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::{TcpStream, UnixStream};

/// A raw accepted connection.
#[derive(Debug)]
pub enum Transport {
    /// A TCP socket.
    Tcp(TcpStream),
    /// A unix-domain socket.
    Unix(UnixStream),
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Transport::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_flush(cx),
            Transport::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A readable connection layer. Blanket-implemented for every suitable reader; the `Any`
/// accessors let an upgrade find out whether it is still looking at the raw socket half.
pub trait ConnRead: AsyncRead + Send + Unpin + 'static {
    /// The concrete layer, for inspection.
    fn as_any(&self) -> &dyn Any;
    /// The concrete layer, by value.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<T: AsyncRead + Send + Unpin + 'static> ConnRead for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// A writable connection layer; see [`ConnRead`].
pub trait ConnWrite: AsyncWrite + Send + Unpin + 'static {
    /// The concrete layer, for inspection.
    fn as_any(&self) -> &dyn Any;
    /// The concrete layer, by value.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<T: AsyncWrite + Send + Unpin + 'static> ConnWrite for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// The read side of a connection (possibly layered).
pub type ConnReader = Box<dyn ConnRead>;
/// The write side of a connection (possibly layered).
pub type ConnWriter = Box<dyn ConnWrite>;

/// Splits a raw connection into the boxed halves the IO loop and the pump use.
pub fn split(transport: Transport) -> (ConnReader, ConnWriter) {
    let (rd, wr) = tokio::io::split(transport);
    (Box::new(rd), Box::new(wr))
}

/// Why [`reunite`] could not give the raw connection back.
pub enum ReuniteError {
    /// A layer (TLS or compression) is already on the halves, or they belong to different
    /// connections; the halves are handed back unchanged.
    Layered(ConnReader, ConnWriter),
    /// The halves could not be recovered (a type check and the downcast disagreed; cannot
    /// happen, but the connection is then unusable and must be closed).
    Lost,
}

/// Puts the raw connection back together from the halves made by [`split`], so that a TLS
/// handshake can run on it.
pub fn reunite(reader: ConnReader, writer: ConnWriter) -> Result<Transport, ReuniteError> {
    // Deref explicitly: the boxes themselves also implement the traits (blanket impl), and
    // `reader.as_any()` would look at the box instead of the layer inside it.
    let raw = (*reader).as_any().is::<ReadHalf<Transport>>()
        && (*writer).as_any().is::<WriteHalf<Transport>>();
    if !raw {
        return Err(ReuniteError::Layered(reader, writer));
    }
    match (
        reader.into_any().downcast::<ReadHalf<Transport>>(),
        writer.into_any().downcast::<WriteHalf<Transport>>(),
    ) {
        (Ok(r), Ok(w)) if r.is_pair_of(&w) => Ok(r.unsplit(*w)),
        (Ok(r), Ok(w)) => Err(ReuniteError::Layered(r, w)),
        _ => Err(ReuniteError::Lost),
    }
}

/// A stream that first replays bytes already read from it (buffered by the command reader
/// before an upgrade), then continues with the stream itself. Writes pass straight through.
#[derive(Debug)]
pub struct Prefixed<T> {
    prefix: BytesMut,
    inner: T,
}

impl<T> Prefixed<T> {
    /// `prefix` is served before any byte of `inner`.
    pub fn new(prefix: BytesMut, inner: T) -> Prefixed<T> {
        Prefixed { prefix, inner }
    }

    /// Puts `bytes` back in front of whatever is still to be read.
    pub fn unread(&mut self, bytes: &[u8]) {
        let mut p = BytesMut::with_capacity(bytes.len() + self.prefix.len());
        p.extend_from_slice(bytes);
        p.extend_from_slice(&self.prefix);
        self.prefix = p;
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reunite_only_raw_halves() {
        let (a, mut b) = UnixStream::pair().expect("pair");
        let (r, w) = split(Transport::Unix(a));
        let mut t = match reunite(r, w) {
            Ok(t) => t,
            Err(_) => panic!("raw halves must reunite"),
        };
        t.write_all(b"x").await.expect("write");
        let mut got = [0u8; 1];
        b.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"x");
        let (r, w) = split(t);
        let layered: ConnReader = Box::new(Prefixed::new(BytesMut::new(), r));
        assert!(matches!(
            reunite(layered, w),
            Err(ReuniteError::Layered(..))
        ));
    }
}
