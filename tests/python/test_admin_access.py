"""nsqadmin access control and configuration surface: --admin-user / --acl-http-header,
/config/:opt with its CIDR check, --base-path, the index page globals (graphite settings passed
to the UI), static assets, and the graphite helpers (/api/graphite, --proxy-graphite)."""

from __future__ import annotations

import re

import pytest

from admin_fixtures import IS_REFERENCE, cluster, cluster_factory, ours_only, recorder_factory  # noqa: F401
from nsqlib import publish

MUTATIONS = [
    ("POST", "/api/topics", {"topic": "t"}),
    ("POST", "/api/topics/orders", {"action": "pause"}),
    ("POST", "/api/topics/orders/billing", {"action": "pause"}),
    ("DELETE", "/api/topics/orders", None),
    ("DELETE", "/api/topics/orders/billing", None),
    ("DELETE", "/api/nodes/127.0.0.1:1", {"topic": "orders"}),
]


def populate(c):
    for n in c.nsqds:
        publish(n, "orders", b"m")
        assert n.http("POST", "/channel/create?topic=orders&channel=billing")[0] == 200
    c.wait_registered("orders", len(c.nsqds))


def index_globals(body: bytes) -> dict:
    text = body.decode()
    return dict(re.findall(r"var (\w+) = (.*?);?\n", text))


@pytest.mark.parametrize("method,path,body", MUTATIONS)
def test_admin_users_guard_every_mutation(cluster, method, path, body):
    populate(cluster)
    admin = cluster.admin("--admin-user=alice", "--admin-user=bob")
    for headers in ({}, {"X-Forwarded-User": "mallory"}):
        r = admin.req(method, path, body, headers=headers)
        assert (r.status, r.json) == (403, {"message": "FORBIDDEN"})
    # the check comes before the body is read
    r = admin.req(method, path, b"garbage", headers={})
    assert r.status == 403
    r = admin.req(method, path, body, headers={"X-Forwarded-User": "bob"})
    assert r.status != 403


def test_reads_need_no_admin(cluster):
    populate(cluster)
    admin = cluster.admin("--admin-user=alice")
    for path in ["/api/topics", "/api/topics/orders", "/api/nodes", "/api/counter"]:
        assert admin.get(path).status == 200, path


def test_custom_acl_header_and_is_admin(cluster):
    admin = cluster.admin("--admin-user=alice", "--acl-http-header=X-Auth-User")
    assert admin.post("/api/topics", {"topic": "t"}, headers={"X-Forwarded-User": "alice"}).status == 403
    assert admin.post("/api/topics", {"topic": "t"}, headers={"X-Auth-User": "alice"}).status == 200
    anon = index_globals(admin.get("/").body)
    assert anon["IS_ADMIN"].strip() == "false"
    ok = index_globals(admin.get("/topics/x", headers={"X-Auth-User": "alice"}).body)
    assert ok["IS_ADMIN"].strip() == "true"


def test_everyone_is_admin_by_default(cluster):
    admin = cluster.admin()
    assert index_globals(admin.get("/").body)["IS_ADMIN"].strip() == "true"


def test_config_read(cluster):
    admin = cluster.admin("--statsd-interval=30s")
    lk = cluster.lookupd.http_addr
    cases = {
        "nsqlookupd_http_addresses": f'["{lk}"]'.encode(),
        "nsqd_http_addresses": b"[]",
        "admin_users": b"[]",
        "log_level": b"2",
        "statsd_interval": b"30000000000",
        "http_client_connect_timeout": b"2000000000",
        "proxy_graphite": b"false",
        "allow_config_from_cidr": b"127.0.0.1/8",
        "log_prefix": b"[nsqadmin] ",
        "acl_http_header": b"X-Forwarded-User",
    }
    for opt, want in cases.items():
        r = admin.get(f"/config/{opt}")
        assert (r.status, r.body) == (200, want), opt
    assert admin.get("/config/log_prefix").headers["Content-Type"] == "text/plain; charset=utf-8"
    r = admin.get("/config/graphite_url")
    assert (r.status, r.body, r.headers.get("Content-Type")) == (200, b"", None)
    for bad in ["bogus", "log-level", "config", "version", "verbose"]:
        r = admin.get(f"/config/{bad}")
        assert (r.status, r.json) == (400, {"message": "INVALID_OPTION"}), bad


def test_config_write(cluster_factory):
    c = cluster_factory(lookupds=2, nsqds=1)
    populate(c)
    first, second = c.lookupds
    admin = c.admin(f"--lookupd-http-address={first.http_addr}", mode="none")
    new = f'["{second.http_addr}","{first.http_addr}"]'.encode()
    r = admin.req("PUT", "/config/nsqlookupd_http_addresses", new)
    assert (r.status, r.body) == (200, new)
    nodes = admin.ok("GET", "/api/nodes")["nodes"]
    assert len(nodes[0]["remote_addresses"]) == 2, "later requests use the new list"
    assert f'"{second.http_addr}"' in admin.get("/").body.decode(), "and so does the UI"
    r = admin.req("PUT", "/config/log_level", b"debug")
    assert (r.status, r.body) == (200, b"1")
    assert admin.get("/config/log_level").body == b"1"
    assert admin.req("PUT", "/config/log_level", b"WARN").body == b"3"
    for opt, body, status, msg in [
        ("log_level", b"loud", 400, "INVALID_VALUE"),
        ("log_level", b"", 413, "INVALID_VALUE"),
        ("nsqlookupd_http_addresses", b"not json", 400, "INVALID_VALUE"),
        ("nsqlookupd_http_addresses", b"x" * (1024 * 1024 + 1), 413, "INVALID_VALUE"),
        ("statsd_interval", b"5s", 400, "INVALID_OPTION"),
        ("bogus", b"1", 400, "INVALID_OPTION"),
    ]:
        r = admin.req("PUT", f"/config/{opt}", body)
        assert (r.status, r.json) == (status, {"message": msg}), opt


def test_config_cidr(cluster):
    admin = cluster.admin("--allow-config-from-cidr=10.0.0.0/8")
    for method in ("GET", "PUT"):
        r = admin.req(method, "/config/log_level", b"debug")
        assert (r.status, r.json) == (403, {"message": "FORBIDDEN"})
    open_admin = cluster.admin("--allow-config-from-cidr=")
    assert open_admin.get("/config/log_level").body == b"2"


def test_base_path(cluster):
    populate(cluster)
    admin = cluster.admin("--base-path=adm/")
    assert admin.base == "/adm"
    assert admin.ok("GET", "/api/topics")["topics"] == ["orders"]
    assert admin.get("/config/base_path").body == b"/adm"
    root = admin.req("GET", "", headers={})
    assert root.status == 200 and b"<!doctype html>" in root.body.lower()
    from admin_fixtures import request
    r = request(admin.port, "GET", "/adm/")
    assert (r.status, r.headers["Location"]) == (301, "/adm")
    r = request(admin.port, "GET", "/")
    assert (r.status, r.json) == (404, {"message": "NOT_FOUND"})
    r = request(admin.port, "GET", "/api/topics")
    assert r.status == 404
    for page in ["/topics/orders", "/topics/orders/billing", "/nodes", "/nodes/x", "/counter", "/lookup"]:
        assert admin.get(page).status == 200, page


@ours_only
def test_index_page(cluster):
    admin = cluster.admin("--base-path=/adm", "--graphite-url=http://graphite.example:8080",
                          "--statsd-prefix=nsq.%s.x", "--statsd-interval=10s",
                          "--statsd-counter-format=c.%s", "--statsd-gauge-format=g.%s")
    r = admin.get("/topics/orders")
    assert r.headers["Content-Type"].startswith("text/html")
    g = index_globals(r.body)
    assert g["VERSION"] == '"1.3.0"'
    assert g["USER_AGENT"] == '"nsqadmin/v1.3.0"'
    assert g["GRAPHITE_URL"] == '"http://graphite.example:8080"'
    assert g["GRAPH_ENABLED"] == "true"
    assert g["STATSD_PREFIX"] == '"nsq.%s.x"'
    assert g["STATSD_INTERVAL"] == "10"
    assert g["STATSD_COUNTER_FORMAT"] == '"c.%s"'
    assert g["STATSD_GAUGE_FORMAT"] == '"g.%s"'
    assert g["NSQLOOKUPD"] == f'["{cluster.lookupd.http_addr}"]'
    assert g["BASE_PATH"] == '"/adm"'
    assert 'src="/adm/static/main.js"' in r.body.decode()
    proxied = cluster.admin("--graphite-url=http://graphite.example:8080", "--proxy-graphite")
    assert index_globals(proxied.get("/").body)["GRAPHITE_URL"] == '""'
    plain = cluster.admin()
    assert index_globals(plain.get("/").body)["GRAPH_ENABLED"] == "false"


@ours_only
def test_static_assets(cluster, tmp_path):
    admin = cluster.admin()
    r = admin.get("/static/main.js")
    assert r.status == 200 and r.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert r.headers.get("X-NSQ-Content-Type") is None
    assert admin.get("/static/base.css").headers["Content-Type"] == "text/css; charset=utf-8"
    assert admin.get("/fonts/favicon.svg").headers["Content-Type"] == "image/svg+xml"
    r = admin.get("/static/nope.js")
    assert (r.status, r.body) == (404, b"NOT_FOUND")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    (tmp_path / "custom.js").write_text("console.log('dev')")
    dev = cluster.admin(f"--dev-static-dir={tmp_path}")
    assert dev.get("/static/custom.js").body == b"console.log('dev')"
    assert dev.get("/static/main.js").status == 404


def test_graphite_rate(cluster, recorder_factory):
    graphite = recorder_factory(body=b'[{"target":"x","datapoints":[[123,1700000000]]}]')
    admin = cluster.admin(f"--graphite-url={graphite.url}")
    assert admin.get("/api/graphite?metric=rate&target=sumSeries(a.b)").body == b'{"rate":"2.05"}'
    (req,) = graphite.requests
    assert req["path"] == "/render?format=json&from=-120sec&target=sumSeries%28a.b%29&until=-60sec"
    for q, msg in [("", "INVALID_ARG_METRIC"), ("?metric=sum&target=x", "INVALID_ARG_METRIC"),
                   ("?metric=rate", "INVALID_ARG_TARGET"), ("?metric=rate&target=%zz", "INVALID_REQUEST")]:
        r = admin.get("/api/graphite" + q)
        assert (r.status, r.json) == (400, {"message": msg}), q


@ours_only
def test_graphite_rate_errors(cluster, recorder_factory):
    """The reference crashes (nil dereference → 500) on these; we answer 500 cleanly."""
    for body in [b"[]", b'[{"target":"x","datapoints":[]}]', b'[{"target":"x","datapoints":[[null,1]]}]']:
        graphite = recorder_factory(body=body)
        admin = cluster.admin(f"--graphite-url={graphite.url}")
        r = admin.get("/api/graphite?metric=rate&target=x")
        assert (r.status, r.json) == (500, {"message": "INTERNAL_ERROR"}), body
    graphite = recorder_factory(body=b'[{"target":"x","datapoints":[[-5,1]]}]')
    admin = cluster.admin(f"--graphite-url={graphite.url}")
    assert admin.ok("GET", "/api/graphite?metric=rate&target=x") == {"rate": "N/A"}


def test_graphite_proxy(cluster, recorder_factory):
    graphite = recorder_factory(body=b'{"graph":1}')
    base = graphite.url.replace("http://", "http://user:secret@")
    admin = cluster.admin(f"--graphite-url={base}", "--proxy-graphite", "--base-path=/adm")
    r = admin.get("/render?target=a&from=-1h")
    assert (r.status, r.body) == (200, b'{"graph":1}')
    (req,) = graphite.requests
    assert req["path"] == "/adm/render?target=a&from=-1h"
    assert req["headers"]["authorization"] == "Basic dXNlcjpzZWNyZXQ="
    # without --proxy-graphite there is no /render route
    assert cluster.admin().get("/render").status == 404
