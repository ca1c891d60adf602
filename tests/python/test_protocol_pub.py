"""Spec §1.11 PUB / MPUB / DPUB: every error in order, size limits (TestSizeLimits), the MPUB
desync quirk, DPUB ranges and deferral (TestDPUB)."""

import struct
import time

import pytest

from nsqlib import OK_FRAME, body, mpub_body, publish, subscribe, wait_for

SIZE_FLAGS = ("--max-msg-size=100", "--max-body-size=1000")


# -- PUB --------------------------------------------------------------------------------------

def test_pub_ok(nsqd):
    c = nsqd.conn()
    c.pub("t", b"a")
    c.expect_ok()
    s = subscribe(nsqd, "t", "c", rdy=5)
    assert s.read_message().body == b"a"
    s.expect_nothing(0.3)


@pytest.mark.parametrize("line", ["PUB", "PUB "])
def test_pub_insufficient_params(nsqd, line):
    c = nsqd.conn()
    if line == "PUB":
        c.cmd(line)
        c.expect_fatal("E_INVALID PUB insufficient number of parameters")
    else:
        # "PUB " has an empty topic param, which is an invalid name
        c.cmd(line)
        c.expect_fatal('E_BAD_TOPIC PUB topic name "" is not valid')


def test_pub_bad_topic_body_not_read(nsqd):
    c = nsqd.conn()
    c.cmd("PUB bad$topic")  # no body follows: the name is checked first
    c.expect_fatal('E_BAD_TOPIC PUB topic name "bad$topic" is not valid')


def test_pub_size_zero(nsqd):
    c = nsqd.conn()
    c.send(b"PUB t\n\x00\x00\x00\x00")
    c.expect_fatal("E_BAD_MESSAGE PUB invalid message body size 0")


def test_pub_size_negative(nsqd):
    c = nsqd.conn()
    c.send(b"PUB t\n\xff\xff\xff\xf6")
    c.expect_fatal("E_BAD_MESSAGE PUB invalid message body size -10")


def test_pub_too_big_default(nsqd):
    c = nsqd.conn()
    c.send(b"PUB t\n" + struct.pack(">i", 1048577))
    c.expect_fatal("E_BAD_MESSAGE PUB message too big 1048577 > 1048576")


def test_pub_truncated_size(nsqd):
    c = nsqd.conn()
    c.send(b"PUB t\n\x00\x00")
    c.shutdown_write()
    c.expect_fatal("E_BAD_MESSAGE PUB failed to read message body size")


def test_pub_truncated_body(nsqd):
    c = nsqd.conn()
    c.send(b"PUB t\n\x00\x00\x00\x0aabc")
    c.shutdown_write()
    c.expect_fatal("E_BAD_MESSAGE PUB failed to read message body")


def test_pub_creates_topic_and_counts(nsqd):
    c = nsqd.conn()
    for i in range(3):
        c.pub("t2", b"x" * (i + 1))
        c.expect_ok()
    t = nsqd.topic_stats("t2")
    assert t["message_count"] == 3 and t["message_bytes"] == 6 and t["depth"] == 3
    assert t["channels"] == []


def test_pub_while_subscribed(nsqd):
    c = subscribe(nsqd, "t", "c", rdy=1)
    c.pub("t", b"self")
    ftype, data = c.read_frame()
    # the OK response and the message may come in either order
    frames = [(ftype, data), c.read_frame()]
    kinds = sorted(f[0] for f in frames)
    assert kinds == [0, 2]
    assert (0, b"OK") in frames


def test_pub_after_cls(nsqd):
    c = subscribe(nsqd, "t", "c")
    c.cmd("CLS")
    c.expect_response("CLOSE_WAIT")
    c.pub("t", b"a")
    c.expect_ok()


# -- TestSizeLimits --------------------------------------------------------------------------------

@pytest.mark.nsqd_args(*SIZE_FLAGS)
def test_size_limits(nsqd):
    c = nsqd.conn()
    c.cmd("SUB t c")  # PUB also works while subscribed
    c.expect_ok()
    c.pub("t", b"x" * 95)
    c.expect_ok()
    c.pub("t", b"x" * 100)
    c.expect_ok()
    c.pub("t", b"x" * 105)
    c.expect_fatal("E_BAD_MESSAGE PUB message too big 105 > 100")

    c = nsqd.conn()
    c.send(b"PUB t\n" + body(b""))
    c.expect_fatal("E_BAD_MESSAGE PUB invalid message body size 0")

    c = nsqd.conn()
    c.mpub("t", [b"x" * 100] * 5)
    c.expect_ok()

    c = nsqd.conn()
    c.mpub("t", [b"x" * 100] * 11)
    c.expect_fatal("E_BAD_BODY MPUB body too big 1148 > 1000")

    c = nsqd.conn()
    c.mpub("t", [b"x" * 100] * 5 + [b""])
    c.expect_fatal("E_BAD_MESSAGE MPUB invalid message(5) body size 0")

    c = nsqd.conn()
    c.mpub("t", [b"x" * 101] * 5)
    c.expect_fatal("E_BAD_MESSAGE MPUB message too big 101 > 100")


# -- MPUB ------------------------------------------------------------------------------------------

def test_mpub_ok_in_order(nsqd):
    c = nsqd.conn()
    msgs = [b"m%03d" % i for i in range(100)]
    c.mpub("t", msgs)
    c.expect_ok()
    s = subscribe(nsqd, "t", "c", rdy=100)
    got = [s.read_message().body for _ in range(100)]
    assert sorted(got) == msgs


def test_mpub_insufficient_params(nsqd):
    c = nsqd.conn()
    c.cmd("MPUB")
    c.expect_fatal("E_INVALID MPUB insufficient number of parameters")


def test_mpub_bad_topic_duplicated_code(nsqd):
    c = nsqd.conn()
    c.cmd("MPUB bad$")
    c.expect_fatal('E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "bad$" is not valid')


def test_mpub_body_size_zero(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00\x00\x00\x00")
    c.expect_fatal("E_BAD_BODY MPUB invalid body size 0")


def test_mpub_body_size_negative(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB t\n\x80\x00\x00\x01")
    c.expect_fatal("E_BAD_BODY MPUB invalid body size -2147483647")


def test_mpub_body_too_big_default(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB t\n" + struct.pack(">i", 5242881))
    c.expect_fatal("E_BAD_BODY MPUB body too big 5242881 > 5242880")


def test_mpub_truncated_body_size(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00")
    c.shutdown_write()
    c.expect_fatal("E_BAD_BODY MPUB failed to read body size")


def test_mpub_truncated_count(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00\x00\x00\x10\x00\x00")
    c.shutdown_write()
    c.expect_fatal("E_BAD_BODY MPUB failed to read message count")


@pytest.mark.parametrize("count", [0, -1])
def test_mpub_invalid_count(nsqd, count):
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00\x00\x00\x10" + struct.pack(">i", count))
    c.expect_fatal(f"E_BAD_BODY MPUB invalid message count {count}")


@pytest.mark.nsqd_args(*SIZE_FLAGS)
def test_mpub_count_limit(nsqd):
    # count > (max_body_size - 4) / 5 = 199
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00\x00\x00\x10" + struct.pack(">i", 200))
    c.expect_fatal("E_BAD_BODY MPUB invalid message count 200")
    c = nsqd.conn()
    c.mpub("t", [b"x"] * 199)
    c.expect_ok()


def test_mpub_truncated_message_size(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00\x00\x00\x20\x00\x00\x00\x02" + body(b"a") + b"\x00\x00")
    c.shutdown_write()
    c.expect_fatal("E_BAD_MESSAGE MPUB failed to read message(1) body size")


def test_mpub_truncated_message_body(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00\x00\x00\x20\x00\x00\x00\x02" + body(b"a") + b"\x00\x00\x00\x05ab")
    c.shutdown_write()
    c.expect_fatal("E_BAD_MESSAGE MPUB failed to read message body")


def test_mpub_negative_message_size(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00\x00\x00\x20\x00\x00\x00\x02" + body(b"a") + b"\xff\xff\xff\xff")
    c.expect_fatal("E_BAD_MESSAGE MPUB invalid message(1) body size -1")


def test_mpub_too_big_message_default(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00\x10\x00\x10\x00\x00\x00\x01" + struct.pack(">i", 1048577))
    c.expect_fatal("E_BAD_MESSAGE MPUB message too big 1048577 > 1048576")


def test_mpub_all_or_nothing(nsqd):
    s = subscribe(nsqd, "t", "c", rdy=10)
    c = nsqd.conn()
    c.send(b"MPUB t\n\x00\x00\x00\x20\x00\x00\x00\x03" + body(b"a") + body(b"b") + body(b""))
    c.expect_fatal("E_BAD_MESSAGE MPUB invalid message(2) body size 0")
    s.expect_nothing(0.5)  # neither "a" nor "b" was published


def test_mpub_creates_topic_before_reading_body(nsqd):
    c = nsqd.conn()
    c.send(b"MPUB created_early\n\x00\x00\x00\x00")
    c.expect_fatal("E_BAD_BODY MPUB invalid body size 0")
    assert nsqd.topic_stats("created_early") is not None


def test_mpub_declared_size_not_enforced(nsqd):
    # [verified] MPUB declaring 999 bytes but containing 10, followed by a PUB: two OKs
    c = nsqd.conn()
    inner = struct.pack(">i", 1) + body(b"ab")
    assert len(inner) == 10
    c.send(b"MPUB t\n" + struct.pack(">i", 999) + inner + b"PUB t\n" + body(b"cd"))
    c.expect(OK_FRAME + OK_FRAME)
    s = subscribe(nsqd, "t", "c", rdy=5)
    assert {s.read_message().body, s.read_message().body} == {b"ab", b"cd"}
    s.expect_nothing(0.3)


def test_mpub_declared_size_smaller_than_content(nsqd):
    c = nsqd.conn()
    inner = struct.pack(">i", 2) + body(b"hello") + body(b"world")
    c.send(b"MPUB t\n" + struct.pack(">i", 4) + inner)
    c.expect_ok()
    s = subscribe(nsqd, "t", "c", rdy=5)
    assert {s.read_message().body, s.read_message().body} == {b"hello", b"world"}


# -- DPUB ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line", ["DPUB", "DPUB t"])
def test_dpub_insufficient_params(nsqd, line):
    c = nsqd.conn()
    c.cmd(line)
    c.expect_fatal("E_INVALID DPUB insufficient number of parameters")


def test_dpub_bad_topic(nsqd):
    c = nsqd.conn()
    c.cmd("DPUB t! 100")
    c.expect_fatal('E_BAD_TOPIC DPUB topic name "t!" is not valid')


@pytest.mark.parametrize("param", ["-5", "abc", "1s", "1.0"])
def test_dpub_parse_error(nsqd, param):
    c = nsqd.conn()
    c.cmd(f"DPUB t {param}")
    c.expect_fatal(f"E_INVALID DPUB could not parse timeout {param}")


def test_dpub_out_of_range(nsqd):
    # TestDPUB
    c = nsqd.conn()
    c.cmd("DPUB t 3600100", b"a")
    c.expect_fatal("E_INVALID DPUB timeout 3600100 out of range 0-3600000")
    c = nsqd.conn()
    c.cmd("DPUB t 3600001")
    c.expect_fatal("E_INVALID DPUB timeout 3600001 out of range 0-3600000")


@pytest.mark.nsqd_args("--max-req-timeout=10s")
def test_dpub_range_follows_max_req_timeout(nsqd):
    c = nsqd.conn()
    c.cmd("DPUB t 10000", b"a")
    c.expect_ok()
    c.cmd("DPUB t 10001", b"a")
    c.expect_fatal("E_INVALID DPUB timeout 10001 out of range 0-10000")


def test_dpub_range_checked_before_body(nsqd):
    c = nsqd.conn()
    c.send(b"DPUB t 4000000\n")  # no body
    c.expect_fatal("E_INVALID DPUB timeout 4000000 out of range 0-3600000")


def test_dpub_size_errors(nsqd):
    c = nsqd.conn()
    c.send(b"DPUB t 10\n\x00\x00\x00\x00")
    c.expect_fatal("E_BAD_MESSAGE DPUB invalid message body size 0")
    c = nsqd.conn()
    c.send(b"DPUB t 10\n" + struct.pack(">i", 1048577))
    c.expect_fatal("E_BAD_MESSAGE DPUB message too big 1048577 > 1048576")
    c = nsqd.conn()
    c.send(b"DPUB t 10\n\x00\x00")
    c.shutdown_write()
    c.expect_fatal("E_BAD_MESSAGE DPUB failed to read message body size")
    c = nsqd.conn()
    c.send(b"DPUB t 10\n\x00\x00\x00\x09abc")
    c.shutdown_write()
    c.expect_fatal("E_BAD_MESSAGE DPUB failed to read message body")


@pytest.mark.nsqd_args(*SIZE_FLAGS)
def test_dpub_max_msg_size(nsqd):
    c = nsqd.conn()
    c.cmd("DPUB t 10", b"x" * 100)
    c.expect_ok()
    c.cmd("DPUB t 10", b"x" * 101)
    c.expect_fatal("E_BAD_MESSAGE DPUB message too big 101 > 100")


@pytest.mark.parametrize("param", ["0", ""])
def test_dpub_zero_is_plain_publish(nsqd, param):
    s = subscribe(nsqd, "t", "c", rdy=1)
    c = nsqd.conn()
    c.cmd(f"DPUB t {param}", b"now")
    c.expect_ok()
    assert s.read_message(timeout=2).body == b"now"


def test_dpub_deferred_stats_and_delivery(nsqd):
    # TestDPUB: channel has 1 deferred message, channel message_count 1
    s = subscribe(nsqd, "t", "c", rdy=1)
    c = nsqd.conn()
    t0 = time.monotonic()
    c.cmd("DPUB t 1500", b"later")
    c.expect_ok()
    wait_for(lambda: (nsqd.channel_stats("t", "c") or {}).get("deferred_count") == 1,
             timeout=3, what="deferred_count == 1")
    ch = nsqd.channel_stats("t", "c")
    assert ch["message_count"] == 1 and ch["depth"] == 0 and ch["in_flight_count"] == 0
    m = s.read_message(timeout=15)
    assert m.body == b"later" and m.attempts == 1
    assert time.monotonic() - t0 >= 1.4


def test_dpub_does_not_block_ready_messages(nsqd):
    s = subscribe(nsqd, "t", "c", rdy=1)
    c = nsqd.conn()
    c.cmd("DPUB t 60000", b"much later")
    c.expect_ok()
    c.pub("t", b"now")
    c.expect_ok()
    assert s.read_message(timeout=3).body == b"now"


def test_producer_in_stats(nsqd):
    c = nsqd.conn()
    c.identify({"client_id": "prod", "hostname": "h", "user_agent": "ua"})
    c.expect_ok()
    c.pub("pt", b"a")
    c.expect_ok()
    c.mpub("pt", [b"b", b"c"])
    c.expect_ok()
    c.cmd("DPUB pt 0", b"d")
    c.expect_ok()
    st = nsqd.stats()
    prods = [p for p in st["producers"] or [] if p["client_id"] == "prod"]
    assert len(prods) == 1
    assert prods[0]["pub_counts"] == [{"topic": "pt", "count": 4}]


def test_topic_depth_in_stats(nsqd):
    publish(nsqd, "h", b"a", b"b")
    assert nsqd.topic_stats("h")["depth"] == 2


def test_mpub_body_helper():
    assert mpub_body([b"a"]) == b"\x00\x00\x00\x09\x00\x00\x00\x01\x00\x00\x00\x01a"
