//! The plain-HTTP listener when `--tls-required=true` (spec §4.1 "TLS-required gate"): every
//! request, whatever its path or method, gets 403 with the reference's hand-written body
//! `{"message": "TLS_REQUIRED", "https_port": <real HTTPS port>}` (note the spaces), the V1
//! marker header and a JSON content type. `--tls-required=tcp-https` leaves plain HTTP open.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use nsq_http::axum::body::Body;
use nsq_http::axum::http::{header, HeaderValue, StatusCode};
use nsq_http::axum::response::Response;
use nsq_http::{Listener, JSON_CONTENT_TYPE, NSQ_CONTENT_TYPE, NSQ_CONTENT_TYPE_V1};
use tokio::task::JoinSet;

/// The gate's answer.
pub fn response(https_port: i64) -> Response {
    let body = format!(r#"{{"message": "TLS_REQUIRED", "https_port": {https_port}}}"#);
    let mut resp = Response::new(Body::from(Bytes::from(body)));
    *resp.status_mut() = StatusCode::FORBIDDEN;
    let h = resp.headers_mut();
    h.insert(
        NSQ_CONTENT_TYPE,
        HeaderValue::from_static(NSQ_CONTENT_TYPE_V1),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    resp
}

/// Accepts connections on `listener` and answers every request with [`response`] until
/// `shutdown` completes.
pub async fn serve<F>(listener: Listener, https_port: i64, shutdown: F)
where
    F: Future<Output = ()>,
{
    let addr = listener.local_addr_string();
    tracing::info!("HTTP: listening on {addr}");
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((conn, _remote)) => {
                    conns.spawn(async move {
                        let svc = hyper::service::service_fn(move |_req: hyper::Request<Incoming>| {
                            async move { Ok::<_, Infallible>(response(https_port)) }
                        });
                        let mut b = hyper::server::conn::http1::Builder::new();
                        b.title_case_headers(true);
                        let _ = b.serve_connection(TokioIo::new(conn), svc).await;
                    });
                }
                Err(e) => {
                    tracing::warn!("http: Accept error: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    conns.abort_all();
    tracing::info!("HTTP: closing {addr}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn body_and_headers() {
        let r = response(4152);
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.headers()
                .get(NSQ_CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some(NSQ_CONTENT_TYPE_V1)
        );
        let b = nsq_http::axum::body::to_bytes(r.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(
            &b[..],
            br#"{"message": "TLS_REQUIRED", "https_port": 4152}"#
        );
    }
}
