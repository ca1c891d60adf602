"""statsd pushes over UDP (spec §8.1) and e2e percentiles in them (§8.2), captured by a UDP
socket the test binds on 127.0.0.1."""

from __future__ import annotations

import re

import pytest

from httplib import StatsdSink, get, post, statsd_lines
from nsqlib import IS_REFERENCE, subscribe, wait_for

LINE = re.compile(r"^([\w.#:-]+):(-?\d+)\|([cg])$")
MEM_NAMES = ["mem.heap_objects", "mem.heap_idle_bytes", "mem.heap_in_use_bytes",
             "mem.heap_released_bytes", "mem.gc_pause_usec_100", "mem.gc_pause_usec_99",
             "mem.gc_pause_usec_95", "mem.next_gc_bytes", "mem.gc_runs"]


@pytest.fixture
def sink():
    s = StatsdSink()
    yield s
    s.close()


def start(nsqd_factory, sink, *args):
    return nsqd_factory(f"--statsd-address={sink.address}", "--broadcast-address=127.0.0.1",
                        *args)


def pushes(sink: StatsdSink, count: int, end_name: str, timeout: float = 20.0):
    """Collects datagrams until `count` complete pushes (each ending with the line named
    `end_name`) arrived; returns (lines of each push, datagrams)."""
    got = []
    result: list[list[str]] = []
    cur: list[str] = []

    def done():
        got.extend(sink.collect(0.3))
        result.clear()
        cur.clear()
        for line in statsd_lines(got):
            cur.append(line)
            if line.split(":", 1)[0].endswith(end_name):
                result.append(list(cur))
                cur.clear()
        return len(result) >= count
    wait_for(done, timeout=timeout, interval=0.01, what=f"{count} statsd pushes")
    return result[:count], got


def parse(lines: list[str], prefix: str) -> list[tuple[str, int, str]]:
    out = []
    for line in lines:
        m = LINE.match(line)
        assert m, line
        name, value, kind = m.groups()
        assert name.startswith(prefix), (name, prefix)
        out.append((name[len(prefix):], int(value), kind))
    return out


def channel_names(t: str, c: str, e2e: list[str]) -> list[tuple[str, str]]:
    base = f"topic.{t}.channel.{c}"
    return [(f"{base}.message_count", "c"), (f"{base}.depth", "g"),
            (f"{base}.backend_depth", "g"), (f"{base}.in_flight_count", "g"),
            (f"{base}.deferred_count", "g"), (f"{base}.requeue_count", "c"),
            (f"{base}.timeout_count", "c"), (f"{base}.clients", "g")] + \
        [(f"{base}.e2e_processing_latency_{p}", "g") for p in e2e]


def topic_names(t: str, e2e: list[str]) -> list[tuple[str, str]]:
    base = f"topic.{t}"
    return [(f"{base}.message_count", "c"), (f"{base}.message_bytes", "c"),
            (f"{base}.depth", "g"), (f"{base}.backend_depth", "g")] + \
        [(f"{base}.e2e_processing_latency_{p}", "g") for p in e2e]


def test_push_names_order_and_deltas(nsqd_factory, sink):
    d = start(nsqd_factory, sink, "--statsd-interval=2s",
              "--e2e-processing-latency-percentile=0.999,0.5")
    prefix = f"nsq.127_0_0_1_{d.http_port}."
    assert post(d, "/topic/create?topic=st0").status == 200
    c = subscribe(d, "st1", "ch", rdy=1)
    assert post(d, "/pub?topic=st1", b"hello").status == 200
    m = c.read_message()
    c.cmd(b"FIN " + m.id)
    (first, second), packets = pushes(sink, 2, "mem.gc_runs")
    for _, data in packets:
        assert len(data) <= 508
        assert data.endswith(b"\n")
    p1 = parse(first, prefix)
    expected = (topic_names("st0", []) + topic_names("st1", ["100", "50"]) +
                channel_names("st1", "ch", ["100", "50"]) +
                [(n, "c" if n == "mem.gc_runs" else "g") for n in MEM_NAMES])
    assert [(n, k) for n, _, k in p1] == expected
    v1 = {n: v for n, v, _ in p1}
    assert v1["topic.st1.message_count"] == 1
    assert v1["topic.st1.message_bytes"] == 5
    assert v1["topic.st1.channel.ch.message_count"] == 1
    assert v1["topic.st1.channel.ch.clients"] == 1
    assert v1["topic.st1.channel.ch.in_flight_count"] == 0
    assert v1["mem.gc_runs"] == 0
    assert v1["topic.st1.channel.ch.e2e_processing_latency_100"] > 0
    assert v1["topic.st1.e2e_processing_latency_50"] > 0
    v2 = {n: v for n, v, _ in parse(second, prefix)}
    # Counters are deltas since the previous push; gauges are current values.
    assert v2["topic.st1.message_count"] == 0
    assert v2["topic.st1.message_bytes"] == 0
    assert v2["topic.st1.channel.ch.message_count"] == 0
    assert v2["topic.st1.channel.ch.clients"] == 1
    c.close()


def test_small_packets_and_long_lines(nsqd_factory, sink):
    d = start(nsqd_factory, sink, "--statsd-interval=2s", "--statsd-udp-packet-size=100",
              "--statsd-mem-stats=false")
    long_topic = "t" * 64
    assert post(d, f"/topic/create?topic={long_topic}").status == 200
    assert post(d, f"/channel/create?topic={long_topic}&channel=ch").status == 200
    (push,), packets = pushes(sink, 1, "channel.ch.clients")
    sizes = [len(p) for _, p in packets]
    texts = [p.decode() for _, p in packets]
    for t in texts:
        lines = t.splitlines()
        if len(t) > 100:
            assert len(lines) == 1, "an oversized line travels alone"
        for line in lines:
            assert LINE.match(line), line
    assert max(sizes) > 100
    assert len(packets) >= len(push) - 1
    assert not any(line.startswith("nsq.") and "mem." in line for line in push)


def test_exclude_ephemeral_and_prefix(nsqd_factory, sink):
    d = nsqd_factory(f"--statsd-address={sink.address}", "--statsd-interval=2s",
                     "--statsd-exclude-ephemeral", "--statsd-prefix=", "--statsd-mem-stats=false")
    assert post(d, "/topic/create?topic=keep").status == 200
    assert post(d, "/channel/create?topic=keep&channel=gone%23ephemeral").status == 200
    assert post(d, "/channel/create?topic=keep&channel=stay").status == 200
    assert post(d, "/topic/create?topic=drop%23ephemeral").status == 200
    c = subscribe(d, "keep", "gone#ephemeral")
    (push,), _ = pushes(sink, 1, "channel.stay.clients")
    names = [LINE.match(l).group(1) for l in push]
    assert names[0] == "topic.keep.message_count"
    assert not any("#ephemeral" in n for n in names)
    assert "topic.keep.channel.stay.depth" in names
    c.close()


def test_unreachable_address_is_logged(nsqd_factory):
    d = nsqd_factory("--statsd-address=256.0.0.1:8125", "--statsd-interval=2s")
    wait_for(lambda: "failed to create UDP socket to statsd(256.0.0.1:8125)" in
             d.log_path.read_text(errors="replace"), timeout=15, what="dial failure logged")
    assert get(d, "/ping").body == b"OK"


@pytest.mark.skipif(IS_REFERENCE, reason="the reference panics when --statsd-interval <= 1s")
@pytest.mark.parametrize("interval", ["1s", "200ms"])
def test_short_interval_does_not_panic(nsqd_factory, sink, interval):
    d = start(nsqd_factory, sink, f"--statsd-interval={interval}", "--statsd-mem-stats=false")
    assert post(d, "/topic/create?topic=fast").status == 200
    (a, b), _ = pushes(sink, 2, "topic.fast.backend_depth", timeout=15)
    assert a[0].endswith("topic.fast.message_count:0|c")
    assert get(d, "/ping").body == b"OK"
