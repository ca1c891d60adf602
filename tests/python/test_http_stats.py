"""GET /stats (spec §4.2 `GET /stats`, §3.17; §9.2 TestHTTPClientStats, TestHTTPgetStatus*;
§9.3 TestStats): the JSON document key by key and type by type, the null-versus-empty
quirks, filters, producers and pub_counts, e2e latency, and the text report."""

from __future__ import annotations

import json
import re
import time

import pytest

from httplib import JSON_CT, TEXT_CT, V1_HEADER, V1_VALUE, get, post, stats_json, without_topology
from nsqlib import subscribe, wait_for

TOP_KEYS = ["version", "health", "start_time", "topics", "memory", "producers"]
TOPIC_KEYS = ["topic_name", "channels", "depth", "backend_depth", "message_count",
              "message_bytes", "paused", "e2e_processing_latency"]
CHANNEL_KEYS = ["channel_name", "depth", "backend_depth", "in_flight_count", "deferred_count",
                "message_count", "global_msg_count", "requeue_count", "timeout_count",
                "client_count", "clients", "paused", "e2e_processing_latency"]
CLIENT_KEYS = ["client_id", "hostname", "version", "remote_address", "state", "ready_count",
               "in_flight_count", "message_count", "finish_count", "requeue_count",
               "connect_ts", "sample_rate", "deflate", "snappy", "user_agent",
               "topology_zone", "topology_region", "pub_counts", "tls", "tls_cipher_suite",
               "tls_version", "tls_negotiated_protocol", "tls_negotiated_protocol_is_mutual"]
MEM_KEYS = ["heap_objects", "heap_idle_bytes", "heap_in_use_bytes", "heap_released_bytes",
            "gc_pause_usec_100", "gc_pause_usec_99", "gc_pause_usec_95", "next_gc_bytes",
            "gc_total_runs"]
NULL_E2E = {"count": 0, "percentiles": None}


def ordered(body: bytes):
    """JSON with objects as lists of (key, value) pairs, to check key order."""
    return json.loads(body, object_pairs_hook=lambda pairs: pairs)


def keys(pairs) -> list[str]:
    return [k for k, _ in pairs]


def raw_stats(nsqd, query: str = ""):
    r = get(nsqd, "/stats?format=json" + (("&" + query) if query else ""))
    assert r.status == 200, r
    assert r.header("Content-Type") == JSON_CT
    assert r.header(V1_HEADER) == V1_VALUE
    return r


def check_types(doc: dict) -> None:
    assert isinstance(doc["version"], str) and isinstance(doc["start_time"], int)
    for t in doc["topics"] or []:
        assert isinstance(t["topic_name"], str) and isinstance(t["paused"], bool)
        for k in ("depth", "backend_depth", "message_count", "message_bytes"):
            assert isinstance(t[k], int), k
        for c in t["channels"]:
            for k in ("depth", "backend_depth", "in_flight_count", "deferred_count",
                      "message_count", "requeue_count", "timeout_count", "client_count"):
                assert isinstance(c[k], int), k
            assert c["clients"] is None or isinstance(c["clients"], list)
    for k, v in (doc.get("memory") or {}).items():
        assert isinstance(v, int), k


def test_empty_daemon(nsqd):
    r = raw_stats(nsqd)
    assert re.match(rb'^\{"version":"1\.3\.0","health":"OK","start_time":\d+,"topics":\[\],'
                    rb'"memory":\{"heap_objects":\d+,"heap_idle_bytes":\d+,'
                    rb'"heap_in_use_bytes":\d+,"heap_released_bytes":\d+,'
                    rb'"gc_pause_usec_100":\d+,"gc_pause_usec_99":\d+,"gc_pause_usec_95":\d+,'
                    rb'"next_gc_bytes":\d+,"gc_total_runs":\d+\},"producers":null\}$', r.body), r
    doc = r.json()
    assert abs(doc["start_time"] - time.time()) < 60
    assert doc["start_time"] == get(nsqd, "/info").json()["start_time"]


@pytest.fixture
def scene(nsqd):
    """A consumer (IDENTIFYed, subscribed to t1/ch, 2 delivered, 1 FINed), a producer that
    published 2 messages to t1 and 1 to t2, and an empty topic t0."""
    assert post(nsqd, "/topic/create?topic=t0").status == 200
    c = subscribe(nsqd, "t1", "ch", identify={"client_id": "cid", "hostname": "hA",
                                               "user_agent": "ua/1"}, rdy=5)
    p = nsqd.conn()
    p.pub("t1", b"m1")
    p.pub("t1", b"m2")
    p.pub("t2", b"m3")
    for _ in range(3):
        p.expect_ok()
    m = c.read_message()
    c.read_message()
    c.cmd(b"FIN " + m.id)
    wait_for(lambda: stats_json(nsqd, "topic=t1")["topics"][0]["channels"][0]["clients"][0]
             ["finish_count"] == 1, what="FIN counted")
    yield {"consumer": c, "producer": p}
    c.close()
    p.close()


def test_full_shape(nsqd, scene):
    r = raw_stats(nsqd)
    doc = ordered(r.body)
    assert keys(doc) == TOP_KEYS
    d = dict(doc)
    assert keys(d["memory"]) == MEM_KEYS
    topics = d["topics"]
    assert [dict(t)["topic_name"] for t in topics] == ["t0", "t1", "t2"]
    for t in topics:
        assert keys(t) == TOPIC_KEYS
    t1 = dict(topics[1])
    (ch,) = t1["channels"]
    assert keys(ch) == without_topology(nsqd, CHANNEL_KEYS)
    (cl,) = dict(ch)["clients"]
    assert keys(cl) == without_topology(nsqd, [k for k in CLIENT_KEYS if k != "pub_counts"])
    (prod,) = d["producers"]
    assert keys(prod) == without_topology(nsqd, CLIENT_KEYS)
    check_types(r.json())


def test_values(nsqd, scene):
    doc = stats_json(nsqd)
    assert doc["health"] == "OK"
    t0, t1, t2 = doc["topics"]
    assert t0["channels"] == [] and t0["e2e_processing_latency"] == NULL_E2E
    assert (t1["depth"], t1["backend_depth"], t1["message_count"], t1["message_bytes"]) == \
        (0, 0, 2, 4)
    assert (t2["depth"], t2["message_count"], t2["message_bytes"]) == (1, 1, 2)
    assert t1["paused"] is False and t1["e2e_processing_latency"] == NULL_E2E
    ch = t1["channels"][0]
    assert (ch["channel_name"], ch["depth"], ch["in_flight_count"], ch["deferred_count"],
            ch["message_count"], ch["requeue_count"], ch["timeout_count"],
            ch["client_count"]) == ("ch", 0, 1, 0, 2, 0, 0, 1)
    assert ch.get("global_msg_count", 2) == 2
    assert ch["e2e_processing_latency"] == NULL_E2E
    cl = ch["clients"][0]
    local_port = scene["consumer"].sock.getsockname()[1]
    assert cl["client_id"] == "cid" and cl["hostname"] == "hA" and cl["user_agent"] == "ua/1"
    assert cl["version"] == "V2"
    assert cl["remote_address"] == f"127.0.0.1:{local_port}"
    assert (cl["state"], cl["ready_count"], cl["in_flight_count"], cl["message_count"],
            cl["finish_count"], cl["requeue_count"], cl["sample_rate"]) == (3, 5, 1, 2, 1, 0, 0)
    assert abs(cl["connect_ts"] - time.time()) < 60
    assert (cl["deflate"], cl["snappy"], cl["tls"], cl["tls_negotiated_protocol_is_mutual"]) \
        == (False, False, False, False)
    assert cl["tls_cipher_suite"] == cl["tls_version"] == cl["tls_negotiated_protocol"] == ""
    for absent in ("authed", "auth_identity", "auth_identity_url", "pub_counts",
                   "zone_local_msg_count", "region_local_msg_count", "global_msg_count"):
        assert absent not in cl
    (prod,) = doc["producers"]
    assert prod["client_id"] == "127.0.0.1" and prod["hostname"] == "127.0.0.1"
    assert prod["state"] == 0 and prod["user_agent"] == ""
    assert prod["remote_address"] == f"127.0.0.1:{scene['producer'].sock.getsockname()[1]}"
    # The reference shows only one (arbitrary) entry of a producer's pub_counts.
    assert prod["pub_counts"] in ([{"topic": "t1", "count": 2}], [{"topic": "t2", "count": 1}])


def test_pub_counts_follow_the_topic_filter(nsqd, scene):
    doc = stats_json(nsqd, "topic=t2")
    assert [t["topic_name"] for t in doc["topics"]] == ["t2"]
    assert doc["producers"][0]["pub_counts"] == [{"topic": "t2", "count": 1}]
    doc = stats_json(nsqd, "topic=t1")
    assert doc["producers"][0]["pub_counts"] == [{"topic": "t1", "count": 2}]
    # A producer that did not publish to the filtered topic is still listed, without counts.
    doc = stats_json(nsqd, "topic=t0")
    (prod,) = doc["producers"]
    assert "pub_counts" not in prod


def test_http_publishes_are_not_producers(nsqd):
    assert post(nsqd, "/pub?topic=hx", b"m").status == 200
    assert stats_json(nsqd)["producers"] is None


def test_consumer_that_publishes_is_both(nsqd):
    c = subscribe(nsqd, "both", "ch")
    c.pub("other", b"x")
    c.expect_ok()
    doc = stats_json(nsqd)
    (prod,) = doc["producers"]
    assert prod["state"] == 3 and prod["pub_counts"] == [{"topic": "other", "count": 1}]
    t = next(t for t in doc["topics"] if t["topic_name"] == "both")
    assert t["channels"][0]["clients"][0]["pub_counts"] == [{"topic": "other", "count": 1}]
    c.close()


def test_topic_filter_miss_nulls_topics_and_producers(nsqd, scene):
    r = raw_stats(nsqd, "topic=nope")
    d = dict(ordered(r.body))
    assert d["topics"] is None and d["producers"] is None
    assert keys(ordered(r.body)) == TOP_KEYS


def test_channel_filters(nsqd, scene):
    assert post(nsqd, "/channel/create?topic=t2&channel=other").status == 200
    assert post(nsqd, "/channel/create?topic=t2&channel=ch").status == 200
    doc = stats_json(nsqd, "channel=ch")
    assert [t["topic_name"] for t in doc["topics"]] == ["t1", "t2"]
    assert all([c["channel_name"] for c in t["channels"]] == ["ch"] for t in doc["topics"])
    doc = stats_json(nsqd, "topic=t2&channel=other")
    assert [c["channel_name"] for c in doc["topics"][0]["channels"]] == ["other"]
    # A topic filter whose channel filter matches nothing: [] (not null), producers listed.
    r = raw_stats(nsqd, "topic=t1&channel=nope")
    assert b'"topics":[],' in r.body
    assert r.json()["producers"] is not None
    r = raw_stats(nsqd, "channel=nope")
    assert b'"topics":[],' in r.body
    # Channels are sorted by name.
    names = [c["channel_name"] for c in stats_json(nsqd, "topic=t2")["topics"][0]["channels"]]
    assert names == ["ch", "other"]


def test_include_clients(nsqd, scene):
    for value in ("false", "0"):
        doc = stats_json(nsqd, f"include_clients={value}")
        ch = doc["topics"][1]["channels"][0]
        assert ch["clients"] is None and ch["client_count"] == 1
        assert doc["producers"] is None
    for value in ("true", "1", "bogus", "", "False"):
        doc = stats_json(nsqd, f"include_clients={value}")
        assert doc["topics"][1]["channels"][0]["clients"] != []
        assert doc["producers"] is not None


def test_include_mem(nsqd):
    for value in ("false", "0"):
        r = raw_stats(nsqd, f"include_mem={value}")
        assert keys(ordered(r.body)) == ["version", "health", "start_time", "topics",
                                         "producers"]
    for value in ("true", "yes", "FALSE"):
        assert "memory" in stats_json(nsqd, f"include_mem={value}")


def test_stats_counters(nsqd):
    c = subscribe(nsqd, "cnt", "ch", rdy=3)
    assert post(nsqd, "/mpub?topic=cnt", b"a\nb\nc").status == 200
    msgs = [c.read_message() for _ in range(3)]
    c.cmd(b"REQ " + msgs[0].id + b" 0")
    c.cmd(b"FIN " + msgs[1].id)

    def settled():
        ch = stats_json(nsqd, "topic=cnt")["topics"][0]["channels"][0]
        return ch if ch["requeue_count"] == 1 and ch["clients"][0]["finish_count"] == 1 else None
    ch = wait_for(settled, what="REQ and FIN counted")
    cl = ch["clients"][0]
    assert (ch["message_count"], cl["requeue_count"], cl["finish_count"]) == (3, 1, 1)
    c.close()


def test_paused_flags(nsqd):
    assert post(nsqd, "/topic/create?topic=pz").status == 200
    assert post(nsqd, "/channel/create?topic=pz&channel=ch").status == 200
    assert post(nsqd, "/channel/pause?topic=pz&channel=ch").status == 200
    t = stats_json(nsqd, "topic=pz")["topics"][0]
    assert (t["paused"], t["channels"][0]["paused"]) == (False, True)
    assert post(nsqd, "/topic/pause?topic=pz").status == 200
    assert stats_json(nsqd, "topic=pz")["topics"][0]["paused"] is True


# -- e2e latency ------------------------------------------------------------------------------

@pytest.mark.nsqd_args("--e2e-processing-latency-percentile=1.0,0.5")
def test_e2e_latency(nsqd):
    assert post(nsqd, "/topic/create?topic=lat0").status == 200
    c = subscribe(nsqd, "lat", "ch", rdy=1)
    doc = stats_json(nsqd)
    lat0 = next(t for t in doc["topics"] if t["topic_name"] == "lat0")
    assert lat0["e2e_processing_latency"] == NULL_E2E
    lat = next(t for t in doc["topics"] if t["topic_name"] == "lat")
    zero = {"count": 0, "percentiles": [{"quantile": 1, "value": 0}, {"quantile": 0.5, "value": 0}]}
    assert lat["channels"][0]["e2e_processing_latency"] == zero
    assert lat["e2e_processing_latency"] == zero
    assert post(nsqd, "/pub?topic=lat", b"m").status == 200
    m = c.read_message()
    time.sleep(0.05)
    c.cmd(b"FIN " + m.id)

    def counted():
        t = stats_json(nsqd, "topic=lat")["topics"][0]
        return t if t["channels"][0]["e2e_processing_latency"]["count"] == 1 else None
    t = wait_for(counted, what="latency sample")
    e = t["channels"][0]["e2e_processing_latency"]
    assert [p["quantile"] for p in e["percentiles"]] == [1, 0.5]
    assert all(p["value"] >= 50_000_000 for p in e["percentiles"]), e
    assert all(p["value"] < 60e9 for p in e["percentiles"]), e
    assert t["e2e_processing_latency"]["count"] == 1
    r = raw_stats(nsqd, "topic=lat")
    assert re.search(rb'"e2e_processing_latency":\{"count":1,"percentiles":\['
                     rb'\{"quantile":1,"value":\d+(\.\d+)?\},'
                     rb'\{"quantile":0\.5,"value":\d+(\.\d+)?\}\]\}', r.body), r.body
    # REQ is not a sample.
    c.cmd(b"RDY 1")
    assert post(nsqd, "/pub?topic=lat", b"m2").status == 200
    m = c.read_message()
    c.cmd(b"REQ " + m.id + b" 0")
    time.sleep(0.2)
    assert stats_json(nsqd, "topic=lat")["topics"][0]["channels"][0][
        "e2e_processing_latency"]["count"] == 1
    c.close()


# -- text format -------------------------------------------------------------------------------

GO_DURATION = r"(\d+h)?(\d+m)?\d+(\.\d+)?(s|ms|µs|ns)|0s"


def text_stats(nsqd, query: str = "") -> str:
    r = get(nsqd, "/stats" + (("?" + query) if query else ""))
    assert r.status == 200
    assert r.header("Content-Type") == TEXT_CT
    assert r.header(V1_HEADER) == V1_VALUE
    return r.text


def test_text_empty(nsqd):
    text = text_stats(nsqd)
    lines = text.split("\n")
    assert lines[0].startswith("nsqd v1.3.0 (built w/")
    assert re.fullmatch(r"start_time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", lines[1])
    assert re.fullmatch("uptime (" + GO_DURATION + ")", lines[2]), lines[2]
    assert lines[3:6] == ["", "Health: OK", ""]
    assert lines[6] == "Memory:"
    names = ["heap_objects", "heap_idle_bytes", "heap_in_use_bytes", "heap_released_bytes",
             "gc_pause_usec_100", "gc_pause_usec_99", "gc_pause_usec_95", "next_gc_bytes",
             "gc_total_runs"]
    for name, line in zip(names, lines[7:16]):
        assert re.fullmatch("   " + f"{name:<25}" + r"\t\d+", line), line
    assert text.endswith("\n\nTopics: None\n\nProducers: None\n")
    for q in ("format=text", "format=JSON", "format=", "include_mem=false"):
        t = text_stats(nsqd, q)
        assert ("Memory:" in t) == ("include_mem" not in q)


def test_text_report(nsqd, scene):
    text = text_stats(nsqd, "include_mem=false")
    cport = scene["consumer"].sock.getsockname()[1]
    pport = scene["producer"].sock.getsockname()[1]
    body = text.split("\nHealth: OK\n", 1)[1]
    topic_t0 = "\n   [t0             ] depth: 0     be-depth: 0     msgs: 0        e2e%: \n"
    topic_t1 = "\n   [t1             ] depth: 0     be-depth: 0     msgs: 2        e2e%: \n"
    chan = ("      [ch                       ] depth: 0     be-depth: 0     inflt: 1    def: 0"
            "    re-q: 0     timeout: 0     msgs: 2        e2e%: \n")
    topic_t2 = "\n   [t2             ] depth: 1     be-depth: 0     msgs: 1        e2e%: \n"
    assert body.startswith("\nTopics:" + topic_t0 + topic_t1 + chan), body
    client_id = f"hA:{cport} ua/1"
    consumer = re.escape(f"        [V2 {client_id:<21}] state: 3 inflt: 1    rdy: 5    fin: 1"
                         "        re-q: 0        msgs: 2        connected: ") + r"\d+s\n"
    rest = body[len("\nTopics:" + topic_t0 + topic_t1 + chan):]
    assert re.match(consumer, rest), rest
    assert topic_t2 + "\nProducers:\n" in body
    pid = f"127.0.0.1:{pport} "
    prod = re.search(r"\nProducers:\n   (.*)\n$", body).group(1)
    assert re.fullmatch(re.escape(f"[V2 {pid:<21}] msgs: ") + r"(2 {7}|1 {7}) topics: "
                        r"(t1=2|t2=1) connected: \d+s", prod), prod


def test_text_paused_and_filters(nsqd, scene):
    assert post(nsqd, "/topic/pause?topic=t1").status == 200
    assert post(nsqd, "/channel/pause?topic=t1&channel=ch").status == 200
    text = text_stats(nsqd, "topic=t1&include_clients=false")
    assert "\n*P [t1             ] depth:" in text
    assert "\n   *P [ch                       ] depth:" in text
    assert text.endswith("\n\nProducers: None\n")
    assert "        [V2" not in text
    assert "Topics: None" in text_stats(nsqd, "topic=nope")


@pytest.mark.nsqd_args("--e2e-processing-latency-percentile=0.99,0.5")
def test_text_e2e(nsqd):
    c = subscribe(nsqd, "tl", "ch")
    text = text_stats(nsqd)
    assert "msgs: 0        e2e%: 0.0ns, 0.0ns\n" in text
    assert re.search(r"\[ch {23}\] .* msgs: 0        e2e%: 0\.0ns, 0\.0ns\n", text), text
    c.close()


def test_stats_post_not_allowed(nsqd):
    r = post(nsqd, "/stats")
    assert r.status == 405 and r.json() == {"message": "METHOD_NOT_ALLOWED"}
