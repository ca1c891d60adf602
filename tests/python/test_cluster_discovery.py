"""A real cluster: our nsqlookupd ($NSQLOOKUPD_BIN) and nsqd ($NSQD_BIN) processes on
loopback. Consumers find every nsqd through the lookupds; nsqds that start later are
discovered, stopped ones disappear, tombstones hide a producer for their lifetime, /nodes
lists each node's topics, channels known to lookupd are pre-created on new topics, and
--broadcast-address is what lookupd hands out.
"""

from __future__ import annotations

import socket
import time

import pytest

from cluster_fixtures import (
    Cluster,
    bodies,
    consume_via_lookupds,
    lookup_producers,
    poll,
    producer_ports,
    wait_identified,
    wait_registered,
)
from nsqlib import publish, subscribe


@pytest.fixture
def cluster(tmp_path, request):
    c = Cluster(tmp_path)
    yield c
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(c.logs())
    c.stop()


def test_reader_finds_every_nsqd_through_two_lookupds_and_a_late_one(cluster):
    l1, l2 = cluster.lookupd(), cluster.lookupd()
    nsqds = [cluster.nsqd(lookupds=[l1, l2]) for _ in range(3)]
    expected: set[bytes] = set()
    for i, n in enumerate(nsqds):
        msgs = bodies(f"n{i}", 25)
        publish(n, "disc", *msgs)
        expected |= set(msgs)
    wait_registered([l1, l2], "disc", nsqds)

    def fourth():
        n4 = cluster.nsqd(lookupds=[l1, l2])
        late = bodies("late", 10)
        publish(n4, "disc", *late)
        return set(late)

    got = consume_via_lookupds([l1, l2], "disc", "ch", expected, later=fourth)
    assert len(got) == 85


def test_stopped_nsqd_disappears_from_lookup(cluster):
    l1, l2 = cluster.lookupd(), cluster.lookupd()
    nsqds = [cluster.nsqd(lookupds=[l1, l2]) for _ in range(3)]
    for n in nsqds:
        publish(n, "gone", b"x")
    wait_registered([l1, l2], "gone", nsqds)
    nsqds[1].stop()
    wait_registered([l1, l2], "gone", [nsqds[0], nsqds[2]])
    for d in (l1, l2):
        ports = {p["tcp_port"] for p in d.get_json("/nodes")["producers"]}
        assert ports == {nsqds[0].tcp_port, nsqds[2].tcp_port}


def test_tombstoned_producer_is_hidden_for_the_tombstone_lifetime(cluster):
    d = cluster.lookupd("--tombstone-lifetime=3s")
    n0, n1 = cluster.nsqd(lookupds=[d]), cluster.nsqd(lookupds=[d])
    publish(n0, "tomb", b"x")
    publish(n0, "other", b"x")
    publish(n1, "tomb", b"x")
    wait_registered([d], "tomb", [n0, n1])
    wait_registered([d], "other", [n0])
    status, _, _ = d.post(f"/topic/tombstone?topic=tomb&node=127.0.0.1:{n0.http_port}")
    assert status == 200
    assert producer_ports(d, "tomb") == {n1.tcp_port}
    assert producer_ports(d, "other") == {n0.tcp_port}, "only that topic is tombstoned"
    node = next(p for p in d.get_json("/nodes")["producers"] if p["tcp_port"] == n0.tcp_port)
    assert dict(zip(node["topics"], node["tombstones"])) == {"tomb": True, "other": False}
    # A REGISTER from that nsqd (a new channel) does not lift the tombstone ...
    subscribe(n0, "tomb", "c").close()
    time.sleep(0.3)
    assert producer_ports(d, "tomb") == {n1.tcp_port}
    # ... the lifetime does.
    assert poll(lambda: producer_ports(d, "tomb") == {n0.tcp_port, n1.tcp_port}, 15)


def test_nodes_lists_each_nsqds_topics(cluster):
    d = cluster.lookupd()
    n0, n1 = cluster.nsqd(lookupds=[d]), cluster.nsqd(lookupds=[d])
    for t in ("ta", "tb"):
        publish(n0, t, b"x")
    for t in ("tb", "tc#ephemeral"):
        publish(n1, t, b"x")

    def topics():
        return {p["tcp_port"]: sorted(p["topics"]) for p in d.get_json("/nodes")["producers"]}

    want = {n0.tcp_port: ["ta", "tb"], n1.tcp_port: ["tb", "tc#ephemeral"]}
    assert poll(lambda: topics() == want), topics()
    assert sorted(d.get_json("/topics")["topics"]) == ["ta", "tb", "tc#ephemeral"]


def test_channels_known_to_lookupd_are_precreated_on_a_new_topic(cluster):
    d = cluster.lookupd()
    n = cluster.nsqd(lookupds=[d])
    wait_identified([d], [n])
    for ch in ("first", "second"):
        status, _, body = d.post(f"/channel/create?topic=pre&channel={ch}")
        assert status == 200, body
    d.post("/channel/create?topic=pre&channel=skipped%23ephemeral")
    publish(n, "pre", b"kept for both")
    # Without pre-creation the first subscriber's channel would take the only copy.
    for ch in ("first", "second"):
        with subscribe(n, "pre", ch, rdy=1) as s:
            assert s.read_message().body == b"kept for both"
    channels = poll(lambda: sorted(d.get_json("/lookup?topic=pre")["channels"]) == [
        "first", "second", "skipped#ephemeral"])
    assert channels


def test_lookup_hands_out_the_broadcast_address(cluster):
    d = cluster.lookupd()
    n = cluster.nsqd(lookupds=[d], broadcast="nsqd-bcast.example")
    publish(n, "bn", b"x")
    assert poll(lambda: lookup_producers(d, "bn"))
    (p,) = lookup_producers(d, "bn")
    assert p["broadcast_address"] == "nsqd-bcast.example"
    assert (p["tcp_port"], p["http_port"]) == (n.tcp_port, n.http_port)
    assert p["hostname"] == socket.gethostname()
    assert p["version"] == "1.3.0"
    assert p["remote_address"].startswith("127.0.0.1:")


def test_lookupd_restart_gets_everything_back(cluster):
    d = cluster.lookupd()
    n = cluster.nsqd(lookupds=[d])
    publish(n, "rs", b"x")
    subscribe(n, "rs2", "c").close()
    wait_registered([d], "rs", [n])
    # Same ports again; nsqd reconnects on its next notification (or PING) and re-announces.
    d.restart()
    publish(n, "trigger", b"x")
    wait_registered([d], "trigger", [n], deadline=25)
    wait_registered([d], "rs", [n])
    assert poll(lambda: d.get_json("/lookup?topic=rs2")["channels"] == ["c"])
