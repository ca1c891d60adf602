"""The admin-action notification webhook (--notification-http-endpoint): one JSON record per
action with the reference's fields, sent even when the action fails upstream, and never able
to hurt nsqadmin (an unreachable or slow endpoint is logged, not fatal)."""

from __future__ import annotations

import base64
import time

from admin_fixtures import (HOSTNAME, closed_port, cluster, cluster_factory, hooks,  # noqa: F401
                            ours_only, recorder_factory)
from nsqlib import publish, wait_for

FIELDS = ["action", "topic", "channel", "node", "timestamp", "user", "remote_ip", "user_agent",
          "url", "via"]


def populate(c):
    for n in c.nsqds:
        publish(n, "orders", b"m")
        assert n.http("POST", "/channel/create?topic=orders&channel=billing")[0] == 200
    c.wait_registered("orders", len(c.nsqds))


def wait_hooks(hooks, n):
    wait_for(lambda: len(hooks.requests) >= n, timeout=10, what=f"{n} notifications")
    time.sleep(0.1)
    return hooks.json_bodies()


def test_every_action_notifies(cluster, hooks):
    populate(cluster)
    admin = cluster.admin(f"--notification-http-endpoint={hooks.url}/hook")
    node = cluster.nsqds[0].http_address
    steps = [
        ("POST", "/api/topics", {"topic": "orders", "channel": "audit"}, ["create_topic", "create_channel"]),
        ("POST", "/api/topics/orders", {"action": "pause"}, ["pause_topic"]),
        ("POST", "/api/topics/orders", {"action": "unpause"}, ["unpause_topic"]),
        ("POST", "/api/topics/orders", {"action": "empty"}, ["empty_topic"]),
        ("POST", "/api/topics/orders/billing", {"action": "pause"}, ["pause_channel"]),
        ("POST", "/api/topics/orders/billing", {"action": "unpause"}, ["unpause_channel"]),
        ("POST", "/api/topics/orders/billing", {"action": "empty"}, ["empty_channel"]),
        ("DELETE", "/api/topics/orders/audit", None, ["delete_channel"]),
        ("DELETE", f"/api/nodes/{node}", {"topic": "orders"}, ["tombstone_topic_producer"]),
        ("DELETE", "/api/topics/orders", None, ["delete_topic"]),
    ]
    expected = []
    for method, path, body, actions in steps:
        assert admin.req(method, path, body).status == 200, path
        expected += actions
        got = wait_hooks(hooks, len(expected))
        assert [g["action"] for g in got] == expected, path
    bodies = hooks.json_bodies()
    for r in hooks.requests:
        assert r["method"] == "POST" and r["path"] == "/hook"
        assert r["headers"]["content-type"] == "application/json"
    now = time.time()
    for b in bodies:
        assert list(b) == [f for f in FIELDS if f in b]
        assert b["via"] == HOSTNAME
        assert b["topic"] == "orders"
        assert abs(b["timestamp"] - now) < 60
        assert b["remote_ip"].startswith("127.0.0.1:")
        assert "user" not in b
    create_channel = bodies[1]
    assert create_channel["channel"] == "audit"
    assert create_channel["url"] == f"http://{admin.address}/api/topics"
    assert "channel" not in bodies[0] and "node" not in bodies[0]
    tomb = bodies[-2]
    assert tomb["node"] == node and "channel" not in tomb


def test_record_fields_from_the_request(cluster, hooks):
    populate(cluster)
    admin = cluster.admin(f"--notification-http-endpoint={hooks.url}")
    auth = base64.b64encode(b"alice:secret").decode()
    r = admin.post("/api/topics/orders?reason=incident", {"action": "pause"},
                   headers={"Authorization": f"Basic {auth}", "User-Agent": "ops-script/2",
                            "X-Scheme": "https", "Host": "admin.example:443"})
    assert r.status == 200
    (b,) = wait_hooks(hooks, 1)
    assert b["user"] == "alice"
    assert b["user_agent"] == "ops-script/2"
    assert b["url"] == "https://admin.example:443/api/topics/orders?reason=incident"


def test_failed_action_still_notifies(cluster, hooks):
    admin = cluster.admin(f"--notification-http-endpoint={hooks.url}")
    r = admin.post("/api/topics/unknown", {"action": "pause"})
    assert r.status == 502
    (b,) = wait_hooks(hooks, 1)
    assert (b["action"], b["topic"]) == ("pause_topic", "unknown")


def test_rejected_requests_do_not_notify(cluster, hooks):
    admin = cluster.admin(f"--notification-http-endpoint={hooks.url}", "--admin-user=alice")
    assert admin.post("/api/topics", {"topic": "t"}).status == 403
    admin2 = cluster.admin(f"--notification-http-endpoint={hooks.url}")
    assert admin2.post("/api/topics/orders", {"action": "nope"}).status == 400
    assert admin2.post("/api/topics", {"topic": "bad name"}).status == 400
    time.sleep(0.5)
    assert hooks.requests == []


@ours_only
def test_unreachable_endpoint_is_harmless(cluster):
    """The reference crashes here (nil response dereference)."""
    populate(cluster)
    admin = cluster.admin(f"--notification-http-endpoint=http://127.0.0.1:{closed_port()}/hook")
    for _ in range(3):
        assert admin.post("/api/topics/orders", {"action": "pause"}).status == 200
    wait_for(lambda: "failed to POST notification" in admin.log(), timeout=10, what="error logged")
    assert admin.alive()
    assert admin.get("/api/topics").status == 200


def test_slow_endpoint_does_not_delay_actions(cluster, recorder_factory):
    slow = recorder_factory(delay=3)
    populate(cluster)
    admin = cluster.admin(f"--notification-http-endpoint={slow.url}")
    started = time.monotonic()
    for action in ("pause", "unpause"):
        assert admin.post("/api/topics/orders", {"action": action}).status == 200
    assert time.monotonic() - started < 2
    assert admin.alive()


def test_endpoint_errors_are_ignored(cluster, recorder_factory):
    failing = recorder_factory(status=500)
    admin = cluster.admin(f"--notification-http-endpoint={failing.url}")
    assert admin.post("/api/topics", {"topic": "t"}).status == 200
    wait_for(lambda: failing.requests, timeout=10, what="notification")
    assert admin.post("/api/topics", {"topic": "t2"}).status == 200
    wait_for(lambda: len(failing.requests) == 2, timeout=10, what="second notification")
