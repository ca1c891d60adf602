//! The `/debug/*` routes (spec §4.2 "Debug endpoints").
//!
//! * `PUT /debug/setblockrate?rate=N`: Go's block-profile rate has no equivalent here; the
//!   route answers as the reference does: a non-integer rate → 400 plain text
//!   `invalid block rate : strconv.Atoi: parsing "x": invalid syntax`, and a valid one →
//!   500 `{"message":"INTERNAL_ERROR"}` (the reference's handler returns no value, which
//!   its plain-text wrapper turns into a panic).
//! * `POST /debug/freememory`: returns freed heap pages to the OS (glibc `malloc_trim`)
//!   and then answers 500 `INTERNAL_ERROR`, like the reference.
//! * `/debug/pprof/*` (same paths and methods as Go's `net/http/pprof`, so routing, 405s and
//!   redirects match): there are no Go profiles to serve, so every one answers
//!   **501 Not Implemented** with a one-line plain-text explanation and no access-log line.

use bytes::Bytes;
use nsq_http::axum::response::Response;
use nsq_http::{plain_text, raw, v1_error, ApiError};

use super::Req;

/// The pprof routes: 501, plain text.
pub async fn pprof(_req: Req) -> Response {
    raw(
        501,
        Bytes::from_static(b"pprof profiles are not available: this nsqd is not a Go program\n"),
    )
}

/// Go's `strconv.Atoi` error for `s`, or its value.
fn atoi(s: &str) -> Result<i64, String> {
    nsq_cli::strconv::parse_int(s, 10).map_err(|mut e| {
        e.func = "Atoi";
        e.to_string()
    })
}

/// `PUT /debug/setblockrate`.
pub async fn set_block_rate(req: Req) -> Response {
    // The reference reads `rate` with `FormValue`; a malformed query reads as no value.
    let q = req.query().unwrap_or_default();
    match atoi(q.get("rate").unwrap_or("")) {
        Err(e) => plain_text(Err(ApiError::bad_request(format!(
            "invalid block rate : {e}"
        )))),
        Ok(_) => panic_answer(),
    }
}

/// `POST /debug/freememory`.
pub async fn free_memory(_req: Req) -> Response {
    release_memory();
    panic_answer()
}

/// What the reference's panic handler answers (its plain-text wrapper panics on an empty
/// success value).
fn panic_answer() -> Response {
    tracing::error!("panic in HTTP handler - unknown response type <nil>");
    v1_error(&ApiError::internal("INTERNAL_ERROR"))
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_memory() {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_errors_like_go() {
        assert_eq!(atoi("12"), Ok(12));
        assert_eq!(
            atoi("x"),
            Err(r#"strconv.Atoi: parsing "x": invalid syntax"#.to_string())
        );
        assert_eq!(
            atoi(""),
            Err(r#"strconv.Atoi: parsing "": invalid syntax"#.to_string())
        );
        assert_eq!(
            atoi("99999999999999999999"),
            Err(r#"strconv.Atoi: parsing "99999999999999999999": value out of range"#.to_string())
        );
    }
}
