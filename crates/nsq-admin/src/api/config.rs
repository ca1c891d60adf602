//! `GET` and `PUT /config/:opt`: reading any option by its config key, and changing the
//! lookupd list or the log level at runtime.
//!
//! Only peers inside `--allow-config-from-cidr` may use it. Strings are answered raw,
//! everything else as JSON (durations in nanoseconds, the log level as 1..5), exactly as
//! the reference does.

use axum::http::Method;
use axum::response::Response;
use nsq_http::{axum, v1, ApiError, V1};

use super::Req;
use crate::acl::{check_config_peer, ConfigDenied};
use crate::options::OptValue;

/// PUT bodies are read up to this size; reaching it means "too large" (413).
const READ_MAX: usize = 1024 * 1024 + 1;

/// `GET|PUT /config/:opt`.
pub async fn handle(req: Req) -> Response {
    v1(handle_inner(req).await)
}

async fn handle_inner(mut req: Req) -> Result<V1, ApiError> {
    match check_config_peer(req.state.cidr(), &req.remote_addr) {
        Ok(()) => {}
        Err(ConfigDenied::InvalidRemoteAddr) => {
            tracing::error!("failed to parse RemoteAddr {}", req.remote_addr);
            return Err(ApiError::bad_request("INVALID_REMOTE_ADDR"));
        }
        Err(ConfigDenied::Forbidden) => return Err(ApiError::new(403, "FORBIDDEN")),
    }
    let opt = req.param("opt").unwrap_or("").to_string();
    if req.method() == Method::PUT {
        let body = match req.read_body(READ_MAX - 1).await {
            Ok(b) => b,
            Err(nsq_http::BodyError::TooLarge(_)) => {
                return Err(ApiError::new(413, "INVALID_VALUE"))
            }
            Err(nsq_http::BodyError::Read(_)) => return Err(ApiError::internal("INTERNAL_ERROR")),
        };
        if body.is_empty() {
            return Err(ApiError::new(413, "INVALID_VALUE"));
        }
        let mut opts = (*req.state.opts()).clone();
        match opt.as_str() {
            "nsqlookupd_http_addresses" => {
                let list: Vec<String> = crate::client::decode_json(&body)
                    .map_err(|_| ApiError::bad_request("INVALID_VALUE"))?;
                opts.nsqlookupd_http_addresses = list;
            }
            "log_level" => {
                let text = String::from_utf8_lossy(&body);
                opts.log_level = text
                    .parse()
                    .map_err(|_| ApiError::bad_request("INVALID_VALUE"))?;
            }
            _ => return Err(ApiError::bad_request("INVALID_OPTION")),
        }
        req.state.swap_opts(opts);
    }
    match req.state.opts().get_by_cfg_name(&opt) {
        Some(OptValue::Text(s)) => Ok(V1::Text(s)),
        Some(OptValue::Json(j)) => V1::json(&j),
        None => Err(ApiError::bad_request("INVALID_OPTION")),
    }
}
