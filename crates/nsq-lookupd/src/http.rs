//! nsqlookupd's HTTP API: discovery for consumers (`/lookup`), listings for nsqadmin
//! (`/topics`, `/channels`, `/nodes`), administration (`/topic/*`, `/channel/*`) and
//! `/debug`.
//!
//! Every route but `/ping` answers in the V1 envelope. JSON field order, status codes and
//! error codes are the reference's (lookupd spec §1.4); empty lists are `[]`, never `null`.
//! Go's pprof routes are not provided (they would 404).

use std::collections::BTreeMap;
use std::sync::Arc;

use nsq_http::axum::http::Method;
use nsq_http::axum::response::Response;
use serde::Serialize;

use nsq_http::{plain_text, v1, ApiError, App, Query, RouteRequest, Router, V1};
use nsq_protocol::names::{is_valid_channel_name, is_valid_topic_name};

use crate::db::{keys, subkeys, Category, Moment, PeerInfo, Producer, Registration};
use crate::state::State;

type Req = RouteRequest<Arc<State>>;
type ApiResult = Result<V1, ApiError>;

/// Builds the HTTP application for `state`.
pub fn app(state: Arc<State>) -> App<Arc<State>> {
    Router::new()
        .route(Method::GET, "/ping", ping)
        .route(Method::GET, "/info", |r: Req| async move { v1(info(&r)) })
        .route(Method::GET, "/debug", |r: Req| async move { v1(debug(&r)) })
        .route(
            Method::GET,
            "/lookup",
            |r: Req| async move { v1(lookup(&r)) },
        )
        .route(
            Method::GET,
            "/topics",
            |r: Req| async move { v1(topics(&r)) },
        )
        .route(Method::GET, "/channels", |r: Req| async move {
            v1(channels(&r))
        })
        .route(Method::GET, "/nodes", |r: Req| async move { v1(nodes(&r)) })
        .route(Method::POST, "/topic/create", |r: Req| async move {
            v1(create_topic(&r))
        })
        .route(Method::POST, "/topic/delete", |r: Req| async move {
            v1(delete_topic(&r))
        })
        .route(Method::POST, "/channel/create", |r: Req| async move {
            v1(create_channel(&r))
        })
        .route(Method::POST, "/channel/delete", |r: Req| async move {
            v1(delete_channel(&r))
        })
        .route(Method::POST, "/topic/tombstone", |r: Req| async move {
            v1(tombstone(&r))
        })
        .with_state(state)
}

async fn ping(_: Req) -> Response {
    plain_text(Ok("OK".to_string()))
}

fn query(r: &Req) -> Result<Query, ApiError> {
    r.query()
        .map_err(|_| ApiError::bad_request("INVALID_REQUEST"))
}

fn required<'q>(q: &'q Query, key: &str, missing: &str) -> Result<&'q str, ApiError> {
    q.get(key).ok_or_else(|| ApiError::bad_request(missing))
}

/// The reference's `GetTopicChannelArgs`: topic missing, topic invalid, channel missing,
/// channel invalid, in that order.
fn topic_channel_args(q: &Query) -> Result<(&str, &str), ApiError> {
    let topic = required(q, "topic", "MISSING_ARG_TOPIC")?;
    if !is_valid_topic_name(topic) {
        return Err(ApiError::bad_request("INVALID_ARG_TOPIC"));
    }
    let channel = required(q, "channel", "MISSING_ARG_CHANNEL")?;
    if !is_valid_channel_name(channel) {
        return Err(ApiError::bad_request("INVALID_ARG_CHANNEL"));
    }
    Ok((topic, channel))
}

fn info(_: &Req) -> ApiResult {
    #[derive(Serialize)]
    struct Info {
        version: &'static str,
    }
    V1::json(&Info {
        version: nsq_protocol::NSQ_VERSION,
    })
}

/// PeerInfo as `/lookup` shows it.
#[derive(Serialize)]
struct PeerJson<'a> {
    remote_address: &'a str,
    hostname: &'a str,
    broadcast_address: &'a str,
    tcp_port: i64,
    http_port: i64,
    version: &'a str,
    topology_zone: &'a str,
    topology_region: &'a str,
}

impl<'a> From<&'a PeerInfo> for PeerJson<'a> {
    fn from(p: &'a PeerInfo) -> Self {
        PeerJson {
            remote_address: &p.remote_address,
            hostname: &p.hostname,
            broadcast_address: &p.broadcast_address,
            tcp_port: p.tcp_port,
            http_port: p.http_port,
            version: &p.version,
            topology_zone: &p.topology_zone,
            topology_region: &p.topology_region,
        }
    }
}

fn lookup(r: &Req) -> ApiResult {
    let q = query(r)?;
    let topic = required(&q, "topic", "MISSING_ARG_TOPIC")?;
    let db = &r.state.db;
    if db.find_registrations(Category::Topic, topic, "").is_empty() {
        return Err(ApiError::not_found("TOPIC_NOT_FOUND"));
    }
    let channels = subkeys(&db.find_registrations(Category::Channel, topic, "*"));
    let opts = &r.state.opts;
    let now = Moment::now();
    let producers: Vec<Producer> = db
        .find_producers(Category::Topic, topic, "")
        .into_iter()
        .filter(|p| p.is_active(opts.inactive_producer_timeout, opts.tombstone_lifetime, now))
        .collect();
    #[derive(Serialize)]
    struct Lookup<'a> {
        channels: Vec<String>,
        producers: Vec<PeerJson<'a>>,
    }
    V1::json(&Lookup {
        channels,
        producers: producers.iter().map(|p| PeerJson::from(&*p.peer)).collect(),
    })
}

fn topics(r: &Req) -> ApiResult {
    #[derive(Serialize)]
    struct Topics {
        topics: Vec<String>,
    }
    V1::json(&Topics {
        topics: keys(&r.state.db.find_registrations(Category::Topic, "*", "")),
    })
}

fn channels(r: &Req) -> ApiResult {
    let q = query(r)?;
    let topic = required(&q, "topic", "MISSING_ARG_TOPIC")?;
    #[derive(Serialize)]
    struct Channels {
        channels: Vec<String>,
    }
    V1::json(&Channels {
        channels: subkeys(&r.state.db.find_registrations(Category::Channel, topic, "*")),
    })
}

fn nodes(r: &Req) -> ApiResult {
    #[derive(Serialize)]
    struct Node<'a> {
        #[serde(flatten)]
        peer: PeerJson<'a>,
        tombstones: Vec<bool>,
        topics: Vec<String>,
    }
    #[derive(Serialize)]
    struct Nodes<'a> {
        producers: Vec<Node<'a>>,
    }
    let db = &r.state.db;
    let opts = &r.state.opts;
    let now = Moment::now();
    // Tombstones do not hide nodes: only the inactivity filter applies.
    let producers: Vec<Producer> = db
        .find_producers(Category::Client, "", "")
        .into_iter()
        .filter(|p| {
            p.is_active(
                opts.inactive_producer_timeout,
                std::time::Duration::ZERO,
                now,
            )
        })
        .collect();
    let mut topic_producers: BTreeMap<String, Vec<Producer>> = BTreeMap::new();
    let mut nodes = Vec::with_capacity(producers.len());
    for p in &producers {
        let topics: Vec<String> = db
            .lookup_registrations(&p.peer.id)
            .into_iter()
            .filter(|k| k.category == Category::Topic)
            .map(|k| k.key)
            .collect();
        let tombstones = topics
            .iter()
            .map(|t| {
                let tps = topic_producers
                    .entry(t.clone())
                    .or_insert_with(|| db.find_producers(Category::Topic, t, ""));
                tps.iter()
                    .find(|tp| Arc::ptr_eq(&tp.peer, &p.peer))
                    .is_some_and(|tp| tp.is_tombstoned(opts.tombstone_lifetime, now.instant))
            })
            .collect();
        nodes.push(Node {
            peer: PeerJson::from(&*p.peer),
            tombstones,
            topics,
        });
    }
    V1::json(&Nodes { producers: nodes })
}

fn create_topic(r: &Req) -> ApiResult {
    let q = query(r)?;
    let topic = required(&q, "topic", "MISSING_ARG_TOPIC")?;
    if !is_valid_topic_name(topic) {
        return Err(ApiError::bad_request("INVALID_ARG_TOPIC"));
    }
    tracing::info!("DB: adding topic({topic})");
    r.state.db.add_registration(&Registration::topic(topic));
    Ok(V1::Empty)
}

fn delete_topic(r: &Req) -> ApiResult {
    let q = query(r)?;
    let topic = required(&q, "topic", "MISSING_ARG_TOPIC")?;
    let db = &r.state.db;
    for key in db.find_registrations(Category::Channel, topic, "*") {
        tracing::info!("DB: removing channel({}) from topic({topic})", key.subkey);
        db.remove_registration(&key);
    }
    for key in db.find_registrations(Category::Topic, topic, "") {
        tracing::info!("DB: removing topic({topic})");
        db.remove_registration(&key);
    }
    Ok(V1::Empty)
}

fn tombstone(r: &Req) -> ApiResult {
    let q = query(r)?;
    let topic = required(&q, "topic", "MISSING_ARG_TOPIC")?;
    let node = required(&q, "node", "MISSING_ARG_NODE")?;
    tracing::info!("DB: setting tombstone for producer@{node} of topic({topic})");
    r.state.db.tombstone(topic, node, Moment::now());
    Ok(V1::Empty)
}

fn create_channel(r: &Req) -> ApiResult {
    let q = query(r)?;
    let (topic, channel) = topic_channel_args(&q)?;
    let db = &r.state.db;
    tracing::info!("DB: adding channel({channel}) in topic({topic})");
    db.add_registration(&Registration::channel(topic, channel));
    tracing::info!("DB: adding topic({topic})");
    db.add_registration(&Registration::topic(topic));
    Ok(V1::Empty)
}

fn delete_channel(r: &Req) -> ApiResult {
    let q = query(r)?;
    let (topic, channel) = topic_channel_args(&q)?;
    let db = &r.state.db;
    let regs = db.find_registrations(Category::Channel, topic, channel);
    if regs.is_empty() {
        return Err(ApiError::not_found("CHANNEL_NOT_FOUND"));
    }
    tracing::info!("DB: removing channel({channel}) from topic({topic})");
    for key in regs {
        db.remove_registration(&key);
    }
    Ok(V1::Empty)
}

fn debug(r: &Req) -> ApiResult {
    /// One producer record, keys sorted as Go writes a map.
    #[derive(Serialize)]
    struct DebugProducer<'a> {
        broadcast_address: &'a str,
        hostname: &'a str,
        http_port: i64,
        id: &'a str,
        last_update: i64,
        tcp_port: i64,
        tombstoned: bool,
        tombstoned_at: i64,
        topology_region: &'a str,
        topology_zone: &'a str,
        version: &'a str,
    }
    let dump = r.state.db.dump();
    let mut data: BTreeMap<String, Vec<DebugProducer>> = BTreeMap::new();
    for (key, producers) in &dump {
        let name = format!("{}:{}:{}", key.category.as_str(), key.key, key.subkey);
        let entries = data.entry(name).or_default();
        for p in producers {
            entries.push(DebugProducer {
                broadcast_address: &p.peer.broadcast_address,
                hostname: &p.peer.hostname,
                http_port: p.peer.http_port,
                id: &p.peer.id,
                last_update: p.peer.last_update(),
                tcp_port: p.peer.tcp_port,
                tombstoned: p.tombstoned_at.is_some(),
                tombstoned_at: p.tombstoned_at_unix_nanos(),
                topology_region: &p.peer.topology_region,
                topology_zone: &p.peer.topology_zone,
                version: &p.peer.version,
            });
        }
    }
    V1::json(&data)
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
