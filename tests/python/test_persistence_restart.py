"""Spec §6.3: a graceful shutdown (SIGTERM) writes every queued, in-flight and deferred
message to disk, and a restart on the same --data-path delivers each of them exactly once.

50,000 messages with --mem-queue-size=100 (so almost all of them are on disk), a raw
consumer that FINs some, leaves others in flight and REQs two with a delay, and three DPUBs
pending at shutdown; after the restart pynsq consumes everything.

Our extension (skipped against the reference, which delivers deferred messages at once after
a restart): deferred messages still wait for the rest of their delay after the restart.
"""

from __future__ import annotations

import asyncio
import collections
import time

from nsqlib import IS_REFERENCE
from persistlib import Consumer, assert_exactly_once, daemons  # noqa: F401 - fixture
from pynsq_helpers import assert_ok, dpub, mpub, run_scenario, wait_until

N = 50_000
DELAY_MS = 8000
FLAGS = ("--mem-queue-size=100", "--max-bytes-per-file=262144")


def _publish_with_pynsq(d, topic, bodies, deferred):
    """MPUBs `bodies` in batches of 1000, then DPUBs `deferred`; returns their send times."""
    sent = {}

    async def scenario(sc):
        w = await sc.writer(d)
        for start in range(0, len(bodies), 1000):
            assert_ok(await mpub(w, topic, bodies[start:start + 1000]))
        for b in deferred:
            sent[b] = time.monotonic()
            assert_ok(await dpub(w, topic, DELAY_MS, b))

    run_scenario(scenario, timeout=60)
    return sent


def _consume_with_pynsq(d, topic, channel, want):
    """Consumes until every body in `want` arrived, then 1 s more for duplicates; returns
    (delivery count per body, first arrival time per body)."""
    seen = collections.Counter()
    first = {}

    def handler(m):
        seen[m.body] += 1
        first.setdefault(m.body, time.monotonic())
        return True

    async def scenario(sc):
        sc.reader(d, topic, channel, handler, max_in_flight=1000)
        await wait_until(lambda: want <= set(seen), 60, f"all {len(want)} messages")
        await asyncio.sleep(1.0)

    run_scenario(scenario, timeout=75)
    return seen, first


def test_sigterm_restart_delivers_everything_exactly_once(daemons, tmp_path):
    dp = tmp_path / "data"
    bodies = [b"r-%05d" % i for i in range(N)]
    deferred_pub = [b"dpub-%d" % i for i in range(3)]

    d = daemons.start(dp, *FLAGS)
    cons = Consumer(d, "t", "c")  # the channel exists before the first publish
    sent = _publish_with_pynsq(d, "t", bodies, deferred_pub)

    # FIN 1000, then leave whatever else the RDY window brought in flight; REQ two of those
    # with a delay (deferred at shutdown).
    cons.rdy(50)
    finned = set(cons.take(1000, fin=True))
    cons.take(5, fin=False)  # in flight at shutdown, plus whatever else the window holds
    cons.rdy(0)
    cons.take_rest()
    assert len(cons.held) >= 3, f"expected a full RDY window in flight, got {len(cons.held)}"
    requeued = sorted(cons.held)[:2]
    for b in requeued:
        sent[b] = cons.requeue(b, DELAY_MS)
    cons.sync()
    in_flight = set(cons.held)

    assert d.stop() == 0, "graceful shutdown exits 0"
    cons.close()
    d2 = daemons.start(dp, *FLAGS)
    restarted = time.monotonic()

    want = (set(bodies) - finned) | set(deferred_pub)
    seen, first = _consume_with_pynsq(d2, "t", "c", want)
    assert_exactly_once(seen, want, "after SIGTERM + restart")
    assert in_flight <= set(seen) and set(requeued) <= set(seen)

    if not IS_REFERENCE:
        for b in [*requeued, *deferred_pub]:
            due = sent[b] + DELAY_MS / 1000.0
            assert restarted < due, "the restart should happen well within the delay"
            assert first[b] >= due - 0.25, (
                f"{b!r} delivered {due - first[b]:.2f} s before its delay ran out")
