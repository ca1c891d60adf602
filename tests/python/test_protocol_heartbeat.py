"""Spec §3.10 heartbeats and the read-deadline disconnect rule; §3.11 ephemeral deletion.

Timing assertions are about the order of events with generous bounds, not tight timings."""

import time

from nsqlib import HEARTBEAT_FRAME, publish, subscribe, wait_for


def test_heartbeats_then_close_after_two_intervals(nsqd):
    c = nsqd.conn()
    c.identify({"heartbeat_interval": 1000})
    c.expect_ok()
    c.cmd("SUB t c")
    c.expect_ok()
    t0 = time.monotonic()
    events = []
    # no commands from us: expect heartbeat frames and then EOF (no error frame)
    while True:
        try:
            raw = c.read_raw_frame(timeout=10)
        except AssertionError:  # ConnClosed
            events.append(("eof", time.monotonic() - t0))
            break
        assert raw == HEARTBEAT_FRAME, raw
        events.append(("hb", time.monotonic() - t0))
    kinds = [e[0] for e in events]
    assert kinds[-1] == "eof"
    assert 1 <= kinds.count("hb") <= 3, events
    assert all(k == "hb" for k in kinds[:-1]), events
    eof_at = events[-1][1]
    assert 1.5 <= eof_at <= 6.0, events


def test_heartbeat_exact_bytes(nsqd):
    c = nsqd.conn()
    c.identify({"heartbeat_interval": 1000})
    c.expect_ok()
    c.expect(bytes.fromhex("0000000f 00000000") + b"_heartbeat_", timeout=5)


def test_heartbeats_in_init_state(nsqd):
    # producers that never SUB also get heartbeats
    c = nsqd.conn()
    c.identify({"heartbeat_interval": 1000})
    c.expect_ok()
    c.expect(HEARTBEAT_FRAME, timeout=5)
    c.cmd("NOP")
    c.expect(HEARTBEAT_FRAME, timeout=5)


def test_nop_keeps_connection_alive(nsqd):
    # TestClientHeartbeat
    c = nsqd.conn()
    c.identify({"heartbeat_interval": 1000})
    c.expect_ok()
    c.cmd("SUB t c")
    c.expect_ok()
    c.cmd("RDY 1")
    beats = 0
    end = time.monotonic() + 4.5
    while time.monotonic() < end:
        c.expect(HEARTBEAT_FRAME, timeout=5)
        beats += 1
        c.cmd("NOP")
    assert beats >= 3
    c.assert_alive_subscribed()


def test_any_command_resets_deadline(nsqd):
    c = nsqd.conn()
    c.identify({"heartbeat_interval": 1000})
    c.expect_ok()
    end = time.monotonic() + 4.5
    beats = 0
    while time.monotonic() < end:
        c.pub("t", b"keepalive")
        while True:  # heartbeats may be interleaved; do not answer them with NOP
            ftype, data = c.read_frame()
            if data == b"_heartbeat_":
                beats += 1
                continue
            assert (ftype, data) == (0, b"OK")
            break
        time.sleep(0.5)
    assert beats >= 2


def test_messages_still_flow_with_heartbeats(nsqd):
    c = subscribe(nsqd, "t", "c", identify={"heartbeat_interval": 1000}, rdy=10)
    for i in range(3):
        publish(nsqd, "t", b"m%d" % i)
        m = c.read_message(timeout=5)  # answers heartbeats with NOP
        c.cmd(b"FIN " + m.id)
        time.sleep(1.0)
    c.assert_alive_subscribed()


def test_producer_with_heartbeats_disabled_stays_connected(nsqd):
    # TestClientHeartbeatDisable (scaled): no heartbeats, no read deadline
    c = nsqd.conn()
    c.identify({"heartbeat_interval": -1})
    c.expect_ok()
    c.pub("t", b"a")
    c.expect_ok()
    c.expect_nothing(3.0)
    c.pub("t", b"b")
    c.expect_ok()


# -- ephemeral topics and channels --------------------------------------------------------------

def _topics(nsqd):
    return {t["topic_name"]: [ch["channel_name"] for ch in t["channels"]]
            for t in nsqd.stats()["topics"] or []}


def test_ephemeral_topic_and_channel_deleted_on_disconnect(nsqd):
    c = subscribe(nsqd, "te#ephemeral", "ch#ephemeral")
    assert _topics(nsqd).get("te#ephemeral") == ["ch#ephemeral"]
    c.close()
    wait_for(lambda: "te#ephemeral" not in _topics(nsqd), timeout=10,
             what="ephemeral topic deleted")


def test_ephemeral_channel_under_persistent_topic(nsqd):
    c = subscribe(nsqd, "tp", "ch#ephemeral")
    d = subscribe(nsqd, "tp", "ch#ephemeral")
    c.close()
    time.sleep(0.5)
    assert _topics(nsqd).get("tp") == ["ch#ephemeral"], "still has one client"
    d.close()
    wait_for(lambda: _topics(nsqd).get("tp") == [], timeout=10,
             what="ephemeral channel deleted, persistent topic kept")


def test_ephemeral_topic_kept_alive_by_persistent_channel(nsqd):
    keep = subscribe(nsqd, "tk#ephemeral", "durable")
    c = subscribe(nsqd, "tk#ephemeral", "ch#ephemeral")
    c.close()
    wait_for(lambda: _topics(nsqd).get("tk#ephemeral") == ["durable"], timeout=10,
             what="ephemeral channel deleted")
    keep.close()
    time.sleep(0.5)
    assert _topics(nsqd).get("tk#ephemeral") == ["durable"]


def test_ephemeral_topic_without_channels_not_deleted(nsqd):
    publish(nsqd, "tn#ephemeral", b"a")
    time.sleep(0.3)
    assert "tn#ephemeral" in _topics(nsqd)


def test_ephemeral_channel_recreated_after_deletion(nsqd):
    c = subscribe(nsqd, "tr", "ch#ephemeral")
    c.close()
    wait_for(lambda: _topics(nsqd).get("tr") == [], timeout=10, what="channel deleted")
    # the topic has no channel now: it keeps this message for the next channel
    publish(nsqd, "tr", b"kept by topic")
    d = subscribe(nsqd, "tr", "ch#ephemeral", rdy=2)
    publish(nsqd, "tr", b"new")
    got = {d.read_message(timeout=5).body, d.read_message(timeout=5).body}
    assert got == {b"kept by topic", b"new"}
