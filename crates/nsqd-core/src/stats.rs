//! The statistics model behind `/stats` (JSON and text), statsd and `/metrics`: a snapshot of
//! every topic, channel and client, shaped and ordered exactly as the reference's
//! `GetStats` (spec §4.2 `GET /stats`, §3.17).
//!
//! The serde field order of each struct is the reference's JSON key order, and the
//! `Option`s and `skip_serializing_if`s reproduce its null-versus-empty quirks:
//!
//! * a `topic` filter naming no topic gives `topics: null` **and** `producers: null`;
//! * a `channel` filter drops topics lacking that channel (`topics` may become `[]`);
//! * without clients, every channel's `clients` and the `producers` are `null`, and so
//!   are the `producers` when nobody published;
//! * a channel's `channels` list is never null;
//! * zone/region/global message counts, `authed`, `auth_identity(_url)` and `pub_counts`
//!   are omitted when zero/empty;
//! * `pub_counts` holds at most one (arbitrary) entry: the reference stops after the first.
//!
//! Memory figures are the Go runtime's in the reference; see [`MemStats`] for what we report.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::Serialize;

use crate::channel::Channel;
use crate::client::Client;
use crate::daemon::Daemon;
use crate::e2e::{E2eLatency, E2eSnapshot};
use crate::topic::Topic;

/// Which part of the daemon to describe.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsFilter<'a> {
    /// Only this topic (`""` = all).
    pub topic: &'a str,
    /// Only this channel of each selected topic (`""` = all).
    pub channel: &'a str,
    /// Include per-client details and producers.
    pub include_clients: bool,
}

/// Topics and producers selected by a [`StatsFilter`].
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Sorted by name; `None` when the topic filter matched nothing.
    pub topics: Option<Vec<TopicStats>>,
    /// TCP connections that published at least one message; `None` when there are none,
    /// the topic filter matched nothing or clients were not requested.
    pub producers: Option<Vec<ClientStats>>,
}

/// One topic (JSON keys in the reference's order).
#[derive(Debug, Clone, Serialize)]
pub struct TopicStats {
    /// Topic name.
    pub topic_name: String,
    /// Selected channels, sorted by name; never null.
    pub channels: Vec<ChannelStats>,
    /// Memory + backend depth.
    pub depth: i64,
    /// Backend (disk) depth.
    pub backend_depth: i64,
    /// Messages published.
    pub message_count: u64,
    /// Bytes published.
    pub message_bytes: u64,
    /// Paused flag.
    pub paused: bool,
    /// Latency merged over all the topic's channels.
    pub e2e_processing_latency: E2eStats,
}

/// One channel (JSON keys in the reference's order).
#[derive(Debug, Clone, Serialize)]
pub struct ChannelStats {
    /// Channel name.
    pub channel_name: String,
    /// Memory + backend depth (in-flight and deferred excluded).
    pub depth: i64,
    /// Backend (disk) depth.
    pub backend_depth: i64,
    /// Messages in flight.
    pub in_flight_count: i64,
    /// Messages deferred.
    pub deferred_count: i64,
    /// Messages put into the channel.
    pub message_count: u64,
    /// Topology experiment counter (never incremented here; omitted when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub zone_local_msg_count: u64,
    /// Topology experiment counter (never incremented here; omitted when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub region_local_msg_count: u64,
    /// Deliveries taken from the memory queue (omitted when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub global_msg_count: u64,
    /// Successful REQs.
    pub requeue_count: u64,
    /// In-flight timeouts.
    pub timeout_count: u64,
    /// Attached clients (correct even when `clients` is null).
    pub client_count: usize,
    /// Attached clients, or null when clients were not requested.
    pub clients: Option<Vec<ClientStats>>,
    /// Paused flag.
    pub paused: bool,
    /// This channel's latency.
    pub e2e_processing_latency: E2eStats,
}

/// One `{"topic","count"}` entry of a producer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PubCount {
    /// Topic published to.
    pub topic: String,
    /// Messages published to it over this connection.
    pub count: u64,
}

/// One client connection (JSON keys in the reference's order).
#[derive(Debug, Clone, Serialize)]
pub struct ClientStats {
    /// IDENTIFY `client_id` (remote IP by default).
    pub client_id: String,
    /// IDENTIFY `hostname` (remote IP by default).
    pub hostname: String,
    /// Always `V2`.
    pub version: &'static str,
    /// `ip:port` of the peer (`@` for a unix socket).
    pub remote_address: String,
    /// 0 init, 3 subscribed, 4 closing.
    pub state: i32,
    /// Last RDY.
    pub ready_count: i64,
    /// Messages in flight to this client.
    pub in_flight_count: i64,
    /// Deliveries to this client.
    pub message_count: u64,
    /// Never incremented by the reference; always omitted.
    #[serde(skip_serializing_if = "is_zero")]
    pub zone_local_msg_count: u64,
    /// Never incremented by the reference; always omitted.
    #[serde(skip_serializing_if = "is_zero")]
    pub region_local_msg_count: u64,
    /// Never incremented by the reference; always omitted.
    #[serde(skip_serializing_if = "is_zero")]
    pub global_msg_count: u64,
    /// FINs.
    pub finish_count: u64,
    /// REQs.
    pub requeue_count: u64,
    /// Connect time, Unix seconds.
    pub connect_ts: i64,
    /// Sample rate (0 = all).
    pub sample_rate: i32,
    /// Deflate negotiated.
    pub deflate: bool,
    /// Snappy negotiated.
    pub snappy: bool,
    /// IDENTIFY `user_agent`.
    pub user_agent: String,
    /// Holds at least one authorization (omitted when false).
    #[serde(skip_serializing_if = "is_false")]
    pub authed: bool,
    /// Identity from the auth server (omitted when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_identity: String,
    /// Identity URL from the auth server (omitted when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_identity_url: String,
    /// IDENTIFY `topology_zone`.
    pub topology_zone: String,
    /// IDENTIFY `topology_region`.
    pub topology_region: String,
    /// At most one entry (reference quirk); omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pub_counts: Vec<PubCount>,
    /// Connection upgraded to TLS.
    pub tls: bool,
    /// TLS cipher suite name (empty without TLS).
    pub tls_cipher_suite: String,
    /// TLS version name (empty without TLS).
    pub tls_version: String,
    /// ALPN protocol (we negotiate none).
    pub tls_negotiated_protocol: String,
    /// Go reports `true` for every TLS connection (the field is deprecated there).
    pub tls_negotiated_protocol_is_mutual: bool,
}

/// Latency figures as JSON: `{"count":N,"percentiles":[{"quantile":q,"value":ns},...]}`, or
/// `{"count":0,"percentiles":null}` when there is no latency stream.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct E2eStats {
    /// Samples in the window.
    pub count: u64,
    /// One entry per configured quantile, or null without a stream.
    pub percentiles: Option<Vec<Percentile>>,
}

/// One quantile of [`E2eStats`] (keys sorted as Go sorts map keys).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Percentile {
    /// The quantile, e.g. `0.99`.
    pub quantile: f64,
    /// Latency in nanoseconds.
    pub value: f64,
}

impl From<E2eSnapshot> for E2eStats {
    fn from(s: E2eSnapshot) -> Self {
        E2eStats {
            count: s.count,
            percentiles: Some(
                s.percentiles
                    .into_iter()
                    .map(|(quantile, value)| Percentile { quantile, value })
                    .collect(),
            ),
        }
    }
}

/// Process memory figures under the reference's Go-runtime names.
///
/// We are not a Go program, so: `heap_in_use_bytes` is the resident set size (from
/// `/proc/self/statm`), `heap_objects`, `heap_idle_bytes`, `heap_released_bytes`,
/// `next_gc_bytes` and the GC figures are 0 (there is no collector). Clients only display
/// these values.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
pub struct MemStats {
    /// 0 (no Go heap).
    pub heap_objects: u64,
    /// 0.
    pub heap_idle_bytes: u64,
    /// Resident set size in bytes.
    pub heap_in_use_bytes: u64,
    /// 0.
    pub heap_released_bytes: u64,
    /// 0 (no GC).
    pub gc_pause_usec_100: u64,
    /// 0 (no GC).
    pub gc_pause_usec_99: u64,
    /// 0 (no GC).
    pub gc_pause_usec_95: u64,
    /// 0 (no GC).
    pub next_gc_bytes: u64,
    /// 0 (no GC).
    pub gc_total_runs: u32,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// Reads the process memory figures (zeros where unavailable).
pub fn mem_stats() -> MemStats {
    MemStats {
        heap_in_use_bytes: resident_bytes().unwrap_or(0),
        ..MemStats::default()
    }
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages.saturating_mul(u64::try_from(page).ok()?))
}

/// The latency stream of a channel, if latency tracking is configured.
pub fn channel_latency(channel: &Channel) -> Option<&E2eLatency> {
    channel.e2e()
}

/// A channel's latency figures (the null form without a stream).
pub fn channel_e2e(channel: &Channel) -> E2eStats {
    match channel_latency(channel) {
        Some(l) => l.snapshot().into(),
        None => E2eStats::default(),
    }
}

/// A topic's latency figures: all its channels merged (whatever the channel filter), or the
/// null form when none of them has a stream.
pub fn topic_e2e(channels: &[Arc<Channel>]) -> E2eStats {
    let streams: Vec<&E2eLatency> = channels.iter().filter_map(|c| channel_latency(c)).collect();
    match streams.first() {
        Some(first) => E2eLatency::merged(first.percentiles(), &streams).into(),
        None => E2eStats::default(),
    }
}

/// Gathers the statistics selected by `filter`.
pub fn gather(daemon: &Daemon, filter: StatsFilter<'_>) -> Stats {
    let topics: Vec<Arc<Topic>> = if filter.topic.is_empty() {
        daemon.topics()
    } else {
        match daemon.topic(filter.topic) {
            Some(t) => vec![t],
            None => return Stats::default(),
        }
    };
    let mut out = Vec::with_capacity(topics.len());
    for t in &topics {
        let snap = t.snapshot();
        let selected: Vec<&Arc<Channel>> = if filter.channel.is_empty() {
            snap.channels.iter().collect()
        } else {
            match snap.channels.iter().find(|c| c.name == filter.channel) {
                Some(c) => vec![c],
                None => continue,
            }
        };
        let channels = selected
            .into_iter()
            .map(|c| channel_stats(c, filter))
            .collect();
        out.push(TopicStats {
            topic_name: snap.name.clone(),
            channels,
            depth: snap.depth,
            backend_depth: snap.backend_depth,
            message_count: snap.message_count,
            message_bytes: snap.message_bytes,
            paused: snap.paused,
            e2e_processing_latency: topic_e2e(&snap.channels),
        });
    }
    // The reference appends producers to a nil slice: none at all is `null`, not `[]`.
    let producers = filter
        .include_clients
        .then(|| {
            daemon
                .clients()
                .iter()
                .filter(|c| is_producer(c))
                .map(|c| client_stats(c, filter.topic))
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty());
    Stats {
        topics: Some(out),
        producers,
    }
}

fn channel_stats(c: &Channel, filter: StatsFilter<'_>) -> ChannelStats {
    let s = c.snapshot();
    let clients = filter.include_clients.then(|| {
        s.clients
            .iter()
            .map(|cl| client_stats(cl, filter.topic))
            .collect()
    });
    ChannelStats {
        channel_name: s.name,
        depth: s.depth,
        backend_depth: s.backend_depth,
        in_flight_count: s.in_flight_count,
        deferred_count: s.deferred_count,
        message_count: s.message_count,
        zone_local_msg_count: 0,
        region_local_msg_count: 0,
        global_msg_count: s.global_msg_count,
        requeue_count: s.requeue_count,
        timeout_count: s.timeout_count,
        client_count: s.clients.len(),
        clients,
        paused: s.paused,
        e2e_processing_latency: channel_e2e(c),
    }
}

/// True iff the connection published at least one message.
pub fn is_producer(c: &Client) -> bool {
    !c.meta.lock().pub_counts.is_empty()
}

/// One client's figures; `topic` (`""` = any) selects the single `pub_counts` entry shown.
pub fn client_stats(c: &Client, topic: &str) -> ClientStats {
    let meta = c.meta.lock();
    let pub_counts: Vec<PubCount> = meta
        .pub_counts
        .iter()
        .find(|(t, _)| topic.is_empty() || t.as_str() == topic)
        .map(|(t, n)| PubCount {
            topic: t.clone(),
            count: *n,
        })
        .into_iter()
        .collect();
    ClientStats {
        client_id: meta.client_id.clone(),
        hostname: meta.hostname.clone(),
        version: "V2",
        remote_address: c.remote_addr.clone(),
        state: i32::from(c.state()),
        ready_count: c.ready_count.load(Ordering::Relaxed),
        in_flight_count: c.in_flight.load(Ordering::Relaxed),
        message_count: c.message_count.load(Ordering::Relaxed),
        zone_local_msg_count: 0,
        region_local_msg_count: 0,
        global_msg_count: 0,
        finish_count: c.finish_count.load(Ordering::Relaxed),
        requeue_count: c.requeue_count.load(Ordering::Relaxed),
        connect_ts: c.connect_ts,
        sample_rate: i32::from(c.sample_rate.load(Ordering::Relaxed)),
        deflate: meta.deflate,
        snappy: meta.snappy,
        user_agent: meta.user_agent.clone(),
        authed: meta.authed,
        auth_identity: meta.auth_identity.clone(),
        auth_identity_url: meta.auth_identity_url.clone(),
        topology_zone: meta.topology_zone.clone(),
        topology_region: meta.topology_region.clone(),
        pub_counts,
        tls: meta.tls,
        tls_cipher_suite: meta.tls_cipher_suite.clone(),
        tls_version: meta.tls_version.clone(),
        tls_negotiated_protocol: String::new(),
        tls_negotiated_protocol_is_mutual: meta.tls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(v: &T) -> String {
        nsq_http::gojson::to_string(v).expect("serializable")
    }

    #[test]
    fn e2e_forms() {
        assert_eq!(
            json(&E2eStats::default()),
            r#"{"count":0,"percentiles":null}"#
        );
        let s: E2eStats = E2eSnapshot {
            count: 2,
            percentiles: vec![(1.0, 2001601181.0), (0.99, 0.5)],
        }
        .into();
        assert_eq!(
            json(&s),
            r#"{"count":2,"percentiles":[{"quantile":1,"value":2001601181},{"quantile":0.99,"value":0.5}]}"#
        );
    }

    #[test]
    fn mem_stats_shape() {
        let m = mem_stats();
        assert!(m.heap_in_use_bytes > 0);
        let j = json(&MemStats::default());
        assert_eq!(
            j,
            r#"{"heap_objects":0,"heap_idle_bytes":0,"heap_in_use_bytes":0,"heap_released_bytes":0,"gc_pause_usec_100":0,"gc_pause_usec_99":0,"gc_pause_usec_95":0,"next_gc_bytes":0,"gc_total_runs":0}"#
        );
    }

    #[tokio::test]
    async fn filters_and_quirks() {
        let d = Daemon::new(crate::Options::default());
        let t = d.get_or_create_topic("b").expect("topic");
        t.get_or_create_channel("c1");
        t.get_or_create_channel("c0");
        d.get_or_create_topic("a").expect("topic");
        let all = gather(
            &d,
            StatsFilter {
                include_clients: true,
                ..Default::default()
            },
        );
        let topics = all.topics.expect("topics");
        assert_eq!(topics[0].topic_name, "a");
        assert_eq!(topics[1].channels[0].channel_name, "c0");
        assert!(all.producers.is_none());
        assert_eq!(json(&topics[0].channels), "[]");

        let miss = gather(
            &d,
            StatsFilter {
                topic: "nope",
                include_clients: true,
                ..Default::default()
            },
        );
        assert!(miss.topics.is_none() && miss.producers.is_none());

        let by_channel = gather(
            &d,
            StatsFilter {
                channel: "c1",
                ..Default::default()
            },
        );
        let topics = by_channel.topics.expect("topics");
        assert_eq!(topics.len(), 1);
        assert_eq!(topics[0].channels.len(), 1);
        assert!(topics[0].channels[0].clients.is_none());
        assert!(by_channel.producers.is_none());

        let none = gather(
            &d,
            StatsFilter {
                topic: "a",
                channel: "zz",
                include_clients: true,
            },
        );
        assert_eq!(none.topics.map(|t| t.len()), Some(0));
    }

    #[test]
    fn client_json_keys() {
        let c = Client::new(
            1,
            "127.0.0.1:5000".into(),
            "127.0.0.1".into(),
            crate::client::ClientDefaults {
                msg_timeout_ns: 1,
                heartbeat_ms: 1,
                output_buffer_size: 1,
                output_buffer_timeout_ms: 1,
            },
        );
        c.meta.lock().pub_counts.insert("t1".into(), 3);
        c.meta.lock().pub_counts.insert("t2".into(), 4);
        let s = client_stats(&c, "t2");
        assert_eq!(
            s.pub_counts,
            vec![PubCount {
                topic: "t2".into(),
                count: 4
            }]
        );
        assert_eq!(client_stats(&c, "").pub_counts.len(), 1);
        assert!(client_stats(&c, "t3").pub_counts.is_empty());
        let j = json(&client_stats(&c, "t3"));
        assert!(j.starts_with(r#"{"client_id":"127.0.0.1","hostname":"127.0.0.1","version":"V2","remote_address":"127.0.0.1:5000","state":0,"ready_count":0,"in_flight_count":0,"message_count":0,"finish_count":0,"requeue_count":0,"connect_ts":"#), "{j}");
        assert!(j.ends_with(r#","sample_rate":0,"deflate":false,"snappy":false,"user_agent":"","topology_zone":"","topology_region":"","tls":false,"tls_cipher_suite":"","tls_version":"","tls_negotiated_protocol":"","tls_negotiated_protocol_is_mutual":false}"#), "{j}");
    }
}
