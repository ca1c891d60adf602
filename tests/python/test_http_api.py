"""nsqd HTTP API: /ping, /info, router behaviour (404, 405, OPTIONS, redirects, HEAD), the V1
envelope, query parsing errors and the access log (spec §4.1, §4.2, §9.2)."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import time

import pytest

from httplib import (JSON_CT, REFERENCE_HAS_TOPOLOGY, TEXT_CT, V1_HEADER, V1_VALUE, Resp,
                     assert_v1_error, get, has_topology, post, request, without_topology)
from nsqlib import IS_REFERENCE, wait_for


def test_ping_ok(nsqd):
    r = get(nsqd, "/ping")
    assert r.status == 200
    assert r.body == b"OK"
    assert r.header("Content-Type") == TEXT_CT
    assert r.header(V1_HEADER) is None


@pytest.mark.nsqd_args("--mem-queue-size=0", "--max-bytes-per-file=64")
def test_ping_unhealthy_and_pub_exiting(nsqd):
    # Every message goes to disk; once the data directory is gone the disk queue cannot
    # roll to a new file, the write fails, nsqd turns unhealthy and /pub answers 503.
    assert post(nsqd, "/pub?topic=h", b"x" * 40).status == 200
    while nsqd.data_path.exists():
        shutil.rmtree(nsqd.data_path, ignore_errors=True)
    statuses = [post(nsqd, "/pub?topic=h", b"y" * 40).status for _ in range(4)]
    assert 503 in statuses, statuses
    bad = next(s for s in statuses if s != 200)
    assert bad == 503
    r = post(nsqd, "/pub?topic=h", b"z" * 40)
    if r.status == 503:
        assert_v1_error(r, 503, "EXITING")
    r = get(nsqd, "/ping")
    assert r.status == 500, r
    assert r.text.startswith("NOK - "), r
    assert r.header(V1_HEADER) is None
    stats = json.loads(get(nsqd, "/stats?format=json").body)
    assert stats["health"] == r.text


def _ordered(body: bytes) -> list[tuple[str, object]]:
    return json.loads(body, object_pairs_hook=lambda pairs: pairs)


def test_info(nsqd):
    r = get(nsqd, "/info")
    assert r.status == 200
    assert r.header("Content-Type") == JSON_CT
    assert r.header(V1_HEADER) == V1_VALUE
    pairs = _ordered(r.body)
    assert [k for k, _ in pairs] == without_topology(nsqd, [
        "version", "broadcast_address", "hostname", "http_port", "tcp_port", "start_time",
        "max_heartbeat_interval", "max_output_buffer_size", "max_output_buffer_timeout",
        "max_deflate_level", "topology_zone", "topology_region"])
    info = dict(pairs)
    assert info["version"] == "1.3.0"
    assert info["hostname"] == socket.gethostname()
    assert info["broadcast_address"] == socket.gethostname()
    assert info["http_port"] == nsqd.http_port
    assert info["tcp_port"] == nsqd.tcp_port
    assert abs(info["start_time"] - time.time()) < 60
    assert info["max_heartbeat_interval"] == 60_000_000_000
    assert info["max_output_buffer_size"] == 65536
    assert info["max_output_buffer_timeout"] == 30_000_000_000
    assert info["max_deflate_level"] == 6
    if has_topology(nsqd):
        assert info["topology_zone"] == "" and info["topology_region"] == ""


@pytest.mark.nsqd_args("--broadcast-address=bcast.example", "--max-heartbeat-interval=90s",
                       "--max-output-buffer-timeout=2s", "--max-deflate-level=3")
def test_info_reflects_options(nsqd):
    info = get(nsqd, "/info").json()
    assert info["broadcast_address"] == "bcast.example"
    assert info["max_heartbeat_interval"] == 90_000_000_000
    assert info["max_output_buffer_timeout"] == 2_000_000_000
    assert info["max_deflate_level"] == 3


@pytest.mark.skipif(IS_REFERENCE and not REFERENCE_HAS_TOPOLOGY,
                    reason="the reference build (v1.3.0 tag) predates the topology experiment")
def test_info_topology(nsqd_factory):
    d = nsqd_factory("--topology-zone=z1", "--topology-region=r1")
    info = get(d, "/info").json()
    assert (info["topology_zone"], info["topology_region"]) == ("z1", "r1")


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5.0):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


def test_info_over_unix_socket(nsqd_factory, tmp_path):
    sock = tmp_path / "http.sock"
    d = nsqd_factory(f"--http-address={sock}")
    wait_for(sock.exists, what="unix socket file")
    conn = _UnixHTTPConnection(str(sock))
    try:
        conn.request("GET", "/info")
        r = conn.getresponse()
        info = json.loads(r.read())
    finally:
        conn.close()
    assert r.status == 200
    assert info["http_port"] == -1
    assert info["tcp_port"] == d.tcp_port


def test_not_found(nsqd):
    for path in ("/not_found", "/dpub?topic=t", "/put?topic=t", "/mput?topic=t",
                 "/create_topic?topic=t", "/delete_channel?topic=t&channel=c"):
        assert_v1_error(post(nsqd, path, b"x"), 404, "NOT_FOUND")
    assert_v1_error(get(nsqd, "/"), 404, "NOT_FOUND")


def test_method_not_allowed(nsqd):
    r = post(nsqd, "/stats")
    assert_v1_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.header("Allow") == "GET, OPTIONS"
    r = get(nsqd, "/pub?topic=t")
    assert_v1_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.header("Allow") == "OPTIONS, POST"
    r = request(nsqd, "DELETE", "/config/log_level")
    assert_v1_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.header("Allow") == "GET, OPTIONS, PUT"
    # No automatic HEAD.
    r = request(nsqd, "HEAD", "/ping")
    assert r.status == 405


def test_options(nsqd):
    r = request(nsqd, "OPTIONS", "/pub")
    assert r.status == 200
    assert r.body == b""
    assert r.header("Allow") == "OPTIONS, POST"
    assert r.header(V1_HEADER) is None
    r = request(nsqd, "OPTIONS", "/config/msg_timeout")
    assert r.status == 200 and r.header("Allow") == "GET, OPTIONS, PUT"


def test_redirects(nsqd):
    r = get(nsqd, "/ping/")
    assert r.status == 301
    assert r.header("Location") == "/ping"
    assert r.body == b'<a href="/ping">Moved Permanently</a>.\n\n'
    r = get(nsqd, "/PING")
    assert r.status == 301 and r.header("Location") == "/ping"
    r = get(nsqd, "/stats/?format=json")
    assert r.status == 301 and r.header("Location") == "/stats?format=json"
    r = post(nsqd, "/pub/?topic=t", b"x")
    assert r.status == 307
    assert r.header("Location") == "/pub?topic=t"
    assert r.body == b""


def test_header_spelling_on_the_wire(nsqd):
    r = post(nsqd, "/topic/create?topic=spelling")
    assert "X-Nsq-Content-Type" in r.header_names(), r.header_names()
    assert "Content-Length" in r.header_names()


@pytest.mark.parametrize("query", ["topic=%zz", "topic=a;b", "a=1&topic=t&x=%4"])
def test_malformed_query(nsqd, query):
    for path in ("/stats?format=json&", "/topic/create?", "/topic/delete?", "/topic/empty?",
                 "/topic/pause?", "/channel/create?channel=c&", "/pub?", "/mpub?"):
        method = get if path.startswith("/stats") else post
        r = method(nsqd, path + query, **({} if method is get else {"body": b"m"}))
        assert_v1_error(r, 400, "INVALID_REQUEST")


def _log_lines(nsqd) -> list[str]:
    return nsqd.log_path.read_text(errors="replace").splitlines()


def test_access_log(nsqd):
    assert post(nsqd, "/pub?topic=logged", b"m").status == 200
    assert post(nsqd, "/mpub?topic=logged", b"m\nn").status == 200
    assert get(nsqd, "/stats?format=json&topic=logged").status == 200
    assert post(nsqd, "/topic/create?topic=logged2").status == 200
    assert get(nsqd, "/nope").status == 404

    def logged():
        lines = _log_lines(nsqd)
        return (any("200 GET /stats?format=json&topic=logged (127.0.0.1:" in l for l in lines)
                and any("200 POST /topic/create?topic=logged2 (" in l for l in lines)
                and any("404 GET /nope (" in l for l in lines))
    wait_for(logged, what="access log lines")
    lines = _log_lines(nsqd)
    assert not any(" POST /pub?" in l or " POST /mpub?" in l for l in lines)
    line = next(l for l in lines if "200 GET /stats?format=json&topic=logged" in l)
    assert " INFO: " in line


def test_keep_alive_connection_serves_many_requests(nsqd):
    conn = http.client.HTTPConnection(nsqd.host, nsqd.http_port, timeout=5)
    try:
        for i in range(5):
            conn.request("POST", f"/pub?topic=ka", body=f"m{i}".encode())
            r = conn.getresponse()
            assert (r.status, r.read()) == (200, b"OK")
    finally:
        conn.close()
    t = json.loads(get(nsqd, "/stats?format=json&topic=ka").body)["topics"][0]
    assert t["message_count"] == 5


def test_resp_helper_sanity():
    r = Resp(200, [("A", "b")], b"{}")
    assert r.header("a") == "b" and r.json() == {}
