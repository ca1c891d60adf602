//! Producer discovery through nsqlookupd (go-nsq's `ConnectToNSQLookupd`, `lookupdLoop`,
//! `queryLookupd`).
//!
//! Each lookupd address becomes a `/lookup?topic=<t>` URL. The first one registered
//! triggers an immediate query and starts the poll loop: after a random jitter (up to
//! `lookupd_poll_jitter` of the interval) the loop queries every `lookupd_poll_interval`,
//! and immediately when a connection was lost. Each query asks one lookupd (round robin,
//! up to three tries) and connects to every producer not yet connected.

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION};
use hyper::Method;
use nsq_admin::client::{decode_json, join_host_port, Client, Url};
use serde::Deserialize;

use super::{connect_boxed, lock, ConsumerError, Inner};
use crate::gonsq::config::to_std;
use crate::gonsq::log::Level;
use crate::query::{query_escape, query_unescape};

/// The registered lookupd endpoints and which one is next.
#[derive(Debug, Default)]
pub(crate) struct LookupdState {
    pub(crate) addrs: Vec<String>,
    index: usize,
    client: Option<Client>,
}

/// go-nsq's `buildLookupAddr`: `http://` is assumed, a port is required, an empty path
/// becomes `/lookup`, and `topic` joins the (re-encoded, key-sorted) query.
pub(crate) fn build_lookup_addr(addr: &str, topic: &str) -> Result<String, String> {
    let url = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", &url));
    let rest = rest.split('#').next().unwrap_or_default();
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, q),
        None => (rest, ""),
    };
    let (host, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], &before_query[i..]),
        None => (before_query, ""),
    };
    let hostport = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let port = if hostport.starts_with('[') {
        hostport
            .rsplit_once("]:")
            .map(|(_, p)| p)
            .unwrap_or_default()
    } else {
        hostport
            .rsplit_once(':')
            .map(|(_, p)| p)
            .unwrap_or_default()
    };
    if port.is_empty() {
        return Err("missing port".to_string());
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "parse {}: invalid port {} after host",
            nsq_protocol::gostr::quote(url.as_bytes()),
            nsq_protocol::gostr::quote(format!(":{port}").as_bytes())
        ));
    }
    let path = if path.is_empty() || path == "/" {
        "/lookup"
    } else {
        path
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (query_unescape(k), query_unescape(v))
        })
        .collect();
    pairs.push(("topic".to_string(), topic.to_string()));
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect();
    Ok(format!("{scheme}://{host}{path}?{}", q.join("&")))
}

pub(crate) async fn connect_to_lookupd(
    inner: &Arc<Inner>,
    addr: &str,
) -> Result<(), ConsumerError> {
    if inner.is_stopping() {
        return Err(ConsumerError::Stopped);
    }
    if inner
        .running_handlers
        .load(std::sync::atomic::Ordering::SeqCst)
        == 0
    {
        return Err(ConsumerError::NoHandlers);
    }
    let endpoint = build_lookup_addr(addr, &inner.topic).map_err(ConsumerError::LookupdAddress)?;
    let first = {
        let mut st = lock(&inner.lookupd);
        if st.addrs.contains(&endpoint) {
            return Ok(());
        }
        st.addrs.push(endpoint);
        if st.client.is_none() {
            let tls = nsq_admin::client::tls::client_config(&Default::default())
                .map_err(|e| ConsumerError::LookupdAddress(e.to_string()))?;
            let t = to_std(inner.cfg.lookupd_poll_timeout);
            st.client = Some(Client::new(t, t, tls));
        }
        st.addrs.len() == 1
    };
    if first {
        query_lookupd(inner).await;
        let h = tokio::spawn(lookupd_loop(inner.clone()));
        lock(&inner.loops).push(h);
    }
    Ok(())
}

async fn lookupd_loop(inner: Arc<Inner>) {
    let interval = to_std(inner.cfg.lookupd_poll_interval).max(std::time::Duration::from_millis(1));
    let jitter = interval.mul_f64(inner.random_f64() * inner.cfg.lookupd_poll_jitter);
    tokio::select! {
        _ = tokio::time::sleep(jitter) => {}
        _ = inner.exiting() => {
            inner.log.log(Level::Info, format_args!("exiting lookupdLoop"));
            return;
        }
    }
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        tokio::select! {
            _ = ticker.tick() => query_lookupd(&inner).await,
            _ = inner.lookupd_recheck.notified() => query_lookupd(&inner).await,
            _ = inner.exiting() => break,
        }
    }
    inner
        .log
        .log(Level::Info, format_args!("exiting lookupdLoop"));
}

fn next_endpoint(inner: &Inner) -> Option<(String, Client)> {
    let mut st = lock(&inner.lookupd);
    if st.addrs.is_empty() {
        return None;
    }
    if st.index >= st.addrs.len() {
        st.index = 0;
    }
    let addr = st.addrs[st.index].clone();
    st.index = (st.index + 1) % st.addrs.len();
    st.client.clone().map(|c| (addr, c))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PeerInfo {
    broadcast_address: String,
    tcp_port: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LookupResp {
    producers: Option<Vec<PeerInfo>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WrappedResp {
    data: Option<LookupResp>,
}

/// go-nsq's `apiRequestNegotiateV1` for `/lookup`.
async fn lookup(inner: &Inner, client: &Client, endpoint: &str) -> Result<LookupResp, String> {
    let url = Url::parse(endpoint).map_err(|e| {
        format!(
            "Get {}: {e}",
            nsq_protocol::gostr::quote(endpoint.as_bytes())
        )
    })?;
    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    if !inner.cfg.auth_secret.is_empty() && inner.cfg.lookupd_authorization {
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", inner.cfg.auth_secret)) {
            headers.push((AUTHORIZATION, v));
        }
    }
    let resp = client
        .send(Method::GET, &url, &headers, Bytes::new())
        .await
        .map_err(|e| e.to_string())?;
    if resp.status != 200 {
        return Err(format!(
            "got response {} {}",
            resp.status_line(),
            nsq_protocol::gostr::quote(&resp.body)
        ));
    }
    let body: &[u8] = if resp.body.is_empty() {
        b"{}"
    } else {
        &resp.body
    };
    let v1 = resp
        .headers
        .get("X-NSQ-Content-Type")
        .and_then(|v| v.to_str().ok())
        == Some("nsq; version=1.0");
    if v1 {
        decode_json::<LookupResp>(body).map_err(|e| e.to_string())
    } else {
        decode_json::<WrappedResp>(body)
            .map(|w| w.data.unwrap_or_default())
            .map_err(|e| e.to_string())
    }
}

pub(crate) async fn query_lookupd(inner: &Arc<Inner>) {
    let mut retries = 0;
    let data = loop {
        let Some((endpoint, client)) = next_endpoint(inner) else {
            return;
        };
        inner
            .log
            .log(Level::Info, format_args!("querying nsqlookupd {endpoint}"));
        match lookup(inner, &client, &endpoint).await {
            Ok(d) => break d,
            Err(e) => {
                inner.log.log(
                    Level::Error,
                    format_args!("error querying nsqlookupd ({endpoint}) - {e}"),
                );
                retries += 1;
                if retries < 3 {
                    inner
                        .log
                        .log(Level::Info, format_args!("retrying with next nsqlookupd"));
                    continue;
                }
                return;
            }
        }
    };
    let addrs: Vec<String> = data
        .producers
        .unwrap_or_default()
        .iter()
        .map(|p| join_host_port(&p.broadcast_address, p.tcp_port))
        .collect();
    for addr in addrs {
        match connect_boxed(inner.clone(), addr.clone()).await {
            Ok(()) | Err(ConsumerError::AlreadyConnected) => {}
            Err(e) => inner.log.conn_log(
                Level::Error,
                &addr,
                format_args!("error connecting to nsqd - {e}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_addresses_like_go_nsq() {
        assert_eq!(
            build_lookup_addr("127.0.0.1:4161", "t3").expect("ok"),
            "http://127.0.0.1:4161/lookup?topic=t3"
        );
        assert_eq!(
            build_lookup_addr("http://h:1/", "a b").expect("ok"),
            "http://h:1/lookup?topic=a+b"
        );
        assert_eq!(
            build_lookup_addr("https://h:1/x?z=1&a=%2F", "t").expect("ok"),
            "https://h:1/x?a=%2F&topic=t&z=1"
        );
        assert_eq!(build_lookup_addr("h", "t").unwrap_err(), "missing port");
        assert_eq!(build_lookup_addr("h:", "t").unwrap_err(), "missing port");
        assert_eq!(
            build_lookup_addr("[::1]:4161", "t").expect("ok"),
            "http://[::1]:4161/lookup?topic=t"
        );
    }
}
