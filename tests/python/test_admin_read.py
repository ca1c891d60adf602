"""nsqadmin read API against a real cluster: /api/topics (plain and inactive), one topic, one
channel, nodes, one node and the counter, in lookupd and nsqd mode, with the reference's JSON
layouts and sums across nodes."""

from __future__ import annotations

import gzip
import zlib

from admin_fixtures import HOSTNAME, IS_REFERENCE, cluster, cluster_factory, ours_only  # noqa: F401
from nsqlib import publish, subscribe, wait_for

V1 = "nsq; version=1.0"
JSON_CT = "application/json; charset=utf-8"

TOPIC_KEYS = ["node", "hostname", "topic_name", "depth", "memory_depth", "backend_depth",
              "message_count", "delivery_msg_count", "nodes", "channels", "paused",
              "e2e_processing_latency"]
CHANNEL_KEYS = ["node", "hostname", "topic_name", "channel_name", "depth", "memory_depth",
                "backend_depth", "in_flight_count", "deferred_count", "requeue_count",
                "timeout_count", "message_count", "client_count", "nodes", "clients", "paused",
                "e2e_processing_latency"]
CLIENT_KEYS = ["node", "remote_address", "version", "client_id", "hostname", "user_agent",
               "connect_ts", "connected", "in_flight_count", "ready_count", "finish_count",
               "requeue_count", "message_count", "sample_rate", "deflate", "snappy", "authed",
               "auth_identity", "auth_identity_url", "tls", "tls_cipher_suite", "tls_version",
               "tls_negotiated_protocol", "tls_negotiated_protocol_is_mutual"]
NODE_KEYS = ["remote_addresses", "remote_address", "hostname", "broadcast_address", "tcp_port",
             "http_port", "version", "topics", "out_of_date"]


# Delivery counters that are omitted when zero (post-1.3.0; the v1.3.0 reference nsqd
# never reports them). When present they follow `message_count`.
OPTIONAL_COUNT_KEYS = ["delivery_msg_count", "zone_local_msg_count",
                       "region_local_msg_count", "global_msg_count"]


def keys(obj, expected):
    """The keys of `obj` in order, and the expected order with the optional delivery
    counters that `obj` carries placed after `message_count` (the reference v1.3.0 has
    none of them)."""
    got = list(obj.keys())
    if IS_REFERENCE:
        expected = [k for k in expected if k != "delivery_msg_count"]
    present = [k for k in OPTIONAL_COUNT_KEYS if k in got and k not in expected]
    if present and "message_count" in expected:
        i = expected.index("message_count") + 1
        expected = expected[:i] + present + expected[i:]
    return got, expected


def populate(c):
    """orders on both nsqds (3 + 2 messages) with channel billing, events on nsqd0 only."""
    a, b = c.nsqds
    publish(a, "orders", b"a1", b"a2", b"a3")
    publish(b, "orders", b"b1", b"b2")
    publish(a, "events", b"e1")
    for n in (a, b):
        assert n.http("POST", "/channel/create?topic=orders&channel=billing")[0] == 200
    c.wait_registered("orders", 2)
    c.wait_registered("events", 1)


def test_ping_and_headers(cluster):
    admin = cluster.admin()
    r = admin.get("/ping")
    assert (r.status, r.body) == (200, b"OK")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.headers.get("X-NSQ-Content-Type") is None
    r = admin.get("/api/topics")
    assert r.status == 200
    assert r.headers["X-NSQ-Content-Type"] == V1
    assert r.headers["Content-Type"] == JSON_CT


def test_router_answers(cluster):
    admin = cluster.admin()
    r = admin.get("/api/nope")
    assert (r.status, r.json) == (404, {"message": "NOT_FOUND"})
    r = admin.req("PUT", "/api/topics")
    assert r.status == 405
    assert r.headers["Allow"] == "GET, OPTIONS, POST"
    assert r.json == {"message": "METHOD_NOT_ALLOWED"}
    r = admin.get("/api/topics/")
    assert r.status == 301 and r.headers["Location"] == "/api/topics"


def test_compression(cluster):
    admin = cluster.admin()
    r = admin.get("/api/topics", headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip"
    assert r.headers["Vary"] == "Accept-Encoding"
    assert b'"topics"' in gzip.decompress(r.body)
    r = admin.get("/api/topics", headers={"Accept-Encoding": "br, deflate"})
    assert r.headers["Content-Encoding"] == "deflate"
    assert b'"topics"' in zlib.decompress(r.body, -15)
    r = admin.get("/api/topics", headers={"Accept-Encoding": "gzip;q=1"})
    assert r.headers.get("Content-Encoding") is None


def test_topics_lookupd_mode(cluster):
    admin = cluster.admin()
    assert admin.get("/api/topics").body == b'{"topics":null,"message":""}'
    populate(cluster)
    assert admin.get("/api/topics").body == b'{"topics":["events","orders"],"message":""}'


def test_topics_nsqd_mode(cluster):
    populate(cluster)
    admin = cluster.admin(mode="nsqd")
    assert admin.ok("GET", "/api/topics") == {"topics": ["events", "orders"], "message": ""}
    # nsqd mode has no lookup data: the inactive map is always empty
    assert admin.get("/api/topics?inactive=true").body == b'{"topics":{},"message":""}'


def test_inactive_topics(cluster):
    populate(cluster)
    lk = cluster.lookupd
    assert lk.post("/topic/create?topic=ghost")[0] == 200
    assert lk.post("/channel/create?topic=spooky&channel=c1")[0] == 200
    admin = cluster.admin()
    assert admin.get("/api/topics?inactive=true").body == \
        b'{"topics":{"ghost":null,"spooky":["c1"]},"message":""}'
    # anything but exactly "true" is the plain list
    assert admin.ok("GET", "/api/topics?inactive=1")["topics"] == ["events", "ghost", "orders", "spooky"]


def test_topic_merged_over_nodes(cluster):
    populate(cluster)
    admin = cluster.admin()
    t = admin.ok("GET", "/api/topics/orders")
    got, want = keys(t, TOPIC_KEYS + ["message"])
    assert got == want
    assert (t["node"], t["hostname"], t["topic_name"]) == ("*", "", "orders")
    assert t["message_count"] == 5
    assert t["message"] == ""
    nodes = {n["node"]: n for n in t["nodes"]}
    assert set(nodes) == {n.http_address for n in cluster.nsqds}
    for n in cluster.nsqds:
        entry = nodes[n.http_address]
        assert entry["hostname"] == HOSTNAME
        assert entry["nodes"] is None
        assert entry["memory_depth"] == entry["depth"] - entry["backend_depth"]
    assert nodes[cluster.nsqds[0].http_address]["message_count"] == 3
    assert [c["channel_name"] for c in t["channels"]] == ["billing"]
    e2e = t["e2e_processing_latency"]
    assert list(e2e) == ["count", "percentiles", "topic", "channel", "host"]
    assert (e2e["topic"], e2e["channel"], e2e["host"]) == ("orders", "", "*")
    assert [p["quantile"] for p in e2e["percentiles"]] == [0.99, 0.5]
    assert list(e2e["percentiles"][0]) == ["average", "count", "max", "min", "quantile"]


@ours_only
def test_topic_channels_are_summed_over_every_node(cluster):
    """The reference's aliasing drops the first node from a multi-node channel."""
    populate(cluster)
    admin = cluster.admin()
    t = admin.ok("GET", "/api/topics/orders")
    (ch,) = t["channels"]
    assert ch["node"] == "*"
    assert ch["depth"] == 5 and ch["message_count"] == 5
    assert sorted(n["node"] for n in ch["nodes"]) == sorted(n.http_address for n in cluster.nsqds)
    assert (ch["e2e_processing_latency"]["host"], ch["e2e_processing_latency"]["channel"]) == ("*", "billing")
    per_node = [c for n in t["nodes"] for c in n["channels"]]
    assert sorted(c["depth"] for c in per_node) == [2, 3]


def test_single_node_channel_is_the_nodes_own_entry(cluster):
    publish(cluster.nsqds[0], "solo", b"x")
    assert cluster.nsqds[0].http("POST", "/channel/create?topic=solo&channel=c")[0] == 200
    cluster.wait_registered("solo", 1)
    t = cluster.admin().ok("GET", "/api/topics/solo")
    (ch,) = t["channels"]
    got, want = keys(ch, CHANNEL_KEYS)
    assert got == want
    assert ch["node"] == cluster.nsqds[0].http_address
    assert ch["nodes"] is None and ch["clients"] is None
    assert ch["depth"] == 1


def test_channel_with_clients(cluster):
    populate(cluster)
    a = cluster.nsqds[0]
    consumer = subscribe(a, "orders", "billing",
                         identify={"client_id": "cid", "hostname": "consumer-host",
                                   "user_agent": "admin-test/1.0"}, rdy=1)
    try:
        admin = cluster.admin()
        wait_for(lambda: admin.ok("GET", "/api/topics/orders/billing")["in_flight_count"] == 1,
                 what="message in flight")
        c = admin.ok("GET", "/api/topics/orders/billing")
        got, want = keys(c, CHANNEL_KEYS + ["message"])
        assert got == want
        assert (c["node"], c["hostname"], c["topic_name"], c["channel_name"]) == ("*", "", "orders", "billing")
        assert c["client_count"] == 1 and c["depth"] == 4 and c["message_count"] == 5
        assert len(c["nodes"]) == 2
        (cl,) = c["clients"]
        assert list(cl) == CLIENT_KEYS
        assert cl["node"] == a.http_address
        assert (cl["client_id"], cl["hostname"], cl["user_agent"]) == ("cid", "consumer-host", "admin-test/1.0")
        assert cl["in_flight_count"] == 1 and cl["ready_count"] == 1
        assert cl["connected"] % 1_000_000_000 == 0 and cl["connected"] >= 0
        assert (cl["tls"], cl["snappy"], cl["deflate"]) == (False, False, False)
        # per-node entries keep nsqd's client lists ([] when none)
        empty = [n for n in c["nodes"] if n["node"] != a.http_address][0]
        assert empty["clients"] == []
    finally:
        consumer.close()


@ours_only
def test_unknown_channel_is_404(cluster):
    populate(cluster)
    r = cluster.admin().get("/api/topics/orders/nope")
    assert (r.status, r.json) == (404, {"message": "CHANNEL_NOT_FOUND"})


def test_nodes_lookupd_mode(cluster):
    populate(cluster)
    admin = cluster.admin()
    body = admin.ok("GET", "/api/nodes")
    assert body["message"] == ""
    assert len(body["nodes"]) == 2
    lk = cluster.lookupd.http_addr
    for node in body["nodes"]:
        assert list(node) == NODE_KEYS
        assert node["broadcast_address"] == "127.0.0.1"
        assert node["hostname"] == HOSTNAME
        assert node["version"] == "1.3.0"
        assert node["out_of_date"] is False
        assert node["remote_addresses"] == [f"{lk}/{node['remote_address']}"]
    by_port = {n["http_port"]: n for n in body["nodes"]}
    a, b = cluster.nsqds
    assert by_port[a.http_port]["tcp_port"] == a.tcp_port
    assert by_port[a.http_port]["topics"] == [{"topic": "events", "tombstoned": False},
                                              {"topic": "orders", "tombstoned": False}]
    assert by_port[b.http_port]["topics"] == [{"topic": "orders", "tombstoned": False}]


def test_nodes_nsqd_mode(cluster):
    populate(cluster)
    admin = cluster.admin(mode="nsqd")
    body = admin.ok("GET", "/api/nodes")
    ports = [n["http_port"] for n in body["nodes"]]
    want = [n.http_port for n in cluster.nsqds]
    # configuration order here; the reference answers in arrival order
    assert ports == want if not IS_REFERENCE else sorted(ports) == sorted(want)
    for node in body["nodes"]:
        assert node["remote_addresses"] is None
        assert node["remote_address"] == ""
        assert node["out_of_date"] is False
    by_port = {n["http_port"]: n for n in body["nodes"]}
    assert by_port[cluster.nsqds[1].http_port]["topics"] == [{"topic": "orders", "tombstoned": False}]


def test_nodes_empty(cluster_factory):
    c = cluster_factory(lookupds=1, nsqds=0)
    assert c.admin().get("/api/nodes").body == b'{"nodes":null,"message":""}'


def test_one_node(cluster):
    populate(cluster)
    a = cluster.nsqds[0]
    consumer = subscribe(a, "orders", "billing", rdy=0)
    try:
        admin = cluster.admin()
        body = admin.ok("GET", f"/api/nodes/{a.http_address}")
        assert list(body) == ["node", "topics", "total_messages", "total_clients", "message"]
        assert body["node"] == a.http_address
        assert [t["topic_name"] for t in body["topics"]] == ["events", "orders"]
        assert body["total_messages"] == 4
        assert body["total_clients"] == 1
        orders = body["topics"][1]
        assert orders["node"] == a.http_address and orders["hostname"] == HOSTNAME
        assert orders["channels"][0]["clients"][0]["node"] == a.http_address
    finally:
        consumer.close()


def test_unknown_node_is_404(cluster):
    r = cluster.admin().get("/api/nodes/127.0.0.1:1")
    assert (r.status, r.json) == (404, {"message": "NODE_NOT_FOUND"})


def test_counter(cluster):
    populate(cluster)
    body = cluster.admin().ok("GET", "/api/counter")
    a, b = cluster.nsqds
    assert body == {"stats": {
        f"orders:billing:{a.http_address}": {"node": a.http_address, "topic_name": "orders",
                                             "channel_name": "billing", "message_count": 3},
        f"orders:billing:{b.http_address}": {"node": b.http_address, "topic_name": "orders",
                                             "channel_name": "billing", "message_count": 2},
    }, "message": ""}


def test_counter_without_nodes_is_upstream_error(cluster_factory):
    c = cluster_factory(lookupds=1, nsqds=0)
    r = c.admin().get("/api/counter")
    assert (r.status, r.json) == (502, {"message": "UPSTREAM_ERROR: failed to query any nsqd: "})


def test_topic_of_nsqd_mode(cluster):
    populate(cluster)
    admin = cluster.admin(mode="nsqd")
    t = admin.ok("GET", "/api/topics/orders")
    assert t["message_count"] == 5
    assert sorted(n["node"] for n in t["nodes"]) == sorted(n.http_address for n in cluster.nsqds)
    t = admin.ok("GET", "/api/topics/events")
    assert [n["node"] for n in t["nodes"]] == [cluster.nsqds[0].http_address]
