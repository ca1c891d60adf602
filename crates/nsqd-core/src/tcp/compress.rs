//! Compression layers a client can negotiate with IDENTIFY (`snappy` or `deflate`, never
//! both), put on the connection's reader and writer after TLS.
//!
//! Every layer is a plain `AsyncRead`/`AsyncWrite` adaptor: writers buffer what they are
//! given and put it on the wire, completely encoded, when flushed (the IO loop and the pump
//! flush after every write), and readers decode at most one bounded unit at a time, so the
//! command reader's 16 KiB line limit still applies to the decompressed bytes.

mod crc32c;
pub mod deflate;
pub mod snappy;

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::AsyncWrite;

pub use deflate::{DeflateReader, DeflateWriter};
pub use snappy::{SnappyReader, SnappyWriter};

/// Writes `out[*pos..]` to `inner` until all of it is written, then empties `out`.
fn drain<W: AsyncWrite + Unpin>(
    inner: &mut W,
    out: &mut Vec<u8>,
    pos: &mut usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    while *pos < out.len() {
        let n = ready!(Pin::new(&mut *inner).poll_write(cx, &out[*pos..]))?;
        if n == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        *pos += n;
    }
    out.clear();
    *pos = 0;
    Poll::Ready(Ok(()))
}
