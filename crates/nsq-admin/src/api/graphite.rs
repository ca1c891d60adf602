//! Graphite helpers: `GET /api/graphite` (a server-side rate lookup) and, with
//! `--proxy-graphite`, `GET /render` forwarded to graphite (so browsers need no direct
//! access to it).

use axum::body::Body;
use axum::http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use nsq_http::{axum, v1, ApiError, V1};
use serde::{Deserialize, Serialize};

use super::Req;
use crate::acl::base64_std_encode;
use crate::cluster::query_escape;

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    datapoints: Option<Vec<Vec<Option<f64>>>>,
}

#[derive(Serialize)]
struct Rate {
    rate: String,
}

/// `GET /api/graphite?metric=rate&target=<target>`: the per-second rate of the last full
/// statsd interval, as a string with two decimals (`N/A` for a negative value).
pub async fn rate(req: Req) -> Response {
    v1(rate_inner(req).await)
}

async fn rate_inner(req: Req) -> Result<V1, ApiError> {
    let q = req
        .query()
        .map_err(|_| ApiError::bad_request("INVALID_REQUEST"))?;
    if q.get("metric") != Some("rate") {
        return Err(ApiError::bad_request("INVALID_ARG_METRIC"));
    }
    let target = q
        .get("target")
        .ok_or_else(|| ApiError::bad_request("INVALID_ARG_TARGET"))?;
    let opts = req.state.opts();
    let interval = opts.statsd_interval_secs();
    // url.Values.Encode order: keys sorted.
    let url = format!(
        "{}/render?format=json&from=-{}sec&target={}&until=-{}sec",
        opts.graphite_url,
        interval * 2,
        query_escape(target),
        interval
    );
    tracing::info!("GRAPHITE: {url}");
    let series: Vec<Series> = req.state.ci().client().get_json(&url).await.map_err(|e| {
        tracing::error!("graphite request failed - {e}");
        ApiError::internal("INTERNAL_ERROR")
    })?;
    let value = series
        .first()
        .and_then(|s| s.datapoints.as_ref())
        .and_then(|d| d.first())
        .and_then(|p| p.first().copied().flatten())
        .ok_or_else(|| {
            tracing::error!("graphite request failed - no datapoint");
            ApiError::internal("INTERNAL_ERROR")
        })?;
    let rate = if value < 0.0 {
        "N/A".to_string()
    } else {
        format!("{:.2}", value / interval as f64)
    };
    V1::json(&Rate { rate })
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r
}

/// `GET /render…` forwarded unchanged (path and query) to the graphite host, with Basic
/// auth when the graphite URL carries user info. Upstream failures answer 502.
pub async fn render_proxy(req: Req) -> Response {
    let Some(base) = req.state.graphite().cloned() else {
        return plain(StatusCode::NOT_FOUND, "404 page not found");
    };
    let mut url = base.clone();
    url.target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/render".to_string());
    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    if let Some(ui) = &base.userinfo {
        if let Ok(v) = HeaderValue::from_str(&format!("Basic {}", base64_std_encode(ui.as_bytes())))
        {
            headers.push((AUTHORIZATION, v));
        }
    }
    match req
        .state
        .ci()
        .client()
        .send(Method::GET, &url, &headers, Bytes::new())
        .await
    {
        Ok(up) => {
            let mut r = Response::new(Body::from(up.body));
            *r.status_mut() = StatusCode::from_u16(up.status).unwrap_or(StatusCode::BAD_GATEWAY);
            for name in ["content-type", "cache-control", "expires", "last-modified"] {
                if let Some(v) = up.headers.get(name) {
                    r.headers_mut().insert(name, v.clone());
                }
            }
            r
        }
        Err(e) => {
            tracing::error!("http: proxy error: {e}");
            plain(StatusCode::BAD_GATEWAY, "")
        }
    }
}
