//! The UI routes: the index page (served for every client-side route, so deep links
//! work), `/ping`, and the static assets.
//!
//! The index defines the same JavaScript globals as the reference's template
//! (`VERSION`, `GRAPHITE_URL`, `GRAPH_ENABLED`, `STATSD_*`, `NSQLOOKUPD`, `IS_ADMIN`,
//! `BASE_PATH`, `USER_AGENT`), JSON-encoded with `<`, `>` and `&` escaped so no value can
//! break out of the script element.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use nsq_http::{axum, plain_text, ApiError};

use super::Req;
use crate::acl::is_admin;
use crate::assets::{content_type, embedded};
use crate::options::{join_base, Options};

fn js<T: serde::Serialize + ?Sized>(v: &T) -> String {
    nsq_http::gojson::to_string(v).unwrap_or_else(|_| "null".to_string())
}

/// The index page for `opts`, as seen by an admin or not.
pub fn render_index(opts: &Options, admin: bool) -> String {
    let template = String::from_utf8_lossy(embedded("index.html").unwrap_or_default());
    let graphite_url = if opts.proxy_graphite {
        ""
    } else {
        opts.graphite_url.as_str()
    };
    let version = nsq_cli::NSQ_VERSION;
    let globals = [
        format!("var USER_AGENT = {};", js(&format!("nsqadmin/v{version}"))),
        format!("var VERSION = {};", js(version)),
        format!("var GRAPHITE_URL = {};", js(graphite_url)),
        format!("var GRAPH_ENABLED = {};", !opts.graphite_url.is_empty()),
        format!(
            "var STATSD_COUNTER_FORMAT = {};",
            js(&opts.statsd_counter_format)
        ),
        format!(
            "var STATSD_GAUGE_FORMAT = {};",
            js(&opts.statsd_gauge_format)
        ),
        format!("var STATSD_INTERVAL = {};", opts.statsd_interval_secs()),
        format!("var STATSD_PREFIX = {};", js(&opts.statsd_prefix)),
        format!("var NSQLOOKUPD = {};", js(&opts.nsqlookupd_http_addresses)),
        format!("var NSQD = {};", js(&opts.nsqd_http_addresses)),
        format!("var IS_ADMIN = {admin};"),
        format!("var BASE_PATH = {};", js(&join_base(&opts.base_path, ""))),
    ]
    .join("\n    ");
    let static_base = join_base(&opts.base_path, "/static");
    template
        .replace("{{GLOBALS}}", &globals)
        .replace("{{STATIC}}", &html_attr(&static_base))
}

/// Escapes text for a double-quoted HTML attribute.
fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Every UI route: the same page; the browser-side router picks the view.
pub async fn index(req: Req) -> Response {
    let opts = req.state.opts();
    let admin = is_admin(&opts, req.headers());
    let mut r = Response::new(Body::from(render_index(&opts, admin)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// `GET /ping` → `OK`.
pub async fn ping(_req: Req) -> Response {
    plain_text(Ok("OK".to_string()))
}

fn not_found() -> Response {
    plain_text(Err(ApiError::not_found("NOT_FOUND")))
}

/// `GET /static/:asset` and `/fonts/:asset`: an embedded file (or, with
/// `--dev-static-dir`, a file from that directory). Unknown → 404 plain `NOT_FOUND`.
pub async fn asset(req: Req) -> Response {
    let name = req.param("asset").unwrap_or("").to_string();
    let opts = req.state.opts();
    let body: Vec<u8> = if opts.dev_static_dir.is_empty() {
        match embedded(&name) {
            Some(b) => b.to_vec(),
            None => return not_found(),
        }
    } else {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
            return not_found();
        }
        tracing::debug!(
            "using dev dir {:?} for static asset {name:?}",
            opts.dev_static_dir
        );
        match tokio::fs::read(std::path::Path::new(&opts.dev_static_dir).join(&name)).await {
            Ok(b) => b,
            Err(_) => return not_found(),
        }
    };
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::OK;
    if let Some(ct) = content_type(&name) {
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    r
}
