"""Spec §1.4, §1.11 FIN / REQ / TOUCH, §3.4-§3.8: message frames, in-flight handling,
attempts, timeouts, requeue, deferral."""

import re
import time

import pytest

from nsqlib import FRAME_MESSAGE, publish, subscribe, wait_for

HEX16 = re.compile(rb"^[0-9a-f]{16}$")


# -- message frame layout ----------------------------------------------------------------------

def test_message_frame_layout(nsqd):
    before = time.time_ns()
    publish(nsqd, "t", b"hello world")
    after = time.time_ns()
    c = subscribe(nsqd, "t", "c", rdy=1)
    raw = c.read_raw_frame()
    size = int.from_bytes(raw[:4], "big")
    assert size == len(raw) - 4 == 4 + 8 + 2 + 16 + len(b"hello world")
    assert int.from_bytes(raw[4:8], "big") == FRAME_MESSAGE
    ts = int.from_bytes(raw[8:16], "big", signed=True)
    assert before - 5_000_000_000 <= ts <= after + 5_000_000_000, (before, ts, after)
    assert raw[16:18] == b"\x00\x01"  # attempts, first delivery
    assert HEX16.match(raw[18:34]), raw[18:34]
    assert raw[34:] == b"hello world"


def test_binary_body_roundtrip(nsqd):
    payload = bytes(range(256)) * 4 + b"\n\r\x00"
    publish(nsqd, "t", payload)
    c = subscribe(nsqd, "t", "c", rdy=1)
    assert c.read_message().body == payload


def test_ids_unique_and_lowercase_hex(nsqd):
    with nsqd.conn() as p:
        p.mpub("t", [b"%d" % i for i in range(200)])
        p.expect_ok()
    c = subscribe(nsqd, "t", "c", rdy=200)
    ids = set()
    for _ in range(200):
        m = c.read_message()
        assert HEX16.match(m.id), m.id
        ids.add(m.id)
    assert len(ids) == 200


def test_fanout_same_id_on_both_channels(nsqd):
    # TestMultipleConsumerV2
    a = subscribe(nsqd, "t", "c1", rdy=1)
    b = subscribe(nsqd, "t", "c2", rdy=1)
    publish(nsqd, "t", b"x")
    ma, mb = a.read_message(), b.read_message()
    assert ma.id == mb.id and ma.body == mb.body == b"x"
    assert ma.attempts == mb.attempts == 1
    assert ma.timestamp == mb.timestamp


def test_message_published_before_subscribe_delivered(nsqd):
    # TestBasicV2 (topic had no channel yet: messages wait in the topic)
    publish(nsqd, "t", b"early")
    c = subscribe(nsqd, "t", "c", rdy=1)
    m = c.read_message()
    assert m.body == b"early" and m.attempts == 1


# -- FIN / REQ / TOUCH state and parameter errors ---------------------------------------------

@pytest.mark.parametrize("cmd", ["FIN", "REQ", "TOUCH"])
def test_inflight_commands_in_init_are_fatal(nsqd, cmd):
    c = nsqd.conn()
    c.cmd(f"{cmd} 0123456789abcdef 0")
    c.expect_fatal(f"E_INVALID cannot {cmd} in current state")


@pytest.mark.parametrize("line,err", [
    ("FIN", "E_INVALID FIN insufficient number of params"),
    ("REQ", "E_INVALID REQ insufficient number of params"),
    ("REQ 0123456789abcdef", "E_INVALID REQ insufficient number of params"),
    ("TOUCH", "E_INVALID TOUCH insufficient number of params"),
])
def test_inflight_commands_insufficient_params(nsqd, line, err):
    c = subscribe(nsqd, "t", "c")
    c.cmd(line)
    c.expect_fatal(err)


@pytest.mark.parametrize("line", ["FIN ", "FIN 0123456789abcde", "FIN 0123456789abcdef0",
                                  "REQ 0123456789abcde 0", "REQ  0", "TOUCH 0123",
                                  "TOUCH 0123456789abcdef0"])
def test_bad_message_id_length(nsqd, line):
    # TestBadFin
    c = subscribe(nsqd, "t", "c")
    c.cmd(line)
    c.expect_fatal("E_INVALID invalid message ID")


def test_fin_not_in_flight_is_non_fatal(nsqd):
    c = subscribe(nsqd, "t", "c")
    c.cmd("FIN 0123456789abcdef")
    c.expect(bytes.fromhex("0000003d 00000001")
             + b"E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight")
    c.cmd("FIN zzzzzzzzzzzzzzzz")  # content is not validated as hex
    c.expect_error("E_FIN_FAILED FIN zzzzzzzzzzzzzzzz failed ID not in flight")
    c.cmd("REQ 0123456789abcdef 0")
    c.expect_error("E_REQ_FAILED REQ 0123456789abcdef failed ID not in flight")
    c.cmd("TOUCH 0123456789abcdef")
    c.expect_error("E_TOUCH_FAILED TOUCH 0123456789abcdef failed ID not in flight")
    c.expect_nothing(0.3)
    c.assert_alive_subscribed()


@pytest.mark.parametrize("param", ["-1", "abc", "1.5", "+5"])
def test_req_timeout_parse_error(nsqd, param):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", rdy=1)
    m = c.read_message()
    c.cmd(b"REQ " + m.id + b" " + param.encode())
    c.expect_fatal(f"E_INVALID REQ could not parse timeout {param}")


def test_not_owner_errors_are_non_fatal(nsqd):
    a = subscribe(nsqd, "t", "c", rdy=1)
    b = subscribe(nsqd, "t", "c", rdy=0)
    publish(nsqd, "t", b"x")
    m = a.read_message()
    for cmd, code in [(b"FIN", b"E_FIN_FAILED"), (b"REQ", b"E_REQ_FAILED"),
                      (b"TOUCH", b"E_TOUCH_FAILED")]:
        line = cmd + b" " + m.id + (b" 0" if cmd == b"REQ" else b"")
        b.cmd(line)
        b.expect_error(code + b" " + cmd + b" " + m.id + b" failed client does not own message")
    b.assert_alive_subscribed()
    a.cmd(b"FIN " + m.id)
    a.expect_nothing(0.3)
    a.cmd(b"FIN " + m.id)
    a.expect_error(b"E_FIN_FAILED FIN " + m.id + b" failed ID not in flight")


def test_fin_success_has_no_response(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", rdy=1)
    m = c.read_message()
    c.cmd(b"FIN " + m.id)
    c.expect_nothing(0.5)


# -- REQ / attempts -----------------------------------------------------------------------------

def test_req_zero_redelivers_with_attempts_incremented(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", rdy=1)
    first = c.read_message()
    assert first.attempts == 1
    c.cmd(b"REQ " + first.id + b" 0")
    second = c.read_message()
    assert (second.id, second.body, second.timestamp) == (first.id, first.body, first.timestamp)
    assert second.attempts == 2
    c.cmd(b"REQ " + second.id + b" ")  # empty timeout parses as 0
    third = c.read_message()
    assert third.attempts == 3
    c.cmd(b"FIN " + third.id)
    c.expect_nothing(0.3)


def test_req_goes_to_tail_of_queue(nsqd):
    publish(nsqd, "t", b"a", b"b")
    c = subscribe(nsqd, "t", "c", rdy=1)
    m1 = c.read_message()
    c.cmd(b"REQ " + m1.id + b" 0")
    m2 = c.read_message()
    assert m2.body != m1.body
    c.cmd(b"FIN " + m2.id)
    m3 = c.read_message()
    assert m3.id == m1.id and m3.attempts == 2


def test_req_with_delay(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", rdy=1)
    m = c.read_message()
    t0 = time.monotonic()
    c.cmd(b"REQ " + m.id + b" 1000")
    # while deferred it does not occupy the RDY slot, but is not delivered yet
    c.expect_nothing(0.6)
    again = c.read_message(timeout=12)
    elapsed = time.monotonic() - t0
    assert again.id == m.id and again.attempts == 2
    assert elapsed >= 0.9, elapsed


def test_req_deferred_does_not_hold_rdy_slot(nsqd):
    publish(nsqd, "t", b"a", b"b")
    c = subscribe(nsqd, "t", "c", rdy=1)
    m1 = c.read_message()
    c.cmd(b"REQ " + m1.id + b" 60000")
    m2 = c.read_message(timeout=2)
    assert m2.id != m1.id
    wait_for(lambda: (nsqd.channel_stats("t", "c") or {}).get("deferred_count") == 1,
             what="deferred_count == 1")
    ch = nsqd.channel_stats("t", "c")
    assert ch["requeue_count"] == 1 and ch["in_flight_count"] == 1


@pytest.mark.nsqd_args("--max-req-timeout=2s")
def test_req_timeout_clamped_not_rejected(nsqd):
    # TestReqTimeoutRange: a REQ above max is clamped (DPUB above max is rejected)
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", rdy=1)
    m = c.read_message()
    t0 = time.monotonic()
    c.cmd(b"REQ " + m.id + b" 3600000")
    c.expect_nothing(0.5)
    again = c.read_message(timeout=15)
    assert again.id == m.id and again.attempts == 2
    assert 1.8 <= time.monotonic() - t0 < 15


# -- timeouts and TOUCH ----------------------------------------------------------------------------

def test_msg_timeout_redelivers_with_attempts_2(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", identify={"msg_timeout": 1000}, rdy=1)
    m = c.read_message()
    t0 = time.monotonic()
    again = c.read_message(timeout=15)
    assert again.id == m.id and again.attempts == 2
    assert time.monotonic() - t0 >= 0.9


def test_fin_after_timeout_fails(nsqd):
    # TestClientMsgTimeout
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", identify={"msg_timeout": 1000}, rdy=1)
    m = c.read_message()
    c.cmd("RDY 0")
    wait_for(lambda: (nsqd.channel_stats("t", "c") or {}).get("timeout_count") == 1,
             timeout=15, interval=0.1, what="timeout_count == 1")
    ch = nsqd.channel_stats("t", "c")
    assert ch["requeue_count"] == 0 and ch["in_flight_count"] == 0 and ch["depth"] == 1
    c.cmd(b"FIN " + m.id)
    c.expect_error(b"E_FIN_FAILED FIN " + m.id + b" failed ID not in flight")
    c.assert_alive_subscribed()


def test_touch_keeps_message_in_flight(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", identify={"msg_timeout": 1000}, rdy=1)
    m = c.read_message()
    # keep touching for well past the 1 s timeout (and past the 5 s new-channel scan lag)
    end = time.monotonic() + 6.5
    while time.monotonic() < end:
        c.cmd(b"TOUCH " + m.id)
        c.expect_nothing(0.3)  # no response to TOUCH, and no redelivery
    c.cmd(b"FIN " + m.id)
    c.expect_nothing(0.3)  # FIN succeeded (a failure would be an error frame)
    ch = nsqd.channel_stats("t", "c")
    assert ch["timeout_count"] == 0 and ch["in_flight_count"] == 0


@pytest.mark.nsqd_args("--max-msg-timeout=2s")
def test_touch_capped_by_max_msg_timeout(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", identify={"msg_timeout": 2000}, rdy=1)
    m = c.read_message()
    t0 = time.monotonic()
    # touching cannot extend beyond delivery + max-msg-timeout
    while True:
        c.cmd(b"TOUCH " + m.id)
        try:
            ftype, data = c.read_frame_skip_heartbeats(timeout=0.3)
        except TimeoutError:
            assert time.monotonic() - t0 < 15, "TOUCH extended the message past max-msg-timeout"
            continue
        if ftype == FRAME_MESSAGE:
            break
        # TOUCH of a message that has just timed out
        assert data == b"E_TOUCH_FAILED TOUCH " + m.id + b" failed ID not in flight", data
    assert time.monotonic() - t0 >= 1.8


def test_disconnect_does_not_requeue_immediately(nsqd):
    publish(nsqd, "t", b"a")
    a = subscribe(nsqd, "t", "c", identify={"msg_timeout": 1000}, rdy=1)
    m = a.read_message()
    b = subscribe(nsqd, "t", "c", rdy=1)
    a.close()
    # stays in flight until its timeout (not requeued on disconnect) ...
    b.expect_nothing(0.5)
    # ... then goes to the remaining consumer
    again = b.read_message(timeout=15)
    assert again.id == m.id and again.attempts == 2


def test_timeout_count_and_redelivery_to_other_consumer(nsqd):
    publish(nsqd, "t", b"a")
    a = subscribe(nsqd, "t", "c", identify={"msg_timeout": 1000}, rdy=1)
    m = a.read_message()
    a.cmd("RDY 0")
    b = subscribe(nsqd, "t", "c", rdy=1)
    again = b.read_message(timeout=15)
    assert again.id == m.id and again.attempts == 2
    # the old owner can no longer FIN it
    a.cmd(b"FIN " + m.id)
    a.expect_error(b"E_FIN_FAILED FIN " + m.id + b" failed client does not own message")
    b.cmd(b"FIN " + m.id)
    b.expect_nothing(0.3)


# -- output buffering / flushing -----------------------------------------------------------------

def test_rdy_one_flushes_without_waiting_for_timer(nsqd):
    # with RDY 1 the client becomes "not ready" after each message: flush at once
    publish(nsqd, "t", *[b"%d" % i for i in range(50)])
    c = subscribe(nsqd, "t", "c",
                  identify={"output_buffer_timeout": 5000}, rdy=1)
    t0 = time.monotonic()
    for _ in range(50):
        m = c.read_message(timeout=4)
        c.cmd(b"FIN " + m.id)
    assert time.monotonic() - t0 < 4


def test_unbuffered_output(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", identify={"output_buffer_size": -1}, rdy=5)
    assert c.read_message(timeout=2).body == b"a"


@pytest.mark.nsqd_args("--max-output-buffer-size=262144", "--max-output-buffer-timeout=1s")
def test_output_buffering_delays_partial_buffer(nsqd):
    # TestOutputBuffering: a message smaller than the buffer waits for the flush timer
    c = subscribe(nsqd, "t", "c",
                  identify={"output_buffer_size": 256 * 1024, "output_buffer_timeout": 500},
                  rdy=10)
    t0 = time.monotonic()
    publish(nsqd, "t", b"x" * (255 * 1024))
    m = c.read_message(timeout=5)
    assert m.body == b"x" * (255 * 1024)
    assert time.monotonic() - t0 >= 0.45
