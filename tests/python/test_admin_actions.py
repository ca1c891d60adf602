"""nsqadmin admin actions against a real cluster: create through nsqlookupd, pause/unpause/empty
topics and channels, delete, tombstone, checked through nsqd's /stats and nsqlookupd's API;
plus the body and name validation answers."""

from __future__ import annotations

import json

import pytest

from admin_fixtures import IS_REFERENCE, cluster, cluster_factory, ours_only  # noqa: F401
from nsqlib import publish, wait_for


def populate(c):
    a, b = c.nsqds
    publish(a, "orders", b"a1", b"a2", b"a3")
    publish(b, "orders", b"b1", b"b2")
    for n in (a, b):
        assert n.http("POST", "/channel/create?topic=orders&channel=billing")[0] == 200
    c.wait_registered("orders", 2)


def lookupd_json(c, path):
    status, _, body = c.lookupd.get(path)
    assert status == 200, (path, status, body)
    return json.loads(body)


@pytest.mark.parametrize("path", ["/api/topics/orders", "/api/topics/orders/billing"])
def test_pause_unpause(cluster, path):
    populate(cluster)
    admin = cluster.admin()
    channel = path.endswith("billing")

    def paused():
        out = []
        for n in cluster.nsqds:
            s = n.channel_stats("orders", "billing") if channel else n.topic_stats("orders")
            out.append(s["paused"])
        return out

    assert admin.ok("POST", path, {"action": "pause"}) == {"message": ""}
    assert paused() == [True, True]
    assert admin.ok("GET", path)["paused"] is True
    assert admin.ok("POST", path, {"action": "unpause"}) == {"message": ""}
    assert paused() == [False, False]


def test_empty_channel_and_topic(cluster):
    populate(cluster)
    publish(cluster.nsqds[0], "nochan", b"x", b"y")
    cluster.wait_registered("nochan", 1)
    admin = cluster.admin()
    assert admin.ok("POST", "/api/topics/orders/billing", {"action": "empty"}) == {"message": ""}
    for n in cluster.nsqds:
        assert n.channel_stats("orders", "billing")["depth"] == 0
    assert cluster.nsqds[0].topic_stats("nochan")["depth"] == 2
    assert admin.ok("POST", "/api/topics/nochan", {"action": "empty"}) == {"message": ""}
    assert cluster.nsqds[0].topic_stats("nochan")["depth"] == 0


def test_create_topic_and_channel(cluster):
    populate(cluster)
    admin = cluster.admin()
    assert admin.ok("POST", "/api/topics", {"topic": "fresh"}) == {"message": ""}
    assert "fresh" in lookupd_json(cluster, "/topics")["topics"]
    # the topic is never created on an nsqd
    assert all(n.topic_stats("fresh") is None for n in cluster.nsqds)
    assert admin.ok("POST", "/api/topics", {"topic": "orders", "channel": "audit"}) == {"message": ""}
    assert "audit" in lookupd_json(cluster, "/channels?topic=orders")["channels"]
    for n in cluster.nsqds:
        assert n.channel_stats("orders", "audit") is not None
    assert admin.ok("POST", "/api/topics", {"topic": "fresh", "channel": ""}) == {"message": ""}


def test_create_in_nsqd_mode(cluster):
    admin = cluster.admin(mode="nsqd")
    # topic only: nothing to do upstream, still 200
    assert admin.ok("POST", "/api/topics", {"topic": "t"}) == {"message": ""}
    # with a channel the producer lookup runs over zero lookupds: a total failure
    r = admin.post("/api/topics", {"topic": "t", "channel": "c"})
    assert (r.status, r.json) == (502, {"message": "UPSTREAM_ERROR: failed to query any nsqlookupd: "})


def test_delete_channel_and_topic(cluster):
    populate(cluster)
    admin = cluster.admin()
    assert admin.ok("DELETE", "/api/topics/orders/billing") == {"message": ""}
    for n in cluster.nsqds:
        assert n.channel_stats("orders", "billing") is None
    assert admin.ok("DELETE", "/api/topics/orders") == {"message": ""}
    for n in cluster.nsqds:
        assert n.topic_stats("orders") is None
    wait_for(lambda: "orders" not in lookupd_json(cluster, "/topics")["topics"], what="lookupd forgets orders")


def test_delete_in_nsqd_mode(cluster):
    populate(cluster)
    admin = cluster.admin(mode="nsqd")
    assert admin.ok("DELETE", "/api/topics/orders/billing") == {"message": ""}
    assert admin.ok("DELETE", "/api/topics/orders") == {"message": ""}
    for n in cluster.nsqds:
        assert n.topic_stats("orders") is None


def test_tombstone_topic_producer(cluster):
    populate(cluster)
    a, b = cluster.nsqds
    admin = cluster.admin()
    assert admin.ok("DELETE", f"/api/nodes/{a.http_address}", {"topic": "orders"}) == {"message": ""}
    assert a.topic_stats("orders") is None
    assert b.topic_stats("orders") is not None
    producers = lookupd_json(cluster, "/lookup?topic=orders")["producers"]
    assert [p["http_port"] for p in producers] == [b.http_port]


def test_tombstone_unreachable_node_is_upstream_error(cluster):
    populate(cluster)
    r = cluster.admin().delete("/api/nodes/127.0.0.1:1", {"topic": "orders"})
    assert r.status == 502
    assert r.message == ('UPSTREAM_ERROR: failed to query any nsqd: Get "http://127.0.0.1:1/info": '
                         "dial tcp 127.0.0.1:1: connect: connection refused")


def test_unknown_topic_actions_are_upstream_errors(cluster):
    admin = cluster.admin()
    want = ('UPSTREAM_ERROR: failed to query any nsqlookupd: got response 404 Not Found '
            '"{\\"message\\":\\"TOPIC_NOT_FOUND\\"}"')
    for method, path, body in [("POST", "/api/topics/nope", {"action": "pause"}),
                               ("DELETE", "/api/topics/nope", None),
                               ("DELETE", "/api/topics/nope/c", None),
                               ("GET", "/api/topics/nope", None)]:
        r = admin.req(method, path, body)
        assert (r.status, r.message) == (502, want), (method, path)


def test_action_on_missing_channel_is_a_warning(cluster):
    populate(cluster)
    r = cluster.admin().post("/api/topics/orders/nope", {"action": "empty"})
    assert r.status == 200
    one = 'got response 404 Not Found "{\\"message\\":\\"CHANNEL_NOT_FOUND\\"}"'
    assert r.message == f"WARNING: {one}\n{one}"


@pytest.mark.parametrize("body,message", [
    (b"", "EOF"),
    (b"notjson", "invalid character 'o' in literal null (expecting 'u')"),
    (b"{", "unexpected EOF"),
    (b'{"topic":5}', "json: cannot unmarshal number into Go struct field .topic of type string"),
    (b'{"topic":"bad topic"}', "INVALID_TOPIC"),
    (b'{"topic":"t","channel":"bad chan"}', "INVALID_CHANNEL"),
    (b'{"topic":""}', "INVALID_TOPIC"),
    (b'{"topic":"' + b"x" * 65 + b'"}', "INVALID_TOPIC"),
])
def test_create_body_errors(cluster, body, message):
    r = cluster.admin().post("/api/topics", body)
    assert (r.status, r.json) == (400, {"message": message})


@pytest.mark.parametrize("body,message", [
    (b"", "EOF"),
    (b"[]", 'json: cannot unmarshal array into Go value of type struct { Action string "json:\\"action\\"" }'),
    (b'{"action":"destroy"}', "INVALID_ACTION"),
    (b'{"action":null}', "INVALID_ACTION"),
])
def test_action_body_errors(cluster, body, message):
    populate(cluster)
    r = cluster.admin().post("/api/topics/orders", body)
    assert (r.status, r.json) == (400, {"message": message})


def test_trailing_data_after_the_body_is_ignored(cluster):
    populate(cluster)
    r = cluster.admin().post("/api/topics/orders", b'{"action":"pause"} trailing garbage')
    assert (r.status, r.json) == (200, {"message": ""})


@pytest.mark.parametrize("body,message", [
    (b"", "INVALID_BODY"),
    (b"nope", "INVALID_BODY"),
    (b'{"topic":"bad topic"}', "INVALID_TOPIC"),
    (b"{}", "INVALID_TOPIC"),
])
def test_tombstone_body_errors(cluster, body, message):
    r = cluster.admin().delete(f"/api/nodes/{cluster.nsqds[0].http_address}", body)
    assert (r.status, r.json) == (400, {"message": message})


@ours_only
@pytest.mark.parametrize("method,path,body,message", [
    ("POST", "/api/topics/bad%20topic", {"action": "pause"}, "INVALID_TOPIC"),
    ("POST", "/api/topics/orders/bad%20chan", {"action": "pause"}, "INVALID_CHANNEL"),
    ("DELETE", "/api/topics/bad%20topic", None, "INVALID_TOPIC"),
    ("DELETE", "/api/topics/orders/bad%20chan", None, "INVALID_CHANNEL"),
    ("GET", "/api/topics/bad%20topic", None, "INVALID_TOPIC"),
    ("GET", "/api/topics/orders/" + "x" * 65, None, "INVALID_CHANNEL"),
])
def test_invalid_names_in_paths_are_400(cluster, method, path, body, message):
    r = cluster.admin().req(method, path, body)
    assert (r.status, r.json) == (400, {"message": message})
