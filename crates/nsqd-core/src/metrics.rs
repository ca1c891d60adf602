//! `GET /metrics`: the daemon's figures in the Prometheus/OpenMetrics text format, an
//! addition to the reference API (docs/metrics.md lists every metric).
//!
//! Each scrape takes one [`crate::stats`] snapshot (no client details) and encodes it with
//! the `prometheus-client` crate as constant gauges and counters, labelled by `topic` and
//! `channel`. Nothing is kept between scrapes, so deleted topics and channels disappear
//! from the output at once.

use std::sync::Arc;

use bytes::Bytes;
use nsq_http::axum::body::Body;
use nsq_http::axum::http::{header, HeaderValue, StatusCode};
use nsq_http::axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::daemon::Daemon;
use crate::stats::{gather, ChannelStats, E2eStats, StatsFilter, TopicStats};

/// The `Content-Type` of the exposition (OpenMetrics 1.0 text, which Prometheus scrapes
/// natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One scrape's figures.
#[derive(Debug)]
struct Snapshot {
    topics: Vec<TopicStats>,
    clients: usize,
    producers: usize,
    healthy: bool,
    start_time: i64,
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        encode_node(self, &mut enc)?;
        encode_topics(&self.topics, &mut enc)?;
        encode_channels(&self.topics, &mut enc)
    }
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

/// Writes one metric family: a descriptor, then one sample per `(labels, value)`.
fn family<'a, M: EncodeMetric>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (Labels<'a>, M)>,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        value.encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

fn gauge<'a>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Labels<'a>, i64)>,
) -> Result<(), std::fmt::Error> {
    let samples = samples.into_iter().map(|(l, v)| (l, ConstGauge::new(v)));
    family(enc, name, help, MetricType::Gauge, samples)
}

fn counter<'a>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Labels<'a>, u64)>,
) -> Result<(), std::fmt::Error> {
    let samples = samples.into_iter().map(|(l, v)| (l, ConstCounter::new(v)));
    family(enc, name, help, MetricType::Counter, samples)
}

/// Latency quantile samples (seconds) of one stream, with `base` labels plus `quantile`.
fn quantiles<'a>(
    base: &Labels<'a>,
    e2e: &'a E2eStats,
    out: &mut Vec<(Labels<'a>, ConstGauge<f64>)>,
    quantile_text: &'a [String],
) {
    for (p, q) in e2e
        .percentiles
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .zip(quantile_text)
    {
        let mut l = base.clone();
        l.push(("quantile", q.as_str()));
        out.push((l, ConstGauge::new(p.value / 1e9)));
    }
}

fn quantile_labels(e2e: &E2eStats) -> Vec<String> {
    e2e.percentiles
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|p| nsq_cli::strconv::format_float(p.quantile))
        .collect()
}

/// Writes one unlabelled gauge.
fn single(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(m)
}

fn encode_node(s: &Snapshot, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    single(
        enc,
        "nsq_clients",
        "TCP client connections",
        s.clients as i64,
    )?;
    single(
        enc,
        "nsq_producers",
        "TCP connections that published at least one message",
        s.producers as i64,
    )?;
    single(
        enc,
        "nsq_healthy",
        "1 while the last storage write succeeded, else 0",
        i64::from(s.healthy),
    )?;
    single(
        enc,
        "nsq_start_time_seconds",
        "Daemon start time, Unix seconds",
        s.start_time,
    )?;
    single(enc, "nsq_topics", "Topics", s.topics.len() as i64)
}

fn topic_labels(t: &TopicStats) -> Labels<'_> {
    vec![("topic", t.topic_name.as_str())]
}

fn encode_topics(
    topics: &[TopicStats],
    enc: &mut DescriptorEncoder,
) -> Result<(), std::fmt::Error> {
    let l = topic_labels;
    gauge(
        enc,
        "nsq_topic_depth",
        "Messages queued in the topic (memory and disk)",
        topics.iter().map(|t| (l(t), t.depth)),
    )?;
    gauge(
        enc,
        "nsq_topic_backend_depth",
        "Messages queued in the topic's disk queue",
        topics.iter().map(|t| (l(t), t.backend_depth)),
    )?;
    counter(
        enc,
        "nsq_topic_messages",
        "Messages published to the topic",
        topics.iter().map(|t| (l(t), t.message_count)),
    )?;
    counter(
        enc,
        "nsq_topic_message_bytes",
        "Bytes of message bodies published to the topic",
        topics.iter().map(|t| (l(t), t.message_bytes)),
    )?;
    gauge(
        enc,
        "nsq_topic_paused",
        "1 if the topic is paused",
        topics.iter().map(|t| (l(t), i64::from(t.paused))),
    )?;
    gauge(
        enc,
        "nsq_topic_channels",
        "Channels of the topic",
        topics.iter().map(|t| (l(t), t.channels.len() as i64)),
    )?;
    let texts: Vec<Vec<String>> = topics
        .iter()
        .map(|t| quantile_labels(&t.e2e_processing_latency))
        .collect();
    let mut samples = Vec::new();
    for (t, q) in topics.iter().zip(&texts) {
        quantiles(&l(t), &t.e2e_processing_latency, &mut samples, q);
    }
    family(
        enc,
        "nsq_topic_e2e_processing_latency_seconds",
        "Publish-to-FIN latency quantiles over all channels of the topic",
        MetricType::Gauge,
        samples,
    )
}

fn encode_channels(
    topics: &[TopicStats],
    enc: &mut DescriptorEncoder,
) -> Result<(), std::fmt::Error> {
    let chans: Vec<(&str, &ChannelStats)> = topics
        .iter()
        .flat_map(|t| t.channels.iter().map(move |c| (t.topic_name.as_str(), c)))
        .collect();
    let ls: Vec<Labels<'_>> = chans
        .iter()
        .map(|(t, c)| vec![("topic", *t), ("channel", c.channel_name.as_str())])
        .collect();
    let each = |f: &dyn Fn(&ChannelStats) -> i64| -> Vec<(Labels<'_>, i64)> {
        chans
            .iter()
            .zip(&ls)
            .map(|((_, c), l)| (l.clone(), f(c)))
            .collect()
    };
    gauge(
        enc,
        "nsq_channel_depth",
        "Messages queued in the channel (memory and disk; excludes in-flight and deferred)",
        each(&|c| c.depth),
    )?;
    gauge(
        enc,
        "nsq_channel_backend_depth",
        "Messages queued in the channel's disk queue",
        each(&|c| c.backend_depth),
    )?;
    gauge(
        enc,
        "nsq_channel_in_flight",
        "Messages delivered and not yet finished, requeued or timed out",
        each(&|c| c.in_flight_count),
    )?;
    gauge(
        enc,
        "nsq_channel_deferred",
        "Messages waiting for their deferral to expire",
        each(&|c| c.deferred_count),
    )?;
    gauge(
        enc,
        "nsq_channel_clients",
        "Consumers subscribed to the channel",
        each(&|c| c.client_count as i64),
    )?;
    gauge(
        enc,
        "nsq_channel_paused",
        "1 if the channel is paused",
        each(&|c| i64::from(c.paused)),
    )?;
    let each_u = |f: &dyn Fn(&ChannelStats) -> u64| -> Vec<(Labels<'_>, u64)> {
        chans
            .iter()
            .zip(&ls)
            .map(|((_, c), l)| (l.clone(), f(c)))
            .collect()
    };
    counter(
        enc,
        "nsq_channel_messages",
        "Messages put into the channel",
        each_u(&|c| c.message_count),
    )?;
    counter(
        enc,
        "nsq_channel_requeued",
        "Messages requeued by consumers (REQ)",
        each_u(&|c| c.requeue_count),
    )?;
    counter(
        enc,
        "nsq_channel_timed_out",
        "In-flight messages that timed out",
        each_u(&|c| c.timeout_count),
    )?;
    let texts: Vec<Vec<String>> = chans
        .iter()
        .map(|(_, c)| quantile_labels(&c.e2e_processing_latency))
        .collect();
    let mut samples = Vec::new();
    for (((_, c), l), q) in chans.iter().zip(&ls).zip(&texts) {
        quantiles(l, &c.e2e_processing_latency, &mut samples, q);
    }
    family(
        enc,
        "nsq_channel_e2e_processing_latency_seconds",
        "Publish-to-FIN latency quantiles of the channel",
        MetricType::Gauge,
        samples,
    )
}

/// The exposition text for `daemon` now.
pub fn render(daemon: &Daemon) -> Result<String, std::fmt::Error> {
    let stats = gather(daemon, StatsFilter::default());
    let clients = daemon.clients();
    let producers = clients
        .iter()
        .filter(|c| crate::stats::is_producer(c))
        .count();
    let snapshot = Snapshot {
        topics: stats.topics.unwrap_or_default(),
        clients: clients.len(),
        producers,
        healthy: daemon.is_healthy(),
        start_time: daemon.start_time,
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut out = String::with_capacity(4096);
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

/// The `/metrics` response: 200 with the exposition, or 500 if encoding failed.
pub fn respond(daemon: &Arc<Daemon>) -> Response {
    let (status, body) = match render(daemon) {
        Ok(text) => (StatusCode::OK, Bytes::from(text)),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::from_static(b"failed to encode metrics\n"),
        ),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp
}
