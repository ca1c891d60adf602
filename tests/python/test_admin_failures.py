"""nsqadmin with failing upstreams: partial answers (200 + `WARNING:`) when some nsqds or
lookupds fail, including an nsqd stopped mid-test; total failures (502 `UPSTREAM_ERROR`) when
all of them fail; every answer bounded by the http-client timeouts; nsqadmin never dies."""

from __future__ import annotations

import json
import os
import re
import signal
import time

from admin_fixtures import cluster, cluster_factory, recorder_factory, closed_port  # noqa: F401
from nsqlib import publish

# Go words the same timeout differently depending on which of its two equal timers fires
# first (ours always uses the first form).
HEADER_TIMEOUT_RE = (r"(net/http: timeout awaiting response headers|context deadline exceeded) "
                     r"\(Client\.Timeout exceeded while awaiting headers\)")


def refused(method: str, url: str, addr: str) -> str:
    return f'{method} "{url}": dial tcp {addr}: connect: connection refused'


def populate(c):
    for n in c.nsqds:
        publish(n, "orders", b"m")
        assert n.http("POST", "/channel/create?topic=orders&channel=billing")[0] == 200
    c.wait_registered("orders", len(c.nsqds))


def test_nsqd_stopped_mid_test_nsqd_mode(cluster):
    populate(cluster)
    a, b = cluster.nsqds
    admin = cluster.admin(mode="nsqd")
    assert admin.ok("GET", "/api/topics")["message"] == ""
    b.stop()
    addr = b.http_address

    r = admin.ok("GET", "/api/topics")
    assert r == {"topics": ["orders"],
                 "message": "WARNING: " + refused("Get", f"http://{addr}/stats?format=json", addr)}
    r = admin.ok("GET", "/api/nodes")
    assert [n["http_port"] for n in r["nodes"]] == [a.http_port]
    assert r["message"] == "WARNING: " + refused("Get", f"http://{addr}/info", addr)
    r = admin.ok("GET", "/api/topics/orders")
    assert [n["node"] for n in r["nodes"]] == [a.http_address]
    assert r["message"] == "WARNING: " + refused(
        "Get", f"http://{addr}/stats?format=json&topic=orders&include_clients=false", addr)
    r = admin.ok("GET", "/api/topics/orders/billing")
    assert r["message"].startswith("WARNING: ")
    r = admin.ok("GET", "/api/counter")
    assert list(r["stats"]) == [f"orders:billing:{a.http_address}"]
    assert r["message"].startswith("WARNING: ")
    # actions reach the live node and report the dead one
    r = admin.ok("POST", "/api/topics/orders", {"action": "pause"})
    assert r["message"].startswith("WARNING: ")
    assert a.topic_stats("orders")["paused"] is True


def test_all_nsqds_down_nsqd_mode(cluster):
    populate(cluster)
    admin = cluster.admin(mode="nsqd")
    for n in cluster.nsqds:
        n.stop()
    a, b = (n.http_address for n in cluster.nsqds)
    started = time.monotonic()
    r = admin.get("/api/topics")
    assert r.status == 502
    prefix = "UPSTREAM_ERROR: failed to query any nsqd: "
    assert r.message.startswith(prefix)
    # the reference lists errors in arrival order; ours in configuration order
    assert sorted(r.message[len(prefix):].split("\n")) == sorted([
        refused("Get", f"http://{a}/stats?format=json", a),
        refused("Get", f"http://{b}/stats?format=json", b)])
    for path in ["/api/nodes", "/api/topics/orders", "/api/counter"]:
        r = admin.get(path)
        assert r.status == 502 and r.message.startswith("UPSTREAM_ERROR: failed to query any nsqd: "), path
    assert time.monotonic() - started < 3
    assert admin.get("/ping").status == 200


def test_wedged_nsqd_is_bounded_by_the_request_timeout(cluster):
    """A stopped (SIGSTOP) nsqd stays registered in lookupd but never answers."""
    populate(cluster)
    a, b = cluster.nsqds
    admin = cluster.admin("--http-client-request-timeout=1s")
    os.kill(b.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        r = admin.ok("GET", "/api/topics/orders")
        elapsed = time.monotonic() - started
        assert elapsed < 3, elapsed
        assert [n["node"] for n in r["nodes"]] == [a.http_address]
        url = f"http://{b.http_address}/stats?format=json&topic=orders&include_clients=false"
        assert re.fullmatch(f'WARNING: Get "{re.escape(url)}": {HEADER_TIMEOUT_RE}', r["message"])
        r = admin.get(f"/api/nodes/{b.http_address}")
        assert r.status == 502
        r = admin.ok("POST", "/api/topics/orders/billing", {"action": "pause"})
        post = f"http://{b.http_address}/channel/pause?topic=orders&channel=billing"
        assert re.fullmatch(f'WARNING: Post "{re.escape(post)}": {HEADER_TIMEOUT_RE}', r["message"])
        assert a.channel_stats("orders", "billing")["paused"] is True
    finally:
        os.kill(b.proc.pid, signal.SIGCONT)


def test_one_of_two_lookupds_down(cluster_factory):
    c = cluster_factory(lookupds=2, nsqds=1)
    populate(c)
    admin = c.admin()
    assert admin.ok("GET", "/api/topics") == {"topics": ["orders"], "message": ""}
    nodes = admin.ok("GET", "/api/nodes")["nodes"]
    assert len(nodes) == 1 and len(nodes[0]["remote_addresses"]) == 2
    dead = c.lookupds[1]
    dead.stop()
    addr = dead.http_addr
    r = admin.ok("GET", "/api/topics")
    assert r == {"topics": ["orders"],
                 "message": "WARNING: " + refused("Get", f"http://{addr}/topics", addr)}
    r = admin.ok("GET", "/api/nodes")
    assert len(r["nodes"][0]["remote_addresses"]) == 1
    assert r["message"].startswith("WARNING: ")
    r = admin.ok("GET", "/api/topics/orders")
    assert r["message_count"] == 1 and r["message"].startswith("WARNING: ")
    r = admin.ok("POST", "/api/topics", {"topic": "x"})
    assert r["message"] == "WARNING: " + refused(
        "Post", f"http://{addr}/topic/create?topic=x", addr)


def test_lookupd_down(cluster):
    admin = cluster.admin()
    cluster.lookupd.stop()
    addr = cluster.lookupd.http_addr
    r = admin.get("/api/topics")
    assert r.status == 502
    assert r.message == ("UPSTREAM_ERROR: failed to query any nsqlookupd: "
                         + refused("Get", f"http://{addr}/topics", addr))
    for method, path in [("GET", "/api/nodes"), ("GET", "/api/counter"), ("GET", "/api/topics/t")]:
        r = admin.req(method, path)
        assert r.status == 502, path
    assert admin.get("/ping").status == 200


def test_slow_lookupd_is_bounded(recorder_factory, cluster_factory):
    slow = recorder_factory(body=b'{"topics":["a"]}', delay=4)
    c = cluster_factory(lookupds=0, nsqds=0)
    admin = c.admin(f"--lookupd-http-address=127.0.0.1:{slow.port}",
                    "--http-client-request-timeout=500ms", mode="none")
    started = time.monotonic()
    r = admin.get("/api/topics")
    assert time.monotonic() - started < 2.5
    assert r.status == 502
    prefix = f'UPSTREAM_ERROR: failed to query any nsqlookupd: Get "http://127.0.0.1:{slow.port}/topics": '
    assert re.fullmatch(re.escape(prefix) + HEADER_TIMEOUT_RE, r.message), r.message


def test_garbage_from_upstream(recorder_factory, cluster_factory):
    bad = recorder_factory(body=b"<html>not json</html>")
    c = cluster_factory(lookupds=0, nsqds=0)
    admin = c.admin(f"--lookupd-http-address=127.0.0.1:{bad.port}", mode="none")
    r = admin.get("/api/topics")
    assert r.status == 502
    assert r.message == ("UPSTREAM_ERROR: failed to query any nsqlookupd: "
                         "invalid character '<' looking for beginning of value")
    assert admin.alive()


def test_topic_without_producers(cluster):
    assert cluster.lookupd.post("/topic/create?topic=empty")[0] == 200
    admin = cluster.admin()
    r = admin.get("/api/topics/empty")
    assert (r.status, r.json) == (502, {"message": "UPSTREAM_ERROR: failed to query any nsqd: "})
    r = admin.get("/api/topics/empty/c")
    assert r.status == 502


def test_unresolvable_and_refusing_nodes(cluster_factory):
    c = cluster_factory(lookupds=0, nsqds=0)
    port = closed_port()
    admin = c.admin(f"--nsqd-http-address=127.0.0.1:{port}", mode="none")
    r = admin.get("/api/nodes")
    assert r.status == 502
    assert r.message == ("UPSTREAM_ERROR: failed to query any nsqd: "
                         + refused("Get", f"http://127.0.0.1:{port}/info", f"127.0.0.1:{port}"))
    assert json.loads(admin.get("/api/topics?inactive=true").body)["message"].startswith("UPSTREAM_ERROR")
