"""Spec §6.1: nsqd.dat (format, what is excluded, paused flags, invalid names, fatal load
errors) and the exclusive lock on the data path."""

from __future__ import annotations

import json
import os
import stat
import warnings

import pytest

from nsqlib import NSQD_BIN, publish, wait_for
from persistlib import (Consumer, daemons, fatal_line, has_http, metadata_path,  # noqa: F401
                        metadata_summary, read_metadata, run_to_exit, write_metadata)


def _text(dp) -> str:
    try:
        return metadata_path(dp).read_text()
    except OSError:
        return ""


def test_format_and_exclusions(daemons, tmp_path):
    dp = tmp_path / "data"
    d = daemons.start(dp)
    # written at startup, before anything exists (the reference listens before it loads and
    # persists the metadata, hence the wait)
    wait_for(lambda: _text(dp) == '{"topics":null,"version":"1.3.0"}', 5.0, what="nsqd.dat")
    Consumer(d, "t1", "c1").close()
    keep = Consumer(d, "t1", "c2#ephemeral")  # ephemeral channel of a durable topic
    eph = Consumer(d, "t2#ephemeral", "c")  # ephemeral topic
    publish(d, "t3", b"x")  # topic without channels
    assert d.stop() == 0
    keep.close()
    eph.close()

    raw = metadata_path(dp).read_text()
    meta = json.loads(raw)
    assert json.dumps(meta, separators=(",", ":")) == raw, f"compact JSON expected: {raw!r}"
    assert list(meta) == ["topics", "version"] and meta["version"] == "1.3.0"
    for t in meta["topics"]:
        assert list(t) == ["name", "paused", "channels"], t
        for c in t["channels"] or []:
            assert list(c) == ["name", "paused"], c
    assert metadata_summary(meta) == {"t1": (False, {"c1": False}), "t3": (False, {})}
    t3 = next(t for t in meta["topics"] if t["name"] == "t3")
    assert t3["channels"] is None, "a topic without channels has \"channels\":null"
    assert stat.S_IMODE(os.stat(metadata_path(dp)).st_mode) == 0o600
    leftovers = [n for n in os.listdir(dp) if n.startswith("nsqd.dat") and n != "nsqd.dat"]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def test_paused_flags_are_restored(daemons, tmp_path):
    dp = tmp_path / "data"
    written = [
        {"name": "pt", "paused": True, "channels": [{"name": "c", "paused": False}]},
        {"name": "t", "paused": False, "channels": [{"name": "pc", "paused": True},
                                                     {"name": "c", "paused": False}]},
    ]
    # pretty-printed with another version: startup must rewrite it in its own format
    metadata_path(dp).parent.mkdir(parents=True)
    metadata_path(dp).write_text(json.dumps({"topics": written, "version": "0.9.0"}, indent=2))
    want = {"pt": (True, {"c": False}), "t": (False, {"pc": True, "c": False})}

    d = daemons.start(dp)
    raw = wait_for(lambda: '"version":"1.3.0"' in _text(dp) and _text(dp), 5.0,
                   what="nsqd.dat rewritten at startup")
    assert "\n" not in raw, f"not rewritten compactly at startup: {raw!r}"
    assert metadata_summary(json.loads(raw)) == want
    paused_topic = Consumer(d, "pt", "c")
    paused_channel = Consumer(d, "t", "pc")
    live = Consumer(d, "t", "c")
    for c in (paused_topic, paused_channel, live):
        c.rdy(10)
    publish(d, "pt", b"to-paused-topic")
    publish(d, "t", b"to-t")
    assert live.conn.read_message().body == b"to-t"
    paused_topic.conn.expect_nothing(1.0)
    paused_channel.conn.expect_nothing(0.2)
    assert d.stop() == 0
    assert metadata_summary(read_metadata(dp)) == want, "paused flags kept at shutdown"

    d = daemons.start(dp)
    if not has_http(d):
        warnings.warn(UserWarning("paused flags checked through nsqd.dat and delivery only: "
                                  "this nsqd serves no HTTP API (/stats, unpause)"))
        return
    stats = {t["topic_name"]: t for t in d.stats()["topics"]}
    assert stats["pt"]["paused"] is True
    assert {c["channel_name"]: c["paused"] for c in stats["t"]["channels"]} == \
        {"pc": True, "c": False}
    # the pending messages come out once unpaused, and the unpause is persisted at once
    c = Consumer(d, "pt", "c")
    c.rdy(10)
    assert d.http("POST", "/topic/unpause?topic=pt")[0] == 200
    assert c.conn.read_message().body == b"to-paused-topic"
    c2 = Consumer(d, "t", "pc")
    c2.rdy(10)
    assert d.http("POST", "/channel/unpause?topic=t&channel=pc")[0] == 200
    assert c2.conn.read_message().body == b"to-t"
    assert metadata_summary(read_metadata(dp)) == \
        {"pt": (False, {"c": False}), "t": (False, {"pc": False, "c": False})}


def test_invalid_names_are_skipped(daemons, tmp_path):
    dp = tmp_path / "data"
    write_metadata(dp, [
        {"name": "bad topic!", "paused": False, "channels": [{"name": "c", "paused": False}]},
        {"name": "x" * 65, "paused": False, "channels": None},
        {"name": "ok", "paused": False, "channels": [{"name": "bad chan!", "paused": False},
                                                     {"name": "good", "paused": True},
                                                     {"name": "", "paused": False}]},
    ])
    d = daemons.start(dp)
    wait_for(lambda: "bad" not in _text(dp), 5.0, what="nsqd.dat rewritten at startup")
    assert metadata_summary(read_metadata(dp)) == {"ok": (False, {"good": True})}
    publish(d, "ok", b"still works")
    assert d.stop() == 0
    assert metadata_summary(read_metadata(dp)) == {"ok": (False, {"good": True})}


def test_unreadable_metadata_is_fatal(tmp_path):
    dp = tmp_path / "data"
    # root reads any file whatever its mode, so make it unreadable as a file: a directory
    (dp / "nsqd.dat").mkdir(parents=True)
    rc, out = run_to_exit(NSQD_BIN, dp)
    assert rc == 1, f"exit status {rc}:\n{out}"
    want = f"failed to load metadata - failed to read metadata from {dp}/nsqd.dat - "
    assert fatal_line(out).startswith(want), f"want FATAL: {want}...\ngot:\n{out}"


@pytest.mark.parametrize("content", ['{"topics":[', "not json", '{"topics":"x"}', ""],
                         ids=["truncated", "garbage", "wrong-type", "empty"])
def test_invalid_metadata_is_fatal(tmp_path, content):
    dp = tmp_path / "data"
    dp.mkdir()
    (dp / "nsqd.dat").write_text(content)
    rc, out = run_to_exit(NSQD_BIN, dp)
    assert rc == 1, f"exit status {rc}:\n{out}"
    want = f"failed to load metadata - failed to parse metadata in {dp}/nsqd.dat - "
    assert fatal_line(out).startswith(want), f"want FATAL: {want}...\ngot:\n{out}"


def test_locked_data_path_is_refused(daemons, tmp_path):
    dp = tmp_path / "data"
    d = daemons.start(dp)
    rc, out = run_to_exit(NSQD_BIN, dp)
    assert rc == 1, f"exit status {rc}:\n{out}"
    line = fatal_line(out)
    want = f"failed to instantiate nsqd - failed to lock data-path: cannot flock directory {dp} - "
    assert line.startswith(want), f"want FATAL: {want}...\ngot:\n{out}"
    assert line.endswith("(possibly in use by another instance of nsqd)"), line
    publish(d, "t", b"the first daemon is unaffected")
    assert d.stop() == 0
    daemons.start(dp)  # the lock goes with the process
