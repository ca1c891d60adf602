"""Acceptance: the reference nsqadmin (bench/.build/bin/nsqadmin, built by bench/reference.sh)
pointed at the nsqd under test with --nsqd-http-address reads /info and /stats and shows our
figures without errors."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest

from nsqlib import REPO, free_port, subscribe, wait_for

NSQADMIN = REPO / "bench" / ".build" / "bin" / "nsqadmin"


@pytest.fixture
def nsqadmin(tmp_path):
    if not NSQADMIN.exists():
        pytest.skip(f"reference nsqadmin not built ({NSQADMIN}); run bench/reference.sh")
    started = []

    def start(nsqd_http: str) -> str:
        port = free_port()
        log = open(tmp_path / "nsqadmin.log", "ab")
        p = subprocess.Popen([str(NSQADMIN), f"--nsqd-http-address={nsqd_http}",
                              f"--http-address=127.0.0.1:{port}"],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        started.append(p)
        base = f"http://127.0.0.1:{port}"

        def up():
            if p.poll() is not None:
                raise AssertionError(f"nsqadmin exited with {p.returncode}")
            try:
                urllib.request.urlopen(base + "/ping", timeout=1).read()
                return True
            except OSError:
                return False
        wait_for(up, timeout=15, what="nsqadmin listening")
        return base

    yield start
    for p in started:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def api(base: str, path: str) -> dict:
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    assert status == 200, (path, status, body)
    doc = json.loads(body)
    assert doc.get("message", "") == "", (path, doc)
    return doc


@pytest.mark.nsqd_args("--broadcast-address=127.0.0.1")
def test_reference_nsqadmin_reads_our_nsqd(nsqd, nsqadmin):
    c = subscribe(nsqd, "adm", "ch", identify={"user_agent": "accept/1.0", "hostname": "cons"},
                  rdy=1)
    p = nsqd.conn()
    for i in range(3):
        p.pub("adm", f"m{i}".encode())
    for _ in range(3):
        p.expect_ok()
    c.read_message()
    p.pub("quiet", b"x")
    p.expect_ok()
    base = nsqadmin(nsqd.http_address)

    assert sorted(api(base, "/api/topics")["topics"]) == ["adm", "quiet"]

    t = api(base, "/api/topics/adm")
    assert t["topic_name"] == "adm" and t["message_count"] == 3
    assert [n["node"] for n in t["nodes"]] == [f"127.0.0.1:{nsqd.http_port}"]
    (ch,) = t["channels"]
    assert (ch["channel_name"], ch["depth"], ch["in_flight_count"], ch["message_count"],
            ch["client_count"]) == ("ch", 2, 1, 3, 1)

    ch = api(base, "/api/topics/adm/ch")
    assert (ch["depth"], ch["in_flight_count"], ch["message_count"]) == (2, 1, 3)
    (node,) = ch["nodes"]
    (client,) = node["clients"]
    assert client["user_agent"] == "accept/1.0" and client["hostname"] == "cons"
    assert client["in_flight_count"] == 1 and client["message_count"] == 1

    nodes = api(base, "/api/nodes")["nodes"]
    (n,) = nodes
    assert (n["broadcast_address"], n["tcp_port"], n["http_port"], n["version"]) == \
        ("127.0.0.1", nsqd.tcp_port, nsqd.http_port, "1.3.0")
    assert sorted(t["topic"] for t in n["topics"]) == ["adm", "quiet"]

    node = api(base, f"/api/nodes/127.0.0.1:{nsqd.http_port}")
    assert node["node"] == f"127.0.0.1:{nsqd.http_port}"
    assert node["total_messages"] == 4
    assert sorted(t["topic_name"] for t in node["topics"]) == ["adm", "quiet"]

    counter = api(base, "/api/counter")
    assert sum(s["message_count"] for s in counter["stats"].values()) == 3
    c.close()
    p.close()
