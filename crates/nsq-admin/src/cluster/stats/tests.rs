use super::*;
use crate::cluster::fetch::{absorb, ClusterStats, StatsQuery};
use crate::cluster::producer::{NsqdInfo, Producer};

/// What nsqd v1.3.0 answered for topic t1 with channel c1 (captured from the reference).
const NSQD_T1: &str = r#"[{"topic_name":"t1","channels":[{"channel_name":"c1","depth":1,"backend_depth":0,"in_flight_count":0,"deferred_count":0,"message_count":1,"requeue_count":0,"timeout_count":0,"client_count":0,"clients":null,"paused":false,"e2e_processing_latency":{"count":0,"percentiles":[{"quantile":0.99,"value":0},{"quantile":0.5,"value":0}]}}],"depth":0,"backend_depth":0,"message_count":1,"message_bytes":5,"paused":false,"e2e_processing_latency":{"count":0,"percentiles":[{"quantile":0.99,"value":0},{"quantile":0.5,"value":0}]}}]"#;

fn producer(port: i64, hostname: &str) -> Producer {
    Producer::from_info(
        NsqdInfo {
            version: "1.3.0".into(),
            broadcast_address: "127.0.0.1".into(),
            hostname: hostname.into(),
            http_port: port,
            tcp_port: port - 1,
            ..Default::default()
        },
        vec!["t1".into()],
    )
}

fn topic_query() -> StatsQuery {
    StatsQuery {
        topic: "t1".into(),
        channel: String::new(),
        include_clients: false,
    }
}

fn merged(stats: &ClusterStats) -> TopicStats {
    let mut all = TopicStats::merged("t1");
    for t in &stats.topics {
        all.add(t);
    }
    all
}

#[test]
fn single_node_topic_matches_the_reference_bytes() {
    let mut out = ClusterStats::default();
    let topics: Vec<TopicStats> = serde_json::from_str(NSQD_T1).unwrap();
    absorb(&topic_query(), &producer(24151, "vm"), topics, 0, &mut out);
    let json = nsq_http::gojson::to_string(&merged(&out)).unwrap();
    // The reference's answer (v1.3.0) plus the post-1.3.0 delivery_msg_count fields.
    let e2e_node = r#"{"count":0,"percentiles":[{"average":0,"count":0,"max":0,"min":0,"quantile":0.99,"value":0},{"average":0,"count":0,"max":0,"min":0,"quantile":0.5,"value":0}],"topic":"","channel":"","host":""}"#;
    let channel = format!(
        r#"{{"node":"127.0.0.1:24151","hostname":"vm","topic_name":"t1","channel_name":"c1","depth":1,"memory_depth":1,"backend_depth":0,"in_flight_count":0,"deferred_count":0,"requeue_count":0,"timeout_count":0,"message_count":1,"client_count":0,"nodes":null,"clients":null,"paused":false,"e2e_processing_latency":{e2e_node}}}"#
    );
    let want = format!(
        r#"{{"node":"*","hostname":"","topic_name":"t1","depth":0,"memory_depth":0,"backend_depth":0,"message_count":1,"delivery_msg_count":0,"nodes":[{{"node":"127.0.0.1:24151","hostname":"vm","topic_name":"t1","depth":0,"memory_depth":0,"backend_depth":0,"message_count":1,"delivery_msg_count":0,"nodes":null,"channels":[{channel}],"paused":false,"e2e_processing_latency":{e2e_node}}}],"channels":[{channel}],"paused":false,"e2e_processing_latency":{{"count":0,"percentiles":[{{"average":0,"count":0,"max":0,"min":0,"quantile":0.99}},{{"average":0,"count":0,"max":0,"min":0,"quantile":0.5}}],"topic":"t1","channel":"","host":"*"}}}}"#
    );
    assert_eq!(json, want);
}

#[test]
fn multi_node_channels_sum_every_node() {
    let mut out = ClusterStats::default();
    for (port, host, depth) in [(1, "b-host", 3), (2, "a-host", 4)] {
        let mut topics: Vec<TopicStats> = serde_json::from_str(NSQD_T1).unwrap();
        topics[0].message_count = depth;
        if let Some(ch) = topics[0].channels.as_mut() {
            ch[0].depth = depth;
            ch[0].backend_depth = 1;
            ch[0].client_count = 1;
        }
        absorb(&topic_query(), &producer(port, host), topics, 0, &mut out);
    }
    out.sort();
    // per-node topics are sorted by host name
    let hosts: Vec<&str> = out.topics.iter().map(|t| t.hostname.as_str()).collect();
    assert_eq!(hosts, ["a-host", "b-host"]);
    let all = merged(&out);
    assert_eq!((all.node.as_str(), all.message_count), ("*", 7));
    let ch = &all.channels.as_ref().unwrap()[0];
    assert_eq!(ch.node, "*");
    assert_eq!((ch.depth, ch.memory_depth, ch.backend_depth), (7, 5, 2));
    assert_eq!(ch.client_count, 2);
    assert_eq!(ch.nodes.as_ref().unwrap().len(), 2);
    let e2e = ch.e2e_processing_latency.as_ref().unwrap();
    assert_eq!(
        (e2e.host.as_str(), e2e.topic.as_str(), e2e.channel.as_str()),
        ("*", "t1", "c1")
    );
    // the per-node channel entries keep their own figures
    let per_node: Vec<i64> = all
        .nodes
        .iter()
        .flatten()
        .map(|n| n.channels.as_ref().unwrap()[0].depth)
        .collect();
    assert_eq!(per_node, [4, 3]);
    // and the channel map (the channel endpoint / counter) agrees
    assert_eq!(out.channels["c1"].depth, 7);
    assert_eq!(out.channels["c1"].hostname, "");
}

#[test]
fn other_topics_are_dropped_and_unselected_keys_include_the_topic() {
    let mut out = ClusterStats::default();
    let mut topics: Vec<TopicStats> = serde_json::from_str(NSQD_T1).unwrap();
    let mut other = topics[0].clone();
    other.topic_name = "t2".into();
    topics.push(other);
    absorb(
        &StatsQuery::default(),
        &producer(1, "h"),
        topics.clone(),
        0,
        &mut out,
    );
    assert_eq!(out.topics.len(), 2);
    assert_eq!(out.channels.keys().collect::<Vec<_>>(), ["t1:c1", "t2:c1"]);
    let mut filtered = ClusterStats::default();
    absorb(&topic_query(), &producer(1, "h"), topics, 0, &mut filtered);
    assert_eq!(filtered.topics.len(), 1);
}

#[test]
fn clients_get_their_node_and_connect_duration() {
    let raw = NSQD_T1.replace(
        r#""clients":null"#,
        r#""clients":[{"client_id":"c","hostname":"zz","version":"V2","remote_address":"127.0.0.1:5","state":3,"ready_count":1,"in_flight_count":0,"message_count":0,"finish_count":0,"requeue_count":0,"connect_ts":100,"sample_rate":0,"deflate":false,"snappy":true,"user_agent":"ua","tls":false,"tls_cipher_suite":"","tls_version":"","tls_negotiated_protocol":"","tls_negotiated_protocol_is_mutual":false,"topology_zone":"","topology_region":""},{"client_id":"d","hostname":"aa","connect_ts":100}]"#,
    );
    let q = StatsQuery {
        include_clients: true,
        ..topic_query()
    };
    let mut out = ClusterStats::default();
    absorb(
        &q,
        &producer(9, "h"),
        serde_json::from_str(&raw).unwrap(),
        160,
        &mut out,
    );
    let clients = out.channels["c1"].clients.as_ref().unwrap();
    assert_eq!(clients[0].hostname, "aa", "sorted by host name");
    let c = &clients[1];
    assert_eq!(c.node, "127.0.0.1:9");
    assert_eq!(c.connected, 60_000_000_000);
    assert!(c.snappy);
    let json = nsq_http::gojson::to_string(c).unwrap();
    assert!(json.starts_with(r#"{"node":"127.0.0.1:9","remote_address":"127.0.0.1:5","version":"V2","client_id":"c","hostname":"zz","user_agent":"ua","connect_ts":100,"connected":60000000000,"#), "{json}");
    assert!(
        !json.contains("topology"),
        "empty topology fields are omitted: {json}"
    );
}

#[test]
fn aggregate_without_nodes_is_empty() {
    let json = nsq_http::gojson::to_string(&TopicStats::merged("t")).unwrap();
    assert_eq!(
        json,
        r#"{"node":"","hostname":"","topic_name":"t","depth":0,"memory_depth":0,"backend_depth":0,"message_count":0,"delivery_msg_count":0,"nodes":null,"channels":null,"paused":false,"e2e_processing_latency":null}"#
    );
}

#[test]
fn hostile_figures_saturate_instead_of_panicking() {
    let raw = NSQD_T1
        .replace(
            r#""depth":1,"backend_depth":0"#,
            r#""depth":9223372036854775807,"backend_depth":-9223372036854775808"#,
        )
        .replace(
            r#""message_count":1,"message_bytes""#,
            r#""message_count":9223372036854775807,"message_bytes""#,
        );
    let mut out = ClusterStats::default();
    for port in [1, 2] {
        absorb(
            &topic_query(),
            &producer(port, "h"),
            serde_json::from_str(&raw).unwrap(),
            i64::MIN,
            &mut out,
        );
    }
    let all = merged(&out);
    assert_eq!(all.message_count, i64::MAX);
    assert_eq!(out.channels["c1"].memory_depth, i64::MAX);
}
