"""What nsqd sends to nsqlookupd, byte for byte (spec §8.3, §3.1), observed with a fake
lookupd that records every command: the magic and IDENTIFY JSON, REGISTER/UNREGISTER in
event order, the re-announce after a reconnect, PING, refusals of bad IDENTIFY answers,
no UNREGISTER at shutdown, runtime reconfiguration, and channel pre-creation queries.

Runs against $NSQD_BIN; passes on the reference nsqd too (NSQD_IS_REFERENCE=1).
"""

from __future__ import annotations

import json
import socket
import struct
import time

import pytest

from cluster_fixtures import FakeChannelsHttp, FakeLookupd, nsqd_lacks_topology
from nsqlib import FRAME_MESSAGE, IS_REFERENCE, NSQD_BIN, publish, subscribe, wait_for

LACKS_TOPOLOGY = nsqd_lacks_topology(NSQD_BIN)


@pytest.fixture
def fake():
    f = FakeLookupd()
    yield f
    f.stop()


def start(nsqd_factory, fake: FakeLookupd, *args: str):
    return nsqd_factory(f"--lookupd-tcp-address={fake.addr}", "--broadcast-address=bcast.test",
                        *args)


def expected_identify(nsqd, broadcast="bcast.test", tcp_port=None, http_port=None,
                      region="", zone="") -> bytes:
    fields = {
        "broadcast_address": broadcast,
        "hostname": socket.gethostname(),
        "http_port": http_port or nsqd.http_port,
        "tcp_port": tcp_port or nsqd.tcp_port,
        "topology_region": region,
        "topology_zone": zone,
        "version": "1.3.0",
    }
    if LACKS_TOPOLOGY:
        del fields["topology_region"], fields["topology_zone"]
    # Go marshals a map with sorted keys, compactly, escaping <>& (none here).
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def http_ok(nsqd) -> bool:
    try:
        return nsqd.http("GET", "/ping", timeout=1)[0] == 200
    except OSError:
        return False


def need_http(nsqd):
    if not http_ok(nsqd):
        pytest.skip("nsqd under test has no HTTP API yet")


def test_magic_and_identify_bytes(nsqd_factory, fake):
    n = start(nsqd_factory, fake)
    c = fake.wait_conn(0)
    fake.wait_commands(c, 1)
    assert c.magic == b"  V1"
    body = expected_identify(n)
    assert c.raw.startswith(b"  V1IDENTIFY\n" + struct.pack(">I", len(body)) + body), c.raw
    assert c.commands[0] == ("IDENTIFY", body)


@pytest.mark.skipif(LACKS_TOPOLOGY, reason="reference v1.3.0 has no topology flags")
def test_identify_uses_broadcast_ports_and_topology(nsqd_factory, fake):
    n = start(nsqd_factory, fake, "--broadcast-tcp-port=7001", "--broadcast-http-port=7002",
              "--topology-region=reg", "--topology-zone=zo")
    c = fake.wait_conn(0)
    fake.wait_commands(c, 1)
    assert c.commands[0][1] == expected_identify(n, tcp_port=7001, http_port=7002,
                                                 region="reg", zone="zo")


def dedup(lines: list[str]) -> list[str]:
    """Lines with adjacent repeats collapsed: a REGISTER may legitimately be sent twice
    when a topic is created while the (re)connect re-announce runs (the reference does the
    same), and lookupd treats it idempotently."""
    out: list[str] = []
    for line in lines:
        if not out or out[-1] != line:
            out.append(line)
    return out


def wait_distinct(fake, conn, n: int) -> list[str]:
    """Waits until `conn` has n commands once adjacent repeats are collapsed."""
    fake.wait(lambda: len(dedup(conn.lines())) >= n, 10.0, f"{n} distinct commands")
    with fake.cond:
        return dedup(conn.lines())


def test_register_and_unregister_in_event_order(nsqd_factory, fake):
    n = start(nsqd_factory, fake)
    c = fake.wait_conn(0)
    fake.wait_commands(c, 1)
    publish(n, "lt1", b"m")
    fake.wait_line(c, "REGISTER lt1")
    keep = subscribe(n, "lt1", "c1")
    fake.wait_line(c, "REGISTER lt1 c1")
    eph = subscribe(n, "lt1", "e#ephemeral")
    fake.wait_line(c, "REGISTER lt1 e#ephemeral")
    eph.close()
    fake.wait_line(c, "UNREGISTER lt1 e#ephemeral")
    # An ephemeral topic disappears with its last channel: channel first, then topic (the
    # reference hands each notification to its own goroutine, so its order may vary).
    et = subscribe(n, "et#ephemeral", "c#ephemeral")
    fake.wait_line(c, "REGISTER et#ephemeral c#ephemeral")
    fake.wait_line(c, "REGISTER et#ephemeral")
    et.close()
    lines = wait_distinct(fake, c, 9)[1:]
    assert lines[:4] == [
        "REGISTER lt1",
        "REGISTER lt1 c1",
        "REGISTER lt1 e#ephemeral",
        "UNREGISTER lt1 e#ephemeral",
    ]
    registered = ["REGISTER et#ephemeral", "REGISTER et#ephemeral c#ephemeral"]
    unregistered = ["UNREGISTER et#ephemeral c#ephemeral", "UNREGISTER et#ephemeral"]
    if IS_REFERENCE:
        assert sorted(lines[4:6]) == sorted(registered), lines
        assert sorted(lines[6:]) == sorted(unregistered), lines
    else:
        assert lines[4:] == registered + unregistered
    keep.close()


def test_topic_deletion_unregisters_topic_then_each_channel(nsqd_factory, fake):
    n = start(nsqd_factory, fake)
    need_http(n)
    c = fake.wait_conn(0)
    fake.wait_commands(c, 1)
    assert n.http("POST", "/topic/create?topic=lt1")[0] == 200
    fake.wait_line(c, "REGISTER lt1")
    assert n.http("POST", "/channel/create?topic=lt1&channel=pre1")[0] == 200
    fake.wait_line(c, "REGISTER lt1 pre1")
    assert n.http("POST", "/channel/create?topic=lt1&channel=c1")[0] == 200
    fake.wait_line(c, "REGISTER lt1 c1")
    assert n.http("POST", "/channel/delete?topic=lt1&channel=c1")[0] == 200
    fake.wait_line(c, "UNREGISTER lt1 c1")
    assert n.http("POST", "/topic/delete?topic=lt1")[0] == 200
    lines = wait_distinct(fake, c, 7)[1:]
    assert lines[:4] == ["REGISTER lt1", "REGISTER lt1 pre1", "REGISTER lt1 c1",
                         "UNREGISTER lt1 c1"]
    tail = ["UNREGISTER lt1", "UNREGISTER lt1 pre1"]
    # The reference notifies from one goroutine per event: usually, not always, in order.
    assert (sorted(lines[4:]) == tail) if IS_REFERENCE else (lines[4:] == tail), lines


def test_reconnect_identifies_and_reannounces_before_the_triggering_command(nsqd_factory,
                                                                              fake):
    n = start(nsqd_factory, fake)
    first = fake.wait_conn(0)
    fake.wait_commands(first, 1)
    sub = subscribe(n, "lt2", "pre1")
    publish(n, "lt3", b"m")
    fake.wait_line(first, "REGISTER lt3")
    first.drop()  # the lookupd goes away (e.g. restarts)
    fake.wait_closed(first)
    # The reference loses this notification on the dead connection and reconnects on the
    # next one; ours may notice the closed connection first and reconnect for this one.
    # Either way the new connection starts with IDENTIFY, re-announces everything nsqd
    # has, then sends the triggering command, and nothing is missing afterwards.
    publish(n, "lt4", b"m")
    time.sleep(0.3)
    publish(n, "lt5", b"m")
    second = fake.wait_conn(1)
    fake.wait_line(second, "REGISTER lt5")
    lines = fake.wait_commands(second, 1)
    assert lines[0] == "IDENTIFY"
    assert second.commands[0][1] == expected_identify(n)
    assert {"REGISTER lt2 pre1", "REGISTER lt3", "REGISTER lt4", "REGISTER lt5"} <= set(lines), lines
    assert set(lines[1:]) <= {"REGISTER lt2 pre1", "REGISTER lt3", "REGISTER lt4",
                              "REGISTER lt5"}, lines
    assert lines[-1] in ("REGISTER lt4", "REGISTER lt5"), lines
    sub.close()


def test_ping_every_15_seconds(nsqd_factory, fake):
    start(nsqd_factory, fake)
    c = fake.wait_conn(0)
    fake.wait_commands(c, 1)
    t0 = time.monotonic()
    fake.wait_line(c, "PING", timeout=25)
    assert time.monotonic() - t0 > 5, "PING is a 15 s keep-alive, not immediate"
    assert len(fake.conns) == 1 and not c.closed_by_peer


@pytest.mark.parametrize("reply", [b"E_INVALID", b"E_BAD_BODY IDENTIFY missing fields",
                                   b"not json", b'{"http_port":"4161"}'])
def test_bad_identify_reply_closes_the_connection(nsqd_factory, fake, reply):
    fake.identify_reply = reply
    n = start(nsqd_factory, fake)
    c = fake.wait_conn(0)
    fake.wait_closed(c)
    assert c.lines() == ["IDENTIFY"], "nothing is sent after a refused IDENTIFY"
    # Once the lookupd answers properly, the next attempt registers everything.
    fake.identify_reply = {"tcp_port": 1, "http_port": 1, "version": "1.3.0",
                           "broadcast_address": ""}
    publish(n, "after", b"m")
    fake.wait(lambda: any("REGISTER after" in x.lines() for x in fake.conns), timeout=25,
              what="REGISTER after on a new connection")
    assert not any(x.lines()[1:] and x.lines()[0] != "IDENTIFY" for x in fake.conns)


def test_oversized_reply_closes_the_connection(nsqd_factory, fake):
    fake.oversize_reply = 2000
    start(nsqd_factory, fake, "--max-msg-size=100", "--max-body-size=1000")
    c = fake.wait_conn(0)
    fake.wait_closed(c)
    assert c.lines() == ["IDENTIFY"]


def test_no_unregister_at_shutdown(nsqd_factory, fake):
    n = start(nsqd_factory, fake)
    c = fake.wait_conn(0)
    fake.wait_commands(c, 1)
    durable = subscribe(n, "durable", "d")
    eph = subscribe(n, "durable", "c#ephemeral")
    fake.wait_line(c, "REGISTER durable c#ephemeral")
    before = len(c.lines())
    n.stop()
    fake.wait_closed(c)
    after = c.lines()[before:]
    # Registrations end with the connection. (The reference still forwards the deletion of
    # ephemeral channels whose clients it closes while exiting; we send nothing.)
    assert not [x for x in after if "#ephemeral" not in x], after
    if not IS_REFERENCE:
        assert after == []
    durable.close()
    eph.close()


def test_runtime_reconfiguration_via_http_config(nsqd_factory, fake):
    other = FakeLookupd()
    try:
        n = start(nsqd_factory, fake)
        need_http(n)
        a = fake.wait_conn(0)
        fake.wait_commands(a, 1)
        publish(n, "kept", b"m")
        fake.wait_line(a, "REGISTER kept")
        status, body = n.http("PUT", "/config/nsqlookupd_tcp_addresses",
                              json.dumps([other.addr]).encode())
        assert status == 200, body
        assert json.loads(body) == [other.addr]
        fake.wait_closed(a)
        b = other.wait_conn(0)
        assert other.wait_commands(b, 2) == ["IDENTIFY", "REGISTER kept"]
        status, body = n.http("GET", "/config/nsqlookupd_tcp_addresses")
        assert (status, json.loads(body)) == (200, [other.addr])
        # Adding the first one back connects it again, keeping the other.
        status, _ = n.http("PUT", "/config/nsqlookupd_tcp_addresses",
                           json.dumps([other.addr, fake.addr]).encode())
        assert status == 200
        a2 = fake.wait_conn(1)
        assert fake.wait_commands(a2, 2) == ["IDENTIFY", "REGISTER kept"]
        assert not b.closed_by_peer
    finally:
        other.stop()


@pytest.mark.parametrize("topic", ["pt", "pt#ephemeral"])
def test_channels_are_precreated_from_the_lookupd_http_address(nsqd_factory, fake, topic):
    web = FakeChannelsHttp({topic: ["a", "b#ephemeral", "a"]})
    try:
        fake.identify_reply = {"tcp_port": 1, "http_port": web.port, "version": "1.3.0",
                               "broadcast_address": "127.0.0.1", "hostname": "fake"}
        n = start(nsqd_factory, fake)
        c = fake.wait_conn(0)
        fake.wait_commands(c, 1)
        time.sleep(0.2)  # let nsqd take in the IDENTIFY answer
        publish(n, topic, b"before any consumer")
        fake.wait_line(c, f"REGISTER {topic} a")
        assert f"REGISTER {topic} b#ephemeral" not in c.lines()
        escaped = topic.replace("#", "%23")
        assert web.requests[0][0] == f"/channels?topic={escaped}"
        assert web.requests[0][1]["accept"] == "application/vnd.nsq; version=1.0"
        with subscribe(n, topic, "a", rdy=1) as s:
            m = s.read_message()
            assert m.body == b"before any consumer"
    finally:
        web.stop()


def test_precreation_failure_is_only_logged(nsqd_factory, fake):
    # The lookupd claims an HTTP address where nothing listens: publishing still works.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    dead_port = probe.getsockname()[1]
    probe.close()
    fake.identify_reply = {"tcp_port": 1, "http_port": dead_port, "version": "1.3.0",
                           "broadcast_address": "127.0.0.1"}
    n = start(nsqd_factory, fake)
    c = fake.wait_conn(0)
    fake.wait_commands(c, 1)
    time.sleep(0.2)
    publish(n, "nf", b"x")
    with subscribe(n, "nf", "late", rdy=1) as s:
        ftype, data = s.read_frame_skip_heartbeats()
        assert ftype == FRAME_MESSAGE and data.endswith(b"x")
    wait_for(lambda: "REGISTER nf late" in c.lines(), what="REGISTER nf late")
