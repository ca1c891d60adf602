"""Spec §1.7, §1.10, §1.11 SUB / RDY / CLS / AUTH, §3.14 max channel consumers."""

import time

import pytest

from nsqlib import publish, subscribe, wait_for

# -- SUB -------------------------------------------------------------------------------------


def test_sub_ok(nsqd):
    c = nsqd.conn()
    c.cmd("SUB t c")
    c.expect_ok()
    c.assert_alive_subscribed()


def test_sub_twice_is_fatal(nsqd):
    c = nsqd.conn()
    c.cmd("SUB t c")
    c.expect_ok()
    c.cmd("SUB t c2")
    c.expect_fatal("E_INVALID cannot SUB in current state")


def test_sub_after_cls_is_fatal(nsqd):
    c = nsqd.conn()
    c.cmd("SUB t c")
    c.expect_ok()
    c.cmd("CLS")
    c.expect_response("CLOSE_WAIT")
    c.cmd("SUB t c")
    c.expect_fatal("E_INVALID cannot SUB in current state")


@pytest.mark.parametrize("line", ["SUB", "SUB t", "SUB "])
def test_sub_insufficient_params(nsqd, line):
    c = nsqd.conn()
    c.cmd(line)
    c.expect_fatal("E_INVALID SUB insufficient number of parameters")


def test_sub_extra_params_ignored(nsqd):
    c = nsqd.conn()
    c.cmd("SUB t c extra more")
    c.expect_ok()


def test_sub_with_heartbeats_disabled(nsqd):
    c = nsqd.conn()
    c.identify({"heartbeat_interval": -1})
    c.expect_ok()
    c.cmd("SUB t c")
    c.expect_fatal("E_INVALID cannot SUB with heartbeats disabled")


def test_sub_heartbeat_check_before_param_check(nsqd):
    c = nsqd.conn()
    c.identify({"heartbeat_interval": -1})
    c.expect_ok()
    c.cmd("SUB")
    c.expect_fatal("E_INVALID cannot SUB with heartbeats disabled")


VALID_NAMES = ["test", "test-with_period.", "test#ephemeral", "a", "A.b-c_9", "x" * 64,
               "x" * 54 + "#ephemeral"]
INVALID_NAMES = [
    ("test:ephemeral", '"test:ephemeral"'),
    ("#ephemeral", '"#ephemeral"'),
    ("a#ephemeral#ephemeral", '"a#ephemeral#ephemeral"'),
    ("a#b", '"a#b"'),
    ("x" * 65, '"' + "x" * 65 + '"'),
    ("x" * 55 + "#ephemeral", '"' + "x" * 55 + '#ephemeral"'),
    ("t$", '"t$"'),
    ("a/b", '"a/b"'),
    ('a"b', '"a\\"b"'),
    ("a\\b", '"a\\\\b"'),
    ("a\tb", '"a\\tb"'),
    ("a\x01b", '"a\\x01b"'),
    ("a\x7fb", '"a\\x7fb"'),
    ("caf\u00e9", '"caf\u00e9"'),
    (b"a\xffb", '"a\\xffb"'),
]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_topic_and_channel_names(nsqd, name):
    c = nsqd.conn()
    c.cmd(f"SUB {name} {name}")
    c.expect_ok()


def _enc(name):
    return name if isinstance(name, bytes) else name.encode()


@pytest.mark.parametrize("name,quoted", INVALID_NAMES)
def test_invalid_topic_name_sub(nsqd, name, quoted):
    c = nsqd.conn()
    c.cmd(b"SUB " + _enc(name) + b" c")
    c.expect_fatal(b"E_BAD_TOPIC SUB topic name " + quoted.encode() + b" is not valid")


@pytest.mark.parametrize("name,quoted", INVALID_NAMES)
def test_invalid_channel_name_sub(nsqd, name, quoted):
    c = nsqd.conn()
    c.cmd(b"SUB t " + _enc(name))
    c.expect_fatal(b"E_BAD_CHANNEL SUB channel name " + quoted.encode() + b" is not valid")


def test_topic_checked_before_channel(nsqd):
    c = nsqd.conn()
    c.cmd("SUB t$ c$")
    c.expect_fatal('E_BAD_TOPIC SUB topic name "t$" is not valid')


@pytest.mark.nsqd_args("--max-channel-consumers=1")
def test_max_channel_consumers(nsqd):
    a = nsqd.conn()
    a.cmd("SUB t c")
    a.expect_ok()
    b = nsqd.conn()
    b.cmd("SUB t c")
    b.expect_fatal("E_SUB_FAILED SUB failed consumers for t:c exceeds limit of 1")
    # another channel is fine
    d = nsqd.conn()
    d.cmd("SUB t other")
    d.expect_ok()
    # after the first consumer leaves, the slot is free again
    a.close()

    def try_sub():
        e = nsqd.conn()
        e.cmd("SUB t c")
        ftype, data = e.read_frame()
        if data == b"OK":
            return e
        e.close()
        return None

    wait_for(try_sub, timeout=10, interval=0.1, what="consumer slot freed")


@pytest.mark.nsqd_args("--max-channel-consumers=2")
def test_max_channel_consumers_two(nsqd):
    keep = [subscribe(nsqd, "t", "c"), subscribe(nsqd, "t", "c")]
    x = nsqd.conn()
    x.cmd("SUB t c")
    x.expect_fatal("E_SUB_FAILED SUB failed consumers for t:c exceeds limit of 2")
    for k in keep:
        k.assert_alive_subscribed()


# -- RDY -------------------------------------------------------------------------------------

def test_rdy_in_init_is_fatal(nsqd):
    c = nsqd.conn()
    c.cmd("RDY 1")
    c.expect_fatal("E_INVALID cannot RDY in current state")


def test_rdy_defaults_to_one(nsqd):
    publish(nsqd, "t", b"a", b"b")
    c = subscribe(nsqd, "t", "c")
    c.cmd("RDY")
    m = c.read_message()
    c.expect_nothing(0.5)
    c.cmd(b"FIN " + m.id)
    m2 = c.read_message()
    assert sorted([m.body, m2.body]) == [b"a", b"b"]


def test_rdy_empty_param_is_zero(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c")
    c.cmd("RDY ")
    c.expect_nothing(0.5)
    c.cmd("RDY 1")
    assert c.read_message().body == b"a"


def test_rdy_zero_stops_delivery(nsqd):
    c = subscribe(nsqd, "t", "c", rdy=0)
    publish(nsqd, "t", b"a")
    c.expect_nothing(0.5)
    c.cmd("RDY 1")
    assert c.read_message().body == b"a"


def test_rdy_is_max_in_flight(nsqd):
    publish(nsqd, "t", *[b"m%d" % i for i in range(5)])
    c = subscribe(nsqd, "t", "c", rdy=2)
    m1 = c.read_message()
    m2 = c.read_message()
    c.expect_nothing(0.5)
    c.cmd(b"FIN " + m1.id)
    m3 = c.read_message()
    c.expect_nothing(0.3)
    for m in (m2, m3):
        c.cmd(b"FIN " + m.id)
    got = {m1.body, m2.body, m3.body, c.read_message().body, c.read_message().body}
    assert got == {b"m%d" % i for i in range(5)}


def test_rdy_trailing_space_ok(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c")
    c.cmd("RDY 5 ")
    assert c.read_message().body == b"a"


@pytest.mark.parametrize("param", ["-1", "abc", "+1", "1.5", "0x10", "1a"])
def test_rdy_parse_error(nsqd, param):
    c = subscribe(nsqd, "t", "c")
    c.cmd("RDY " + param)
    c.expect_fatal(f"E_INVALID RDY could not parse count {param}")


def test_rdy_double_space_is_empty_count(nsqd):
    # "RDY  1" splits into ["RDY", "", "1"]: count "" parses as 0
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c")
    c.cmd("RDY  1")
    c.expect_nothing(0.5)
    c.cmd("RDY 1")
    assert c.read_message().body == b"a"


def test_rdy_out_of_range_default(nsqd):
    c = subscribe(nsqd, "t", "c")
    c.cmd("RDY 2501")
    c.expect_fatal("E_INVALID RDY count 2501 out of range 0-2500")


def test_rdy_max_default_ok(nsqd):
    c = subscribe(nsqd, "t", "c")
    c.cmd("RDY 2500")
    c.assert_alive_subscribed()


def test_rdy_uint64_wraparound(nsqd):
    # ByteToBase10 accumulates into a uint64 without overflow checks, then casts to int64
    c = subscribe(nsqd, "t", "c")
    c.cmd("RDY 18446744073709551615")
    c.expect_fatal("E_INVALID RDY count -1 out of range 0-2500")


@pytest.mark.nsqd_args("--max-rdy-count=50")
def test_max_rdy_count(nsqd):
    # TestMaxRdyCount
    publish(nsqd, "t", b"a")
    c = nsqd.conn()
    c.identify({"feature_negotiation": True})
    ftype, data = c.read_frame()
    assert b'"max_rdy_count":50' in data
    c.cmd("SUB t c")
    c.expect_ok()
    c.cmd("RDY 50")
    assert c.read_message().body == b"a"
    c.cmd("RDY 51")
    c.expect_fatal("E_INVALID RDY count 51 out of range 0-50")


# -- CLS -------------------------------------------------------------------------------------

def test_cls_in_init_is_fatal(nsqd):
    c = nsqd.conn()
    c.cmd("CLS")
    c.expect_fatal("E_INVALID cannot CLS in current state")


def test_cls_close_wait_bytes(nsqd):
    c = subscribe(nsqd, "t", "c")
    c.cmd("CLS")
    c.expect(bytes.fromhex("0000000e 00000000") + b"CLOSE_WAIT")
    # the server does not close the connection
    c.expect_nothing(0.5)
    c.assert_alive_subscribed()


def test_second_cls_is_fatal(nsqd):
    c = subscribe(nsqd, "t", "c")
    c.cmd("CLS")
    c.expect_response("CLOSE_WAIT")
    c.cmd("CLS")
    c.expect_fatal("E_INVALID cannot CLS in current state")


def test_rdy_ignored_after_cls(nsqd):
    c = subscribe(nsqd, "t", "c", rdy=0)
    c.cmd("CLS")
    c.expect_response("CLOSE_WAIT")
    publish(nsqd, "t", b"a")
    c.cmd("RDY 5")
    c.cmd("RDY -1")  # not even parsed
    c.expect_nothing(0.5)
    c.assert_alive_subscribed()


def test_fin_in_flight_after_cls(nsqd):
    publish(nsqd, "t", b"a", b"b")
    c = subscribe(nsqd, "t", "c", rdy=1)
    m = c.read_message()
    c.cmd("CLS")
    c.expect_response("CLOSE_WAIT")
    c.cmd(b"FIN " + m.id)
    c.expect_nothing(0.5)  # FIN accepted silently, and no new message after CLS
    c.cmd(b"FIN " + m.id)
    c.expect_error(b"E_FIN_FAILED FIN " + m.id + b" failed ID not in flight")


def test_cls_then_client_close_keeps_messages(nsqd):
    publish(nsqd, "t", b"a")
    c = subscribe(nsqd, "t", "c", rdy=0)
    c.cmd("CLS")
    c.expect_response("CLOSE_WAIT")
    c.close()
    d = subscribe(nsqd, "t", "c", rdy=1)
    assert d.read_message().body == b"a"


# -- AUTH with auth disabled --------------------------------------------------------------------

def test_auth_disabled(nsqd):
    c = nsqd.conn()
    c.cmd("AUTH", b"secret")
    c.expect_fatal("E_AUTH_DISABLED AUTH disabled")


def test_auth_with_params_is_fatal_before_body(nsqd):
    c = nsqd.conn()
    c.cmd("AUTH x")  # no body sent at all
    c.expect_fatal("E_INVALID AUTH invalid number of parameters")


def test_auth_after_sub_is_fatal(nsqd):
    c = subscribe(nsqd, "t", "c")
    c.cmd("AUTH", b"secret")
    c.expect_fatal("E_INVALID cannot AUTH in current state")


def test_auth_body_size_zero(nsqd):
    c = nsqd.conn()
    c.send(b"AUTH\n\x00\x00\x00\x00")
    c.expect_fatal("E_BAD_BODY AUTH invalid body size 0")


def test_auth_body_size_negative(nsqd):
    c = nsqd.conn()
    c.send(b"AUTH\n\xff\xff\xff\xfe")
    c.expect_fatal("E_BAD_BODY AUTH invalid body size -2")


@pytest.mark.nsqd_args("--max-body-size=1000")
def test_auth_body_too_big(nsqd):
    c = nsqd.conn()
    c.send(b"AUTH\n\x00\x00\x03\xe9")
    c.expect_fatal("E_BAD_BODY AUTH body too big 1001 > 1000")


def test_auth_truncated_size(nsqd):
    c = nsqd.conn()
    c.send(b"AUTH\n\x00")
    c.shutdown_write()
    c.expect_fatal("E_BAD_BODY AUTH failed to read body size")


def test_auth_truncated_body(nsqd):
    c = nsqd.conn()
    c.send(b"AUTH\n\x00\x00\x00\x05ab")
    c.shutdown_write()
    c.expect_fatal("E_BAD_BODY AUTH failed to read body")


def test_auth_disabled_reported_in_identify(nsqd):
    c = nsqd.conn()
    c.identify({"feature_negotiation": True})
    ftype, data = c.read_frame()
    assert b'"auth_required":false' in data


def test_sub_after_delay_in_init_state(nsqd):
    # a connection may sit in init for a while (no deadline below the heartbeat rule)
    c = nsqd.conn()
    time.sleep(0.3)
    c.cmd("SUB t c")
    c.expect_ok()
