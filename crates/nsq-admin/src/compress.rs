//! Response compression, as the reference wraps its whole HTTP server.
//!
//! The first `Accept-Encoding` token that is exactly `gzip` or `deflate` (after trimming
//! spaces; tokens with parameters such as `gzip;q=1` do not count) selects the encoding;
//! the response then carries `Content-Encoding` and `Vary: Accept-Encoding`. `deflate` is
//! a raw DEFLATE stream, as Go's `compress/flate` writes it. All of nsqadmin's responses are
//! small and fully buffered, so compression happens in one pass.

use std::io::Write;

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::Compression;
use nsq_http::axum;

/// A content coding the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `gzip`.
    Gzip,
    /// `deflate` (raw DEFLATE).
    Deflate,
}

/// The encoding the reference would pick for an `Accept-Encoding` value.
pub fn negotiate(accept_encoding: Option<&str>) -> Option<Encoding> {
    accept_encoding?
        .split(',')
        .find_map(|tok| match tok.trim() {
            "gzip" => Some(Encoding::Gzip),
            "deflate" => Some(Encoding::Deflate),
            _ => None,
        })
}

fn encode(enc: Encoding, data: &[u8]) -> std::io::Result<Vec<u8>> {
    match enc {
        Encoding::Gzip => {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            e.write_all(data)?;
            e.finish()
        }
        Encoding::Deflate => {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            e.write_all(data)?;
            e.finish()
        }
    }
}

/// Compresses `resp` with `enc` (if any). A body that cannot be read or encoded is sent
/// uncompressed (the status is kept).
pub async fn compress(resp: Response, enc: Option<Encoding>) -> Response {
    let Some(enc) = enc else { return resp };
    let (mut parts, body) = resp.into_parts();
    let data = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(d) => d,
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    let encoded = match encode(enc, &data) {
        Ok(e) => e,
        Err(_) => return Response::from_parts(parts, Body::from(data)),
    };
    let name = match enc {
        Encoding::Gzip => "gzip",
        Encoding::Deflate => "deflate",
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Response::from_parts(parts, Body::from(encoded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn negotiation_matches_the_reference() {
        assert_eq!(negotiate(None), None);
        assert_eq!(negotiate(Some("gzip, deflate, br")), Some(Encoding::Gzip));
        assert_eq!(negotiate(Some("br, deflate")), Some(Encoding::Deflate));
        assert_eq!(negotiate(Some("gzip;q=1")), None);
        assert_eq!(negotiate(Some("identity")), None);
    }

    #[tokio::test]
    async fn gzip_round_trip() {
        let resp = Response::new(Body::from("hello hello hello"));
        let out = compress(resp, Some(Encoding::Gzip)).await;
        assert_eq!(out.headers()["content-encoding"], "gzip");
        assert_eq!(out.headers()["vary"], "Accept-Encoding");
        let b = axum::body::to_bytes(out.into_body(), 1 << 20)
            .await
            .unwrap();
        let mut s = String::new();
        flate2::read::GzDecoder::new(&b[..])
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "hello hello hello");
    }
}
