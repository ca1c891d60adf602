"""nsqlookupd registration database as observed through TCP + HTTP: producers, channels,
ephemeral cleanup, disconnects, tombstones, inactivity, /nodes and /debug.
"""

from __future__ import annotations

import json
import time

from lookupd_fixtures import (  # noqa: F401
    GO_ZERO_TIME_UNIX_NANOS,
    TOPOLOGY,
    compact,
    lookupd,
    lookupd_factory,
    node_json,
    peer_json,
    poll,
)


def lookup(d, topic):
    return d.get_json(f"/lookup?topic={topic}")


def producer_addrs(d, topic):
    return sorted(p["remote_address"] for p in lookup(d, topic)["producers"])


def test_basic_lookupd(lookupd):
    c = lookupd.v1()
    addr = c.local_addr
    assert c.call("REGISTER topic channel1") == b"OK"

    assert lookupd.get("/topics")[2] == b'{"topics":["topic"]}'
    assert lookupd.get("/lookup?topic=topic")[2] == compact(
        {"channels": ["channel1"], "producers": [peer_json(addr)]})
    assert lookupd.get("/nodes")[2] == compact(
        {"producers": [node_json(addr, [False], ["topic"])]})

    c.close()
    poll(lambda: lookup(lookupd, "topic")["producers"] == [])
    assert lookupd.get("/lookup?topic=topic")[2] == b'{"channels":["channel1"],"producers":[]}'
    assert lookupd.get("/nodes")[2] == b'{"producers":[]}'
    assert lookupd.get("/topics")[2] == b'{"topics":["topic"]}'


def test_identify_fields_are_reported(lookupd):
    c = lookupd.v1(identify=False)
    c.identify_ok(broadcast_address="bcast", hostname="myhost", tcp_port=1, http_port=2,
                  version="0.9", remote_address="spoofed:1", topology_zone="z1",
                  topology_region="r1", unknown_field=[1, {"x": None}])
    c.call("REGISTER t")
    want = peer_json(c.local_addr, hostname="myhost", broadcast="bcast", tcp_port=1,
                     http_port=2, version="0.9", zone="z1", region="r1")
    assert lookup(lookupd, "t")["producers"] == [want]
    c.close()


def test_identify_keys_are_case_insensitive(lookupd):
    c = lookupd.v1(identify=False)
    c.send(b"IDENTIFY\n")
    body = json.dumps({"BROADCAST_ADDRESS": "upper", "Tcp_Port": 7, "HTTP_PORT": 8,
                       "Version": "v", "hostname": None}).encode()
    c.send(len(body).to_bytes(4, "big") + body)
    assert json.loads(c.read_response())["version"] == "1.3.0"
    c.call("REGISTER t")
    p = lookup(lookupd, "t")["producers"][0]
    assert (p["broadcast_address"], p["tcp_port"], p["http_port"], p["version"],
            p["hostname"]) == ("upper", 7, 8, "v", "")
    c.close()


def test_channel_unregister_keeps_topic_and_channel(lookupd):
    c = lookupd.v1()
    c.call("REGISTER t ch1")
    assert c.call("UNREGISTER t ch1") == b"OK"
    r = lookup(lookupd, "t")
    assert r["channels"] == ["ch1"]
    assert [p["remote_address"] for p in r["producers"]] == [c.local_addr]
    c.close()


def test_topic_unregister_drops_producer_everywhere(lookupd):
    c = lookupd.v1()
    c.call("REGISTER t c1")
    c.call("REGISTER t c2")
    c.call("REGISTER other")
    assert c.call("UNREGISTER t") == b"OK"
    r = lookup(lookupd, "t")
    assert sorted(r["channels"]) == ["c1", "c2"]
    assert r["producers"] == []
    assert lookupd.get_json("/nodes")["producers"][0]["topics"] == ["other"]
    lookupd.wait_log(r"WARNING: client\(127\.0\.0\.1:\d+\) unexpected UNREGISTER "
                     r"category:channel key:t subkey:c[12]")
    c.close()


def test_ephemeral_channel_removed_when_last_producer_unregisters(lookupd):
    a, b = lookupd.v1(), lookupd.v1(http_port=5151)
    a.call("REGISTER t e#ephemeral")
    b.call("REGISTER t e#ephemeral")
    a.call("REGISTER t plain")
    a.call("UNREGISTER t e#ephemeral")
    assert sorted(lookup(lookupd, "t")["channels"]) == ["e#ephemeral", "plain"]
    b.call("UNREGISTER t e#ephemeral")
    a.call("UNREGISTER t plain")
    assert lookup(lookupd, "t")["channels"] == ["plain"]
    a.close()
    b.close()


def test_ephemeral_topic_removed_but_orphan_channels_stay(lookupd):
    c = lookupd.v1()
    c.call("REGISTER t#ephemeral c#ephemeral")
    c.call("UNREGISTER t#ephemeral c#ephemeral")
    c.call("REGISTER t#ephemeral c#ephemeral")
    c.call("REGISTER t#ephemeral d")
    assert c.call("UNREGISTER t#ephemeral") == b"OK"
    assert lookupd.get_json("/topics") == {"topics": []}
    assert lookupd.get("/lookup?topic=t%23ephemeral")[0] == 404
    assert sorted(lookupd.get_json("/channels?topic=t%23ephemeral")["channels"]) == [
        "c#ephemeral", "d"]
    c.close()


def test_disconnect_keeps_ephemeral_registrations(lookupd):
    c = lookupd.v1()
    c.call("REGISTER t#ephemeral c#ephemeral")
    c.close()
    poll(lambda: lookupd.get_json("/nodes")["producers"] == [])
    assert lookupd.get_json("/topics") == {"topics": ["t#ephemeral"]}
    assert lookup(lookupd, "t%23ephemeral") == {"channels": ["c#ephemeral"], "producers": []}


def test_two_producers_and_partial_disconnect(lookupd):
    a = lookupd.v1(broadcast_address="a")
    b = lookupd.v1(broadcast_address="b")
    a.call("REGISTER t c")
    b.call("REGISTER t")
    assert producer_addrs(lookupd, "t") == sorted([a.local_addr, b.local_addr])
    a.close()
    assert poll(lambda: producer_addrs(lookupd, "t") == [b.local_addr])
    assert lookup(lookupd, "t")["channels"] == ["c"]
    b.close()


def test_tombstone_hides_one_topic_for_its_lifetime(lookupd_factory):
    d = lookupd_factory("--tombstone-lifetime=1s")
    c = d.v1(broadcast_address="node", http_port=4242)
    c.call("REGISTER topicA")
    c.call("REGISTER topicB")
    # wrong node strings do nothing
    d.post("/topic/tombstone?topic=topicA&node=node:1")
    d.post("/topic/tombstone?topic=topicA&node=127.0.0.1:4242")
    assert producer_addrs(d, "topicA") == [c.local_addr]

    st, _, body = d.post("/topic/tombstone?topic=topicA&node=node:4242")
    assert (st, body) == (200, b"")
    assert lookup(d, "topicA")["producers"] == []
    assert producer_addrs(d, "topicB") == [c.local_addr]
    nodes = d.get_json("/nodes")["producers"]
    assert len(nodes) == 1
    tomb = dict(zip(nodes[0]["topics"], nodes[0]["tombstones"]))
    assert tomb == {"topicA": True, "topicB": False}

    assert poll(lambda: producer_addrs(d, "topicA") == [c.local_addr], deadline=5)
    tomb = d.get_json("/nodes")["producers"][0]
    assert tomb["tombstones"] == [False, False]
    c.close()


def test_tombstone_survives_reregister_and_unregister_clears_it(lookupd):
    c = lookupd.v1(broadcast_address="node", http_port=4242)
    c.call("REGISTER t")
    lookupd.post("/topic/tombstone?topic=t&node=node:4242")
    assert c.call("REGISTER t") == b"OK"
    assert lookup(lookupd, "t")["producers"] == []
    c.call("UNREGISTER t")
    c.call("REGISTER t")
    assert producer_addrs(lookupd, "t") == [c.local_addr]
    c.close()


def test_tombstone_then_unregister(lookupd_factory):
    d = lookupd_factory("--tombstone-lifetime=500ms")
    c = d.v1(broadcast_address="node", http_port=4242)
    c.call("REGISTER t")
    d.post("/topic/tombstone?topic=t&node=node:4242")
    c.call("UNREGISTER t")
    time.sleep(0.7)
    assert lookup(d, "t")["producers"] == []
    c.close()


def test_inactive_producers_are_filtered_until_ping(lookupd_factory):
    d = lookupd_factory("--inactive-producer-timeout=1s")
    c = d.v1()
    c.call("REGISTER t")
    assert producer_addrs(d, "t") == [c.local_addr]
    assert poll(lambda: lookup(d, "t")["producers"] == [], deadline=5)
    assert d.get_json("/nodes") == {"producers": []}
    # REGISTER does not refresh liveness, PING does
    c.call("REGISTER t2")
    assert lookup(d, "t")["producers"] == []
    assert c.call("PING") == b"OK"
    assert producer_addrs(d, "t") == [c.local_addr]
    assert len(d.get_json("/nodes")["producers"]) == 1
    c.close()


def test_debug(lookupd):
    c = lookupd.v1(broadcast_address="node", http_port=4242)
    c.call("REGISTER t ch")
    lookupd.post("/topic/create?topic=empty")
    raw = lookupd.get("/debug")[2]
    data = json.loads(raw)
    assert list(data) == ["channel:t:ch", "client::", "topic:t:"]
    entry = data["client::"][0]
    keys = ["broadcast_address", "hostname", "http_port", "id", "last_update", "tcp_port",
            "tombstoned", "tombstoned_at"]
    if TOPOLOGY:
        keys += ["topology_region", "topology_zone"]
    keys.append("version")
    assert list(entry) == keys
    assert entry["id"] == c.local_addr
    assert (entry["broadcast_address"], entry["http_port"], entry["tcp_port"]) == (
        "node", 4242, 4150)
    assert entry["tombstoned"] is False
    assert entry["tombstoned_at"] == GO_ZERO_TIME_UNIX_NANOS
    assert abs(entry["last_update"] - time.time_ns()) < 60 * 10**9

    before = entry["last_update"]
    time.sleep(0.01)
    c.call("PING")
    lookupd.post("/topic/tombstone?topic=t&node=node:4242")
    data = lookupd.get_json("/debug")
    assert data["client::"][0]["last_update"] > before
    assert data["topic:t:"][0]["tombstoned"] is True
    assert abs(data["topic:t:"][0]["tombstoned_at"] - time.time_ns()) < 60 * 10**9
    assert data["channel:t:ch"][0]["tombstoned"] is False
    c.close()
    assert poll(lambda: lookupd.get_json("/debug") == {})


def test_nodes_lists_every_topic_of_a_producer(lookupd):
    c = lookupd.v1()
    for t in ["a", "b", "c"]:
        c.call(f"REGISTER {t} ch")
    node = lookupd.get_json("/nodes")["producers"][0]
    assert sorted(node["topics"]) == ["a", "b", "c"]
    assert node["tombstones"] == [False, False, False]
    c.close()


def test_identified_without_topics(lookupd):
    c = lookupd.v1()
    assert lookupd.get("/nodes")[2] == compact(
        {"producers": [node_json(c.local_addr, [], [])]})
    c.close()


def test_lookup_wildcard_topic_merges_producers(lookupd):
    a = lookupd.v1()
    b = lookupd.v1(http_port=9999)
    a.call("REGISTER x")
    a.call("REGISTER y")
    b.call("REGISTER y")
    assert producer_addrs(lookupd, "*") == sorted([a.local_addr, b.local_addr])
    a.close()
    b.close()


def test_shutdown_closes_clients(lookupd_factory):
    d = lookupd_factory()
    c = d.v1()
    c.call("REGISTER t")
    assert d.stop() == 0
    assert c.read_until_close() == b""
    d.wait_log(r"INFO: TCP: closing 127\.0\.0\.1:\d+")
    d.wait_log(r"INFO: HTTP: closing 127\.0\.0\.1:\d+")
    c.close()
