"""GET /metrics: our addition to the reference API (docs/metrics.md). The exposition is parsed
by a strict OpenMetrics text parser and compared with /stats."""

from __future__ import annotations

import pytest

from httplib import get, parse_openmetrics, post, sample_value, stats_json
from nsqlib import IS_REFERENCE, subscribe, wait_for

pytestmark = pytest.mark.skipif(IS_REFERENCE, reason="/metrics is not part of the reference")

CT = "application/openmetrics-text; version=1.0.0; charset=utf-8"

FAMILIES = {
    "nsq_clients": "gauge", "nsq_producers": "gauge", "nsq_healthy": "gauge",
    "nsq_start_time_seconds": "gauge", "nsq_topics": "gauge",
    "nsq_topic_depth": "gauge", "nsq_topic_backend_depth": "gauge",
    "nsq_topic_messages": "counter", "nsq_topic_message_bytes": "counter",
    "nsq_topic_paused": "gauge", "nsq_topic_channels": "gauge",
    "nsq_topic_e2e_processing_latency_seconds": "gauge",
    "nsq_channel_depth": "gauge", "nsq_channel_backend_depth": "gauge",
    "nsq_channel_in_flight": "gauge", "nsq_channel_deferred": "gauge",
    "nsq_channel_clients": "gauge", "nsq_channel_paused": "gauge",
    "nsq_channel_messages": "counter", "nsq_channel_requeued": "counter",
    "nsq_channel_timed_out": "counter",
    "nsq_channel_e2e_processing_latency_seconds": "gauge",
}


def scrape(nsqd):
    r = get(nsqd, "/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type") == CT
    assert r.header("X-Nsq-Content-Type") is None
    return parse_openmetrics(r.text)


def test_empty_daemon(nsqd):
    fams = scrape(nsqd)
    assert {n: f.type for n, f in fams.items()} == FAMILIES
    assert sample_value(fams, "nsq_topics") == 0
    assert sample_value(fams, "nsq_healthy") == 1
    assert sample_value(fams, "nsq_clients") == 0
    start = stats_json(nsqd)["start_time"]
    assert sample_value(fams, "nsq_start_time_seconds") == start
    assert fams["nsq_topic_depth"].samples == []


@pytest.mark.nsqd_args("--e2e-processing-latency-percentile=0.99,0.5")
def test_figures_match_stats(nsqd):
    c = subscribe(nsqd, "mt", "ch", rdy=2)
    assert post(nsqd, "/mpub?topic=mt", b"a\nbb\nccc").status == 200
    m1 = c.read_message()
    m2 = c.read_message()
    c.cmd(b"FIN " + m1.id)
    c.cmd(b"REQ " + m2.id + b" 60000")
    assert post(nsqd, "/topic/create?topic=other").status == 200
    assert post(nsqd, "/topic/pause?topic=other").status == 200
    p = nsqd.conn()
    p.pub("other", b"x")
    p.expect_ok()

    def settled():
        ch = stats_json(nsqd, "topic=mt")["topics"][0]["channels"][0]
        done = (ch["requeue_count"] == 1 and ch["in_flight_count"] == 1
                and ch["e2e_processing_latency"]["count"])
        return ch if done else None
    wait_for(settled, what="FIN and REQ counted")
    fams = scrape(nsqd)
    t = {"topic": "mt"}
    ch = {"topic": "mt", "channel": "ch"}
    assert sample_value(fams, "nsq_topics") == 2
    assert sample_value(fams, "nsq_clients") == 2
    assert sample_value(fams, "nsq_producers") == 1
    assert sample_value(fams, "nsq_topic_messages", **t) == 3
    assert sample_value(fams, "nsq_topic_message_bytes", **t) == 6
    assert sample_value(fams, "nsq_topic_depth", **t) == 0
    assert sample_value(fams, "nsq_topic_channels", **t) == 1
    assert sample_value(fams, "nsq_topic_paused", topic="other") == 1
    assert sample_value(fams, "nsq_topic_depth", topic="other") == 1
    assert sample_value(fams, "nsq_channel_messages", **ch) == 3
    # RDY 2: after the FIN the third message went in flight.
    assert sample_value(fams, "nsq_channel_depth", **ch) == 0
    assert sample_value(fams, "nsq_channel_in_flight", **ch) == 1
    assert sample_value(fams, "nsq_channel_deferred", **ch) == 1
    assert sample_value(fams, "nsq_channel_requeued", **ch) == 1
    assert sample_value(fams, "nsq_channel_timed_out", **ch) == 0
    assert sample_value(fams, "nsq_channel_clients", **ch) == 1
    assert sample_value(fams, "nsq_channel_paused", **ch) == 0
    lat = fams["nsq_channel_e2e_processing_latency_seconds"].samples
    assert sorted(lab["quantile"] for _, lab, _ in lat) == ["0.5", "0.99"]
    assert all(0 < v < 60 for _, _, v in lat), lat
    tlat = fams["nsq_topic_e2e_processing_latency_seconds"].samples
    assert {lab["topic"] for _, lab, _ in tlat} == {"mt"}
    c.close()
    p.close()


def test_deleted_objects_disappear(nsqd):
    assert post(nsqd, "/topic/create?topic=gone").status == 200
    assert post(nsqd, "/channel/create?topic=gone&channel=c").status == 200
    assert sample_value(scrape(nsqd), "nsq_channel_depth", topic="gone", channel="c") == 0
    assert post(nsqd, "/topic/delete?topic=gone").status == 200
    fams = scrape(nsqd)
    assert fams["nsq_channel_depth"].samples == [] and fams["nsq_topic_depth"].samples == []


def test_method_and_logging(nsqd):
    r = post(nsqd, "/metrics")
    assert r.status == 405 and r.header("Allow") == "GET, OPTIONS"
