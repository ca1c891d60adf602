"""Spec §6: a data directory is interchangeable between the reference nsqd (v1.3.0, built by
bench/reference.sh) and the daemon under test, in both directions.

One side runs with --mem-queue-size=100 and small data files, gets topics and channels (one
channel paused, one topic paused), a disk backlog, DPUBs and REQs with a long delay pending,
and a consumer holding messages in flight, and is stopped with SIGTERM. The other side then
starts on that directory and must deliver every message exactly once (paused ones after an
unpause) and keep the paused flags. Our deferred-index sidecar files
(`*.diskqueue.deferred.dat`) must not disturb the reference, which delivers those messages
at once.

Run against the reference itself (NSQD_IS_REFERENCE=1), both sides are the reference: that
validates the expectations.
"""

from __future__ import annotations

import os
import time

from nsqlib import IS_REFERENCE, NSQD_BIN, Nsqd, wait_for
from persistlib import (Consumer, assert_exactly_once, daemons, diskqueue_files,  # noqa: F401
                        dpub, drain, has_http, metadata_summary, mpub_all, read_metadata,
                        reference_nsqd, write_metadata)

FLAGS = ("--mem-queue-size=100", "--max-bytes-per-file=65536")
T1, T2, T3 = 3000, 300, 100
LONG_MS = 60_000
OPEN = [("t1", "c1"), ("t1", "c2"), ("t2", "c")]
PAUSED = [("t2", "cp"), ("t3", "c")]  # channel cp is paused; topic t3 is paused
PAUSED_SUMMARY = {"t1": (False, {"c1": False, "c2": False}),
                  "t2": (False, {"cp": True, "c": False}),
                  "t3": (True, {"c": False})}


def _bodies(prefix: bytes, n: int) -> list[bytes]:
    return [prefix + b"-%05d" % i for i in range(n)]


def _pause(d: Nsqd) -> None:
    assert d.http("POST", "/channel/pause?topic=t2&channel=cp")[0] == 200
    assert d.http("POST", "/topic/pause?topic=t3")[0] == 200


def _unpause(d: Nsqd) -> None:
    assert d.http("POST", "/channel/unpause?topic=t2&channel=cp")[0] == 200
    assert d.http("POST", "/topic/unpause?topic=t3")[0] == 200


def _write_side(d: Nsqd, pause_over_http: bool) -> dict:
    """Fills the daemon as described above and stops it with SIGTERM. Returns the bodies
    each channel must deliver afterwards."""
    cons = Consumer(d, "t1", "c1")
    for t, c in OPEN[1:] + PAUSED:
        Consumer(d, t, c).close()
    if pause_over_http:
        _pause(d)
    t1, t2, t3 = _bodies(b"t1", T1), _bodies(b"t2", T2), _bodies(b"t3", T3)
    mpub_all(d, "t1", t1)
    mpub_all(d, "t2", t2)
    mpub_all(d, "t3", t3)
    deferred = [b"dpub-%d" % i for i in range(3)]
    for b in deferred:
        dpub(d, "t1", LONG_MS, b)
    cons.rdy(20)
    finned = set(cons.take(500, fin=True))
    cons.take(5, fin=False)  # in flight at shutdown, plus whatever else the window holds
    cons.rdy(0)
    cons.take_rest()
    assert len(cons.held) >= 3, f"expected messages in flight, got {len(cons.held)}"
    for b in sorted(cons.held)[:2]:
        cons.requeue(b, LONG_MS)
    cons.sync()
    assert d.stop() == 0, "graceful shutdown exits 0"
    cons.close()
    every_t1 = set(t1) | set(deferred)
    return {("t1", "c1"): every_t1 - finned, ("t1", "c2"): every_t1, ("t2", "c"): set(t2),
            ("t2", "cp"): set(t2), ("t3", "c"): set(t3)}


def _drain_exactly(d: Nsqd, want: dict, channels, who: str) -> None:
    for t, c in channels:
        seen, _ = drain(d, t, c, expect=len(want[(t, c)]), idle=0.5, timeout=60)
        assert_exactly_once(seen, want[(t, c)], f"{who}: {t}/{c}")


def _assert_paused_hold_back(d: Nsqd) -> None:
    conns = [Consumer(d, t, c) for t, c in PAUSED]
    for c in conns:
        c.rdy(10)
    conns[0].conn.expect_nothing(1.0)
    conns[1].conn.expect_nothing(0.1)
    for c in conns:
        c.close()
    # Unpausing while a closed client is still registered lets the reference hand it a
    # message that then sits in flight until its 60 s timeout: wait until they are gone.
    if has_http(d):
        def gone():
            return all((d.channel_stats(t, c) or {}).get("client_count") == 0
                       for t, c in PAUSED)
        wait_for(gone, 10.0, what="closed clients removed")
    else:
        time.sleep(0.5)


def _no_bad_files(dp) -> None:
    bad = [n for n in os.listdir(dp) if n.endswith(".bad")]
    assert not bad, f"files set aside as corrupt: {bad}"


def test_reference_writes_ours_reads(daemons, tmp_path):
    ref = reference_nsqd()
    dp = tmp_path / "data"
    want = _write_side(daemons.start(dp, *FLAGS, binary=ref), pause_over_http=True)
    assert any(".diskqueue." in n for n in diskqueue_files(dp)), "a disk backlog was written"

    ours = daemons.start(dp, *FLAGS)
    assert metadata_summary(read_metadata(dp)) == PAUSED_SUMMARY
    _drain_exactly(ours, want, OPEN, "after the reference wrote")
    _assert_paused_hold_back(ours)
    if has_http(ours):
        _unpause(ours)
        _drain_exactly(ours, want, PAUSED, "after the reference wrote (unpaused)")
    else:
        # no HTTP API to unpause in this build: hand the directory back to the reference,
        # which must find the paused queues intact
        assert ours.stop() == 0
        back = daemons.start(dp, *FLAGS, binary=ref)
        _unpause(back)
        _drain_exactly(back, want, PAUSED, "handed back to the reference (unpaused)")
    _no_bad_files(dp)


def test_ours_writes_reference_reads(daemons, tmp_path):
    ref = reference_nsqd()
    dp = tmp_path / "data"
    # paused flags come from a hand-written nsqd.dat (the daemon may lack the HTTP API)
    write_metadata(dp, [
        {"name": "t1", "paused": False, "channels": [{"name": "c1", "paused": False},
                                                      {"name": "c2", "paused": False}]},
        {"name": "t2", "paused": False, "channels": [{"name": "cp", "paused": True},
                                                      {"name": "c", "paused": False}]},
        {"name": "t3", "paused": True, "channels": [{"name": "c", "paused": False}]},
    ])
    want = _write_side(daemons.start(dp, *FLAGS, binary=NSQD_BIN), pause_over_http=False)
    files = diskqueue_files(dp)
    if not IS_REFERENCE:
        assert any(n.endswith(".diskqueue.deferred.dat") for n in files), (
            f"expected our deferred-index sidecar next to the queues: {files}")

    back = daemons.start(dp, *FLAGS, binary=ref)
    assert metadata_summary(read_metadata(dp)) == PAUSED_SUMMARY
    stats = {t["topic_name"]: t for t in back.stats()["topics"]}
    assert stats["t3"]["paused"] is True
    assert {c["channel_name"]: c["paused"] for c in stats["t2"]["channels"]} == \
        {"cp": True, "c": False}
    _drain_exactly(back, want, OPEN, "reference reading ours")
    _assert_paused_hold_back(back)
    _unpause(back)
    _drain_exactly(back, want, PAUSED, "reference reading ours (unpaused)")
    assert back.stop() == 0
    _no_bad_files(dp)
    log = back.log_path.read_text(errors="replace")
    complaints = [ln for ln in log.splitlines()
                  if "DISKQUEUE" in ln and ("ERROR" in ln or "WARNING" in ln)]
    assert not complaints, "the reference complained about our files:\n" + "\n".join(complaints)
