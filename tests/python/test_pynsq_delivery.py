"""pynsq (the official Python client, tornado based) against the daemon under test.

Bounds are generous: these check behaviour, not speed."""

from __future__ import annotations

import asyncio
import collections
import time

import nsq
import pytest

from pynsq_helpers import (assert_ok, dpub, mpub, pub, pub_many, run_scenario, wait_until)


def test_pub_consume_10000_no_loss_no_dup(nsqd):
    n = 10_000
    bodies = [b"msg-%05d" % i for i in range(n)]
    seen = collections.Counter()
    attempts = collections.Counter()

    def handler(m):
        seen[m.body] += 1
        attempts[m.attempts] += 1
        return True

    async def scenario(sc):
        w = await sc.writer(nsqd)
        await pub_many(w, "t10k", bodies)
        sc.reader(nsqd, "t10k", "ch", handler, max_in_flight=200)
        await wait_until(lambda: len(seen) == n, 90, "all 10,000 messages")
        await asyncio.sleep(1.0)  # give duplicates a chance to show up

    run_scenario(scenario, timeout=150)
    assert len(seen) == n and set(seen) == set(bodies)
    dups = {b: c for b, c in seen.items() if c != 1}
    assert not dups, f"{len(dups)} duplicated messages, e.g. {list(dups.items())[:3]}"
    assert attempts == {1: n}


def test_mpub_consume_while_publishing(nsqd):
    n = 10_000
    seen = collections.Counter()

    def handler(m):
        seen[m.body] += 1
        return True

    async def scenario(sc):
        sc.reader(nsqd, "tm", "ch", handler, max_in_flight=100)
        w = await sc.writer(nsqd)
        for start in range(0, n, 100):
            assert_ok(await mpub(w, "tm", [b"m-%05d" % i for i in range(start, start + 100)]))
        await wait_until(lambda: len(seen) == n, 90, "all MPUB messages")
        await asyncio.sleep(1.0)

    run_scenario(scenario, timeout=150)
    assert len(seen) == n and all(c == 1 for c in seen.values())


def test_fanout_two_channels(nsqd):
    n = 1000
    got = {"c1": collections.Counter(), "c2": collections.Counter()}

    def make(ch):
        def handler(m):
            got[ch][m.body] += 1
            return True
        return handler

    async def scenario(sc):
        sc.reader(nsqd, "tf", "c1", make("c1"), max_in_flight=50)
        sc.reader(nsqd, "tf", "c2", make("c2"), max_in_flight=50)
        # both channels must exist before publishing
        await wait_until(lambda: nsqd_channels_ready(sc), 10, "readers subscribed")
        w = await sc.writer(nsqd)
        await pub_many(w, "tf", [b"%d" % i for i in range(n)])
        await wait_until(lambda: len(got["c1"]) == n and len(got["c2"]) == n, 60,
                         "both channels complete")
        await asyncio.sleep(0.5)

    run_scenario(scenario, timeout=90)
    for ch in ("c1", "c2"):
        assert all(c == 1 for c in got[ch].values()), ch


def nsqd_channels_ready(sc) -> bool:
    """Every reader has a connection that completed SUB (pynsq sends RDY after SUB OK)."""
    return all(r.conns and all(c.rdy > 0 or c.last_rdy > 0 for c in r.conns.values())
               for r in sc.readers)


def test_consumers_share_a_channel(nsqd):
    n = 3000
    per_reader = [collections.Counter() for _ in range(3)]

    def make(i):
        def handler(m):
            per_reader[i][m.body] += 1
            return True
        return handler

    async def scenario(sc):
        for i in range(3):
            sc.reader(nsqd, "ts", "shared", make(i), max_in_flight=5)
        await wait_until(lambda: nsqd_channels_ready(sc), 10, "readers subscribed")
        w = await sc.writer(nsqd)
        await pub_many(w, "ts", [b"%d" % i for i in range(n)])
        await wait_until(lambda: sum(len(c) for c in per_reader) >= n, 60, "all delivered")
        await asyncio.sleep(0.5)

    run_scenario(scenario, timeout=90)
    total = collections.Counter()
    for c in per_reader:
        total.update(c)
    assert len(total) == n and all(v == 1 for v in total.values()), "lost or duplicated"
    assert all(len(c) > 0 for c in per_reader), [len(c) for c in per_reader]


def test_requeue_without_delay(nsqd):
    deliveries = []

    def handler(m):
        deliveries.append((m.attempts, time.monotonic()))
        if m.attempts == 1:
            m.requeue(delay=0, backoff=False)
            return None
        return True

    async def scenario(sc):
        w = await sc.writer(nsqd)
        assert_ok(await pub(w, "trq", b"again"))
        sc.reader(nsqd, "trq", "ch", handler)
        await wait_until(lambda: len(deliveries) >= 2, 10, "redelivery")
        await asyncio.sleep(0.5)

    run_scenario(scenario, timeout=30)
    assert [a for a, _ in deliveries] == [1, 2]
    assert deliveries[1][1] - deliveries[0][1] < 5


def test_requeue_with_delay(nsqd):
    deliveries = []

    def handler(m):
        deliveries.append((m.attempts, time.monotonic()))
        if m.attempts == 1:
            m.requeue(delay=2, backoff=False)
            return None
        return True

    async def scenario(sc):
        w = await sc.writer(nsqd)
        assert_ok(await pub(w, "trd", b"later"))
        sc.reader(nsqd, "trd", "ch", handler)
        await wait_until(lambda: len(deliveries) >= 2, 20, "delayed redelivery")
        await asyncio.sleep(0.3)

    run_scenario(scenario, timeout=40)
    assert [a for a, _ in deliveries] == [1, 2]
    assert deliveries[1][1] - deliveries[0][1] >= 1.9


def test_inflight_timeout_redelivers_with_attempts_2(nsqd):
    deliveries = []

    def handler(m):
        deliveries.append((m.attempts, time.monotonic()))
        if m.attempts == 1:
            m.enable_async()  # never answered: times out after msg_timeout
            return None
        return True

    async def scenario(sc):
        w = await sc.writer(nsqd)
        assert_ok(await pub(w, "tto", b"slow"))
        sc.reader(nsqd, "tto", "ch", handler, msg_timeout=1, max_in_flight=2)
        await wait_until(lambda: len(deliveries) >= 2, 20, "redelivery after timeout")
        await asyncio.sleep(0.3)

    run_scenario(scenario, timeout=40)
    assert [a for a, _ in deliveries] == [1, 2]
    assert deliveries[1][1] - deliveries[0][1] >= 0.9


def test_touch_keeps_message_alive(nsqd):
    deliveries = []
    state = {"done": False}

    def handler(m):
        deliveries.append(m.attempts)
        if m.attempts > 1:
            return True  # redelivered: TOUCH did not work
        m.enable_async()
        loop = asyncio.get_running_loop()
        end = time.monotonic() + 6.5  # past the 1 s timeout and the 5 s new-channel lag

        def tick():
            if time.monotonic() >= end:
                m.finish()
                state["done"] = True
                return
            m.touch()
            loop.call_later(0.3, tick)

        loop.call_later(0.3, tick)
        return None

    async def scenario(sc):
        w = await sc.writer(nsqd)
        assert_ok(await pub(w, "ttouch", b"keep me"))
        sc.reader(nsqd, "ttouch", "ch", handler, msg_timeout=1)
        await wait_until(lambda: state["done"], 20, "touch loop finished")
        await asyncio.sleep(2.0)  # no redelivery after FIN either

    run_scenario(scenario, timeout=40)
    assert deliveries == [1]


def test_deferred_publish_not_early(nsqd):
    got = []

    def handler(m):
        got.append((m.body, time.monotonic()))
        return True

    async def scenario(sc):
        sc.reader(nsqd, "tdp", "ch", handler)
        await wait_until(lambda: nsqd_channels_ready(sc), 10, "reader subscribed")
        w = await sc.writer(nsqd)
        t0 = time.monotonic()
        assert_ok(await dpub(w, "tdp", 2000, b"deferred"))
        assert_ok(await pub(w, "tdp", b"immediate"))
        await wait_until(lambda: len(got) >= 2, 20, "both messages")
        return t0

    t0 = run_scenario(scenario, timeout=40)
    bodies = [b for b, _ in got]
    assert bodies == [b"immediate", b"deferred"]
    assert got[1][1] - t0 >= 1.9


def test_one_mib_message(nsqd):
    big = bytes(range(256)) * 4096
    assert len(big) == 1048576
    got = []

    def handler(m):
        got.append(m.body)
        return True

    async def scenario(sc):
        w = await sc.writer(nsqd)
        assert_ok(await pub(w, "tbig", big))
        sc.reader(nsqd, "tbig", "ch", handler)
        await wait_until(lambda: got, 20, "1 MiB message")
        too_big = await pub(w, "tbig", big + b"x")
        return too_big

    too_big = run_scenario(scenario, timeout=40)
    assert got == [big]
    # the error frame reaches the Writer's callback as nsq.Error(<frame data>)
    assert isinstance(too_big, nsq.Error), too_big
    assert too_big.args == (b"E_BAD_MESSAGE PUB message too big 1048577 > 1048576",), \
        too_big.args


@pytest.mark.parametrize("max_in_flight", [1, 50])
def test_prompt_delivery(nsqd, max_in_flight):
    # the peer bug: with RDY 1 each message waited for the 250 ms flush timer (4 msg/s)
    n = 200
    seen = set()

    def handler(m):
        seen.add(m.body)
        return True

    async def scenario(sc):
        w = await sc.writer(nsqd)
        await pub_many(w, "tprompt", [b"%d" % i for i in range(n)])
        sc.reader(nsqd, "tprompt", "ch", handler, max_in_flight=max_in_flight)
        t0 = time.monotonic()
        await wait_until(lambda: len(seen) == n, 20, f"{n} messages")
        return time.monotonic() - t0

    elapsed = run_scenario(scenario, timeout=40)
    assert len(seen) == n
    assert elapsed < 20


def test_reader_stays_connected_across_heartbeats(nsqd):
    got = []
    closes = []

    def handler(m):
        got.append(m.body)
        return True

    async def scenario(sc):
        r = sc.reader(nsqd, "thb", "ch", handler, heartbeat_interval=1)
        await wait_until(lambda: nsqd_channels_ready(sc), 10, "reader subscribed")
        conn = next(iter(r.conns.values()))
        conn.on("close", lambda **kw: closes.append(time.monotonic()))
        beats = []
        conn.on("heartbeat", lambda **kw: beats.append(time.monotonic()))
        await asyncio.sleep(4.5)  # several heartbeat intervals (pynsq answers with NOP)
        w = await sc.writer(nsqd)
        assert_ok(await pub(w, "thb", b"still here"))
        await wait_until(lambda: got, 10, "message after heartbeats")
        assert r.conns and next(iter(r.conns.values())) is conn, "reader reconnected"
        return len(beats), list(closes)  # before our own cleanup closes the connection

    beats, closed = run_scenario(scenario, timeout=40)
    assert beats >= 3
    assert not closed
    assert got == [b"still here"]
