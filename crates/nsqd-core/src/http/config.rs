//! `GET` and `PUT /config/:opt` (spec §4.2): read any option by its config-file name, change
//! `nsqlookupd_tcp_addresses` or `log_level` at runtime.
//!
//! Values come back as the reference's `json.Marshal` of its option field: numbers, bools
//! and lists as JSON (durations as integer nanoseconds, `log_level` as 1..5, `tls_required`
//! as 0/1/2, `tls_min_version` as the TLS protocol number), but strings raw (text/plain, not
//! quoted). The option names are the config keys of [`crate::flags::flag_set`]: the `cfg`
//! key when given, else the flag name with `-` → `_` (so `id`, not `node_id`); names without
//! a config key (`version`, `config`, `verbose`, `worker_id`) and unknown names answer 400
//! `INVALID_OPTION`.
//!
//! `PUT` first reads the body (at most `--max-msg-size` + 1 bytes; empty or too large → 413
//! `INVALID_VALUE`), then: `nsqlookupd_tcp_addresses` takes a JSON array of strings (or
//! `null`), `log_level` one of `debug|info|warn|error|fatal` in any case; a bad value → 400
//! `INVALID_VALUE`; any other option → 400 `INVALID_OPTION`. The answer is the new value,
//! as `GET` would give it.

use nsq_http::axum::http::Method;
use nsq_http::axum::response::Response;
use nsq_http::{v1, ApiError, V1};
use serde_json::{json, Value};

use super::body::{BodyStream, DRAIN_LIMIT};
use super::{ApiResult, HttpContext, Req};
use crate::options::TlsRequired;

/// `GET`/`PUT /config/:opt`.
pub async fn config(mut req: Req) -> Response {
    let mut body = BodyStream::new(std::mem::take(req.request.body_mut()));
    let result = handle(req, &mut body).await;
    body.drain(DRAIN_LIMIT).await;
    v1(result)
}

fn invalid_option() -> ApiError {
    ApiError::bad_request("INVALID_OPTION")
}

fn invalid_value(status: u16) -> ApiError {
    ApiError::new(status, "INVALID_VALUE")
}

async fn handle(req: Req, body: &mut BodyStream) -> ApiResult {
    let opt = req.param("opt").unwrap_or("").to_string();
    if req.method() == Method::PUT {
        let max = req.state.daemon.opts.max_msg_size;
        let body = body
            .up_to(usize::try_from(max).unwrap_or(0))
            .await
            .map_err(|_| ApiError::internal("INTERNAL_ERROR"))?
            .ok_or_else(|| invalid_value(413))?;
        if body.is_empty() {
            return Err(invalid_value(413));
        }
        let live = &req.state.live;
        match opt.as_str() {
            "nsqlookupd_tcp_addresses" => {
                let addrs = parse_string_list(&body).ok_or_else(|| invalid_value(400))?;
                live.set_lookupd_addresses(&req.state.daemon, addrs);
            }
            "log_level" => {
                let text = std::str::from_utf8(&body).map_err(|_| invalid_value(400))?;
                let level: nsq_cli::LogLevel = text.parse().map_err(|_| invalid_value(400))?;
                live.set_log_level(level);
            }
            _ => return Err(invalid_option()),
        }
    }
    value(&req.state, &opt).ok_or_else(invalid_option)?
}

/// Go's `json.Unmarshal` into a `[]string`: `null` clears the list, `null` elements become
/// empty strings, anything but an array of strings/nulls is refused.
fn parse_string_list(body: &[u8]) -> Option<Option<Vec<String>>> {
    let parsed: Option<Vec<Option<String>>> = serde_json::from_slice(body).ok()?;
    Some(parsed.map(|v| v.into_iter().map(Option::unwrap_or_default).collect()))
}

fn text(s: &str) -> ApiResult {
    Ok(V1::Text(s.to_string()))
}

fn ns(d: std::time::Duration) -> Value {
    json!(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The current value of option `name`, or `None` if there is no such option.
pub fn value(ctx: &HttpContext, name: &str) -> Option<ApiResult> {
    let o = &ctx.daemon.opts;
    let j = match name {
        "id" => json!(o.id),
        "log_level" => json!(ctx.live.log_level(o.log_level)),
        "log_prefix" => return Some(text(&o.log_prefix)),
        "tcp_address" => return Some(text(&o.tcp_address)),
        "http_address" => return Some(text(&o.http_address)),
        "https_address" => return Some(text(&o.https_address)),
        "broadcast_address" => return Some(text(&o.broadcast_address)),
        "broadcast_tcp_port" => json!(o.broadcast_tcp_port),
        "broadcast_http_port" => json!(o.broadcast_http_port),
        "nsqlookupd_tcp_addresses" => json!(ctx.live.lookupd_addresses(&ctx.daemon)),
        "auth_http_addresses" => json!(o.auth_http_addresses),
        "auth_http_request_method" => return Some(text(&o.auth_http_request_method)),
        "http_client_connect_timeout" => ns(o.http_client_connect_timeout),
        "http_client_request_timeout" => ns(o.http_client_request_timeout),
        "topology_region" => return Some(text(&o.topology_region)),
        "topology_zone" => return Some(text(&o.topology_zone)),
        "data_path" => return Some(text(&o.data_path)),
        "mem_queue_size" => json!(o.mem_queue_size),
        "max_bytes_per_file" => json!(o.max_bytes_per_file),
        "sync_every" => json!(o.sync_every),
        "sync_timeout" => ns(o.sync_timeout),
        "queue_scan_selection_count" => json!(o.queue_scan_selection_count),
        "queue_scan_worker_pool_max" => json!(o.queue_scan_worker_pool_max),
        "msg_timeout" => ns(o.msg_timeout),
        "max_msg_timeout" => ns(o.max_msg_timeout),
        "max_msg_size" => json!(o.max_msg_size),
        "max_body_size" => json!(o.max_body_size),
        "max_req_timeout" => ns(o.max_req_timeout),
        "max_heartbeat_interval" => ns(o.max_heartbeat_interval),
        "max_rdy_count" => json!(o.max_rdy_count),
        "max_output_buffer_size" => json!(o.max_output_buffer_size),
        "max_output_buffer_timeout" => ns(o.max_output_buffer_timeout),
        "min_output_buffer_timeout" => ns(o.min_output_buffer_timeout),
        "output_buffer_timeout" => ns(o.output_buffer_timeout),
        "max_channel_consumers" => json!(o.max_channel_consumers),
        "statsd_address" => return Some(text(&o.statsd_address)),
        "statsd_prefix" => return Some(text(&o.statsd_prefix)),
        "statsd_interval" => ns(o.statsd_interval),
        "statsd_mem_stats" => json!(o.statsd_mem_stats),
        "statsd_udp_packet_size" => json!(o.statsd_udp_packet_size),
        "statsd_exclude_ephemeral" => json!(o.statsd_exclude_ephemeral),
        "e2e_processing_latency_window_time" => ns(o.e2e_processing_latency_window_time),
        "e2e_processing_latency_percentiles" => json!(o.e2e_processing_latency_percentiles),
        "tls_cert" => return Some(text(&o.tls_cert)),
        "tls_key" => return Some(text(&o.tls_key)),
        "tls_client_auth_policy" => return Some(text(&o.tls_client_auth_policy)),
        "tls_root_ca_file" => return Some(text(&o.tls_root_ca_file)),
        "tls_required" => json!(match o.tls_required {
            TlsRequired::No => 0,
            TlsRequired::TcpHttps => 1,
            TlsRequired::Yes => 2,
        }),
        "tls_min_version" => json!(o.tls_min_version),
        "deflate" => json!(o.deflate),
        "max_deflate_level" => json!(o.max_deflate_level),
        "snappy" => json!(o.snappy),
        "enable_experiment" => json!(o.enable_experiment),
        _ => return None,
    };
    Some(V1::json(&j))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ctx() -> HttpContext {
        let opts = crate::Options::default();
        HttpContext {
            live: Arc::new(super::super::live::LiveConfig::new(None)),
            daemon: crate::Daemon::new(opts),
            tcp_port: 1,
            http_port: 2,
            started: std::time::Instant::now(),
        }
    }

    fn body(r: ApiResult) -> String {
        match r {
            Ok(V1::Text(s)) => s,
            Ok(V1::Json(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(V1::Empty) => String::new(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_config_key_has_a_value() {
        let c = ctx();
        for spec in crate::flags::flag_set().specs() {
            if let Some(key) = spec.config_key() {
                assert!(value(&c, &key).is_some(), "no /config value for {key}");
            }
        }
        assert!(value(&c, "node_id").is_none());
        assert!(value(&c, "version").is_none());
    }

    #[test]
    fn renderings() {
        let c = ctx();
        let get = |k: &str| body(value(&c, k).expect("known"));
        assert_eq!(get("msg_timeout"), "60000000000");
        assert_eq!(get("log_level"), "2");
        assert_eq!(get("log_prefix"), "[nsqd] ");
        assert_eq!(get("tls_min_version"), "769");
        assert_eq!(get("tls_required"), "0");
        assert_eq!(get("nsqlookupd_tcp_addresses"), "[]");
        assert_eq!(get("e2e_processing_latency_percentiles"), "[]");
        assert_eq!(get("deflate"), "true");
        assert_eq!(get("data_path"), "");
        c.live.set_lookupd_addresses(&c.daemon, None);
        assert_eq!(get("nsqlookupd_tcp_addresses"), "null");
    }

    #[test]
    fn string_lists() {
        assert_eq!(
            parse_string_list(br#"["a:1", null]"#),
            Some(Some(vec!["a:1".to_string(), String::new()]))
        );
        assert_eq!(parse_string_list(b"null"), Some(None));
        assert_eq!(parse_string_list(b"[1]"), None);
        assert_eq!(parse_string_list(b"\"a\""), None);
    }
}
