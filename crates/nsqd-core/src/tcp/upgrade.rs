//! Swapping a connection's reader and writer for upgraded ones after IDENTIFY (spec §2.4):
//! TLS on the raw socket, then snappy or deflate on top of whatever is there.
//!
//! The caller holds the writer lock for the whole sequence, so the pump cannot slip a frame
//! in between the IDENTIFY answer, the handshake and the upgrade's `OK`. Bytes the command
//! reader had already buffered past the IDENTIFY body belong to the new encoding and are
//! replayed into the new layer, never lost or misread as plaintext.

use std::sync::Arc;

use rustls::ServerConfig;

use super::compress::{DeflateReader, DeflateWriter, SnappyReader, SnappyWriter};
use super::reader::CommandReader;
use super::tls::{self, TlsInfo};
use super::transport::{self, ConnReader, ConnWriter, Prefixed, ReuniteError};

/// An upgrade failed; the text follows `E_IDENTIFY_FAILED IDENTIFY failed `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UpgradeError(pub String);

fn placeholder_reader() -> ConnReader {
    Box::new(tokio::io::empty())
}

fn placeholder_writer() -> ConnWriter {
    Box::new(tokio::io::sink())
}

/// Takes the current reader out of `reader`, with the bytes it had buffered replayed first.
fn take_reader(reader: &mut CommandReader) -> Prefixed<ConnReader> {
    let (old, buffered) = reader.swap_io(placeholder_reader());
    Prefixed::new(buffered, old)
}

/// Upgrades the raw connection to TLS. On success the reader and writer speak TLS; on a
/// failed handshake they are the raw socket again, so the error frame goes out in plaintext.
pub async fn tls(
    reader: &mut CommandReader,
    writer: &mut ConnWriter,
    config: Arc<ServerConfig>,
) -> Result<TlsInfo, UpgradeError> {
    let (old_reader, buffered) = reader.swap_io(placeholder_reader());
    let old_writer = std::mem::replace(writer, placeholder_writer());
    let raw = match transport::reunite(old_reader, old_writer) {
        Ok(t) => t,
        Err(ReuniteError::Layered(r, w)) => {
            reader.swap_io(Box::new(Prefixed::new(buffered, r)));
            *writer = w;
            return Err(UpgradeError("connection already upgraded".into()));
        }
        Err(ReuniteError::Lost) => {
            return Err(UpgradeError("connection lost during upgrade".into()));
        }
    };
    match tls::accept(config, raw, buffered, tls::HANDSHAKE_TIMEOUT).await {
        Ok((conn, info)) => {
            let (r, w) = tokio::io::split(conn);
            reader.swap_io(Box::new(tls::LenientEof(r)));
            *writer = Box::new(w);
            Ok(info)
        }
        Err(failed) => {
            let (r, w) = tokio::io::split(failed.io);
            reader.swap_io(Box::new(r));
            *writer = Box::new(w);
            Err(UpgradeError(failed.text))
        }
    }
}

/// Puts snappy framing on the reader and the writer.
pub fn snappy(reader: &mut CommandReader, writer: &mut ConnWriter) {
    let r = take_reader(reader);
    reader.swap_io(Box::new(SnappyReader::new(r)));
    let w = std::mem::replace(writer, placeholder_writer());
    *writer = Box::new(SnappyWriter::new(w));
}

/// Puts raw deflate at `level` (1..=9) on the reader and the writer.
pub fn deflate(reader: &mut CommandReader, writer: &mut ConnWriter, level: u32) {
    let r = take_reader(reader);
    reader.swap_io(Box::new(DeflateReader::new(r)));
    let w = std::mem::replace(writer, placeholder_writer());
    *writer = Box::new(DeflateWriter::new(w, level));
}
