"""Spec §1.11 IDENTIFY and §2: validation, Go-JSON decoding quirks, exact response JSON,
compression upgrades."""

import json
import struct

import pytest

from nsqlib import (FRAME_RESPONSE, REF_LACKS_TOPOLOGY, DeflateStreamDecoder,
                    DeflateStreamEncoder, SnappyStreamDecoder, SnappyStreamEncoder, publish,
                    response_frame)

# [verified] default response of the spec'd reference (3103474b6c5a)
SPEC_DEFAULT_RESPONSE = (
    b'{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,'
    b'"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,'
    b'"sample_rate":0,"auth_required":false,"output_buffer_size":16384,'
    b'"output_buffer_timeout":250,"topology_region":"","topology_zone":""}'
)

KEY_ORDER = ["max_rdy_count", "version", "max_msg_timeout", "msg_timeout", "tls_v1", "deflate",
             "deflate_level", "max_deflate_level", "snappy", "sample_rate", "auth_required",
             "output_buffer_size", "output_buffer_timeout", "topology_region", "topology_zone"]
if REF_LACKS_TOPOLOGY:  # only when validating against a v1.3.0 reference build
    KEY_ORDER = KEY_ORDER[:-2]

needs_topology = pytest.mark.skipif(
    REF_LACKS_TOPOLOGY, reason="reference built from v1.3.0 has no topology experiment")


def expected_json(**over) -> bytes:
    d = json.loads(SPEC_DEFAULT_RESPONSE)
    for k, v in over.items():
        assert k in d, k
        d[k] = v
    return json.dumps({k: d[k] for k in KEY_ORDER}, separators=(",", ":")).encode()


DEFAULT_RESPONSE = expected_json()
assert REF_LACKS_TOPOLOGY or DEFAULT_RESPONSE == SPEC_DEFAULT_RESPONSE


def identify_fn(c, obj):
    c.identify(obj)
    ftype, data = c.read_frame()
    assert ftype == FRAME_RESPONSE, data
    return data


# -- basic responses -------------------------------------------------------------------------

def test_identify_without_feature_negotiation_is_ok(nsqd):
    c = nsqd.conn()
    c.identify({"client_id": "a"})
    c.expect_ok()
    c.assert_alive_init()


def test_identify_appendix_a_bytes(nsqd):
    c = nsqd.conn()
    c.send(b"IDENTIFY\n\x00\x00\x00\x11" + b'{"client_id":"a"}')
    c.expect(bytes.fromhex("00000006 00000000 4f4b"))


def test_no_upgrade_without_feature_negotiation(nsqd):
    c = nsqd.conn()
    c.identify({"tls_v1": True, "snappy": True, "deflate": True, "feature_negotiation": False})
    c.expect_ok()
    # still plain text afterwards
    c.assert_alive_init()


def test_feature_negotiation_default_json(nsqd):
    c = nsqd.conn()
    c.identify({"feature_negotiation": True})
    c.expect(response_frame(DEFAULT_RESPONSE))
    c.assert_alive_init()


def test_feature_negotiation_with_client_values(nsqd):
    # [verified] example from spec §2.3
    c = nsqd.conn()
    req = (b'{"feature_negotiation":true,"output_buffer_size":-1,"heartbeat_interval":-1,'
           b'"msg_timeout":1000,"sample_rate":50}')
    c.identify(raw=req)
    c.expect(response_frame(expected_json(msg_timeout=1000, sample_rate=50,
                                          output_buffer_size=1, output_buffer_timeout=0)))


@needs_topology
@pytest.mark.nsqd_args("--max-rdy-count=50", "--msg-timeout=30s", "--max-msg-timeout=20m",
                       "--max-deflate-level=4", "--output-buffer-timeout=100ms",
                       "--topology-region=r1", "--topology-zone=z1")
def test_feature_negotiation_reflects_flags(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True})
    assert got == expected_json(max_rdy_count=50, max_msg_timeout=1200000, msg_timeout=30000,
                                deflate_level=4, max_deflate_level=4,
                                output_buffer_timeout=100, topology_region="r1",
                                topology_zone="z1")


@needs_topology
@pytest.mark.nsqd_args("--topology-region=a<b>&c", "--topology-zone=z\"1")
def test_response_uses_go_json_escaping(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True})
    assert got.endswith(b'"topology_region":"a\\u003cb\\u003e\\u0026c","topology_zone":"z\\"1"}')


def test_client_topology_is_not_echoed(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "topology_region": "x",
                          "topology_zone": "y"})
    assert got == DEFAULT_RESPONSE


def test_msg_timeout_and_buffer_values_echoed(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "msg_timeout": 5000,
                          "output_buffer_size": 1024, "output_buffer_timeout": 1000,
                          "heartbeat_interval": 2000, "sample_rate": 99})
    assert got == expected_json(msg_timeout=5000, output_buffer_size=1024,
                                output_buffer_timeout=1000, sample_rate=99)


def test_output_buffer_size_minus_one_forces_timeout_zero(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "output_buffer_size": -1,
                          "output_buffer_timeout": 500})
    assert got == expected_json(output_buffer_size=1, output_buffer_timeout=0)


def test_output_buffer_timeout_minus_one_is_zero(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "output_buffer_timeout": -1})
    assert got == expected_json(output_buffer_timeout=0)


def test_zero_values_keep_defaults(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "output_buffer_timeout": 0,
                          "output_buffer_size": 0, "heartbeat_interval": 0, "msg_timeout": 0,
                          "sample_rate": 0})
    assert got == DEFAULT_RESPONSE


# -- Go encoding/json decoding behaviour -------------------------------------------------------

def test_keys_are_case_insensitive(nsqd):
    c = nsqd.conn()
    c.identify(raw=b'{"HEARTBEAT_INTERVAL":500}')
    c.expect_fatal("E_BAD_BODY IDENTIFY heartbeat interval (500) is invalid")


def test_feature_negotiation_key_case_insensitive(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"Feature_Negotiation": True, "Sample_Rate": 7})
    assert got == expected_json(sample_rate=7)


def test_unknown_keys_ignored(nsqd):
    c = nsqd.conn()
    c.identify({"short_id": "x", "long_id": "y", "foo": {"a": [1, 2, {"b": None}]},
                "bar": 1.5, "baz": "s"})
    c.expect_ok()
    c.assert_alive_init()


def test_null_values_leave_defaults(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "heartbeat_interval": None,
                          "msg_timeout": None, "client_id": None, "deflate": None})
    assert got == DEFAULT_RESPONSE


def test_duplicate_keys_last_wins(nsqd):
    c = nsqd.conn()
    c.identify(raw=b'{"feature_negotiation":true,"sample_rate":200,"sample_rate":10}')
    ftype, got = c.read_frame()
    assert got == expected_json(sample_rate=10)


@pytest.mark.parametrize("raw", [
    b'{"heartbeat_interval":"1000"}',
    b'{"tls_v1":"true"}',
    b'{"feature_negotiation":1}',
    b'{"msg_timeout":1000.5}',
    b'{"sample_rate":2147483648}',
    b'{"client_id":5}',
    b'not json',
    b'{"client_id":"a"',
    b'[]',
    b'"str"',
])
def test_decode_errors_are_fatal(nsqd, raw):
    c = nsqd.conn()
    c.identify(raw=raw)
    c.expect_fatal("E_BAD_BODY IDENTIFY failed to decode JSON body")


# -- validation errors, each fatal ---------------------------------------------------------------

@pytest.mark.parametrize("obj,reason", [
    ({"heartbeat_interval": 999}, "heartbeat interval (999) is invalid"),
    ({"heartbeat_interval": -2}, "heartbeat interval (-2) is invalid"),
    ({"heartbeat_interval": 60001}, "heartbeat interval (60001) is invalid"),
    ({"output_buffer_timeout": 24}, "output buffer timeout (24) is invalid"),
    ({"output_buffer_timeout": 30001}, "output buffer timeout (30001) is invalid"),
    ({"output_buffer_timeout": -2}, "output buffer timeout (-2) is invalid"),
    ({"output_buffer_size": 63}, "output buffer size (63) is invalid"),
    ({"output_buffer_size": 65537}, "output buffer size (65537) is invalid"),
    ({"output_buffer_size": -2}, "output buffer size (-2) is invalid"),
    ({"sample_rate": 100}, "sample rate (100) is invalid"),
    ({"sample_rate": -1}, "sample rate (-1) is invalid"),
    ({"msg_timeout": 999}, "msg timeout (999) is invalid"),
    ({"msg_timeout": -1}, "msg timeout (-1) is invalid"),
    ({"msg_timeout": 900001}, "msg timeout (900001) is invalid"),
    # validation order: heartbeat, timeout, size, sample rate, msg timeout
    ({"heartbeat_interval": 1, "output_buffer_timeout": 1}, "heartbeat interval (1) is invalid"),
    ({"output_buffer_size": 1, "output_buffer_timeout": 1}, "output buffer timeout (1) is invalid"),
    ({"output_buffer_size": 1, "sample_rate": 100}, "output buffer size (1) is invalid"),
    ({"sample_rate": 100, "msg_timeout": 1}, "sample rate (100) is invalid"),
])
def test_validation_errors(nsqd, obj, reason):
    c = nsqd.conn()
    c.identify({"feature_negotiation": True, **obj})
    c.expect_fatal(f"E_BAD_BODY IDENTIFY {reason}")


@pytest.mark.parametrize("obj", [
    {"heartbeat_interval": 1000}, {"heartbeat_interval": 60000}, {"heartbeat_interval": -1},
    {"output_buffer_timeout": 25}, {"output_buffer_timeout": 30000},
    {"output_buffer_size": 64}, {"output_buffer_size": 65536},
    {"sample_rate": 99}, {"msg_timeout": 1000}, {"msg_timeout": 900000},
])
def test_boundary_values_accepted(nsqd, obj):
    c = nsqd.conn()
    c.identify(obj)
    c.expect_ok()


@pytest.mark.nsqd_args("--max-heartbeat-interval=300s")
def test_max_heartbeat_interval_valid(nsqd):
    c = nsqd.conn()
    c.identify({"heartbeat_interval": 300000})
    c.expect_ok()


@pytest.mark.nsqd_args("--max-heartbeat-interval=300s")
def test_max_heartbeat_interval_invalid(nsqd):
    c = nsqd.conn()
    c.identify({"heartbeat_interval": 300001})
    c.expect_fatal("E_BAD_BODY IDENTIFY heartbeat interval (300001) is invalid")


@pytest.mark.nsqd_args("--max-output-buffer-size=524288", "--max-output-buffer-timeout=1s")
def test_repeated_identify_in_init(nsqd):
    # TestOutputBufferingValidity
    c = nsqd.conn()
    for size, timeout in [(512 * 1024, 1000), (-1, -1), (0, 0)]:
        c.identify({"output_buffer_size": size, "output_buffer_timeout": timeout})
        c.expect_ok()
    c.identify({"output_buffer_size": 512 * 1024 + 1, "output_buffer_timeout": 0})
    c.expect_fatal("E_BAD_BODY IDENTIFY output buffer size (524289) is invalid")
    c = nsqd.conn()
    c.identify({"output_buffer_size": 0, "output_buffer_timeout": 1001})
    c.expect_fatal("E_BAD_BODY IDENTIFY output buffer timeout (1001) is invalid")


def test_repeated_identify_with_feature_negotiation(nsqd):
    c = nsqd.conn()
    assert identify_fn(c, {"feature_negotiation": True}) == DEFAULT_RESPONSE
    assert identify_fn(c, {"feature_negotiation": True, "msg_timeout": 2000}) == \
        expected_json(msg_timeout=2000)
    c.identify({})
    c.expect_ok()


def test_identify_after_sub_is_fatal(nsqd):
    c = nsqd.conn()
    c.cmd("SUB t c")
    c.expect_ok()
    c.identify({})
    c.expect_fatal("E_INVALID cannot IDENTIFY in current state")


def test_identify_after_cls_is_fatal(nsqd):
    c = nsqd.conn()
    c.cmd("SUB t c")
    c.expect_ok()
    c.cmd("CLS")
    c.expect_response("CLOSE_WAIT")
    c.identify({})
    c.expect_fatal("E_INVALID cannot IDENTIFY in current state")


# -- body size errors ---------------------------------------------------------------------------

def test_body_size_zero(nsqd):
    c = nsqd.conn()
    c.send(b"IDENTIFY\n\x00\x00\x00\x00")
    c.expect_fatal("E_BAD_BODY IDENTIFY invalid body size 0")


def test_body_size_negative(nsqd):
    c = nsqd.conn()
    c.send(b"IDENTIFY\n\xff\xff\xff\xff")
    c.expect_fatal("E_BAD_BODY IDENTIFY invalid body size -1")


def test_body_size_int32_min(nsqd):
    c = nsqd.conn()
    c.send(b"IDENTIFY\n\x80\x00\x00\x00")
    c.expect_fatal("E_BAD_BODY IDENTIFY invalid body size -2147483648")


def test_body_too_big_default(nsqd):
    c = nsqd.conn()
    c.send(b"IDENTIFY\n" + struct.pack(">i", 5242881))
    c.expect_fatal("E_BAD_BODY IDENTIFY body too big 5242881 > 5242880")


@pytest.mark.nsqd_args("--max-body-size=1000")
def test_body_too_big_flag(nsqd):
    c = nsqd.conn()
    c.send(b"IDENTIFY\n" + struct.pack(">i", 1001))
    c.expect_fatal("E_BAD_BODY IDENTIFY body too big 1001 > 1000")
    c = nsqd.conn()
    pad = b" " * (1000 - len(b'{"client_id":"a"}'))
    c.identify(raw=b'{"client_id":"a"}' + pad)
    c.expect_ok()


def test_body_size_truncated(nsqd):
    c = nsqd.conn()
    c.send(b"IDENTIFY\n\x00\x00")
    c.shutdown_write()
    c.expect_fatal("E_BAD_BODY IDENTIFY failed to read body size")


def test_body_truncated(nsqd):
    c = nsqd.conn()
    c.send(b"IDENTIFY\n\x00\x00\x00\x10{}")
    c.shutdown_write()
    c.expect_fatal("E_BAD_BODY IDENTIFY failed to read body")


# -- identity fields (visible in /stats) ---------------------------------------------------------

def _client_stats(nsqd, topic, channel):
    ch = nsqd.channel_stats(topic, channel)
    assert ch is not None and ch["clients"], ch
    return ch["clients"][0]


def test_identity_fields_in_stats(nsqd):
    c = nsqd.conn()
    c.identify({"client_id": "cid", "hostname": "hn", "user_agent": "ua/1"})
    c.expect_ok()
    c.cmd("SUB t c")
    c.expect_ok()
    cl = _client_stats(nsqd, "t", "c")
    assert (cl["client_id"], cl["hostname"], cl["user_agent"]) == ("cid", "hn", "ua/1")


def test_identity_fields_replaced_even_when_absent(nsqd):
    c = nsqd.conn()
    c.identify({"client_id": "cid"})
    c.expect_ok()
    c.cmd("SUB t c")
    c.expect_ok()
    cl = _client_stats(nsqd, "t", "c")
    assert cl["hostname"] == ""
    assert cl["user_agent"] == ""


def test_default_identity_is_remote_ip(nsqd):
    c = nsqd.conn()
    c.cmd("SUB t c")
    c.expect_ok()
    cl = _client_stats(nsqd, "t", "c")
    assert cl["client_id"] == "127.0.0.1"
    assert cl["hostname"] == "127.0.0.1"


# -- compression ---------------------------------------------------------------------------------

def test_both_compressions_fatal(nsqd):
    c = nsqd.conn()
    c.identify({"feature_negotiation": True, "deflate": True, "snappy": True})
    c.expect_fatal("E_IDENTIFY_FAILED cannot enable both deflate and snappy compression")


@pytest.mark.nsqd_args("--snappy=false")
def test_both_requested_but_snappy_disabled(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "deflate": True, "snappy": True})
    assert got == expected_json(deflate=True)
    c.set_codec(DeflateStreamDecoder(), DeflateStreamEncoder())
    c.expect_ok()


@pytest.mark.nsqd_args("--deflate=false", "--snappy=false")
def test_compression_disabled_on_server(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "deflate": True, "deflate_level": 9})
    assert got == DEFAULT_RESPONSE
    c.assert_alive_init()
    c2 = nsqd.conn()
    got = identify_fn(c2, {"feature_negotiation": True, "snappy": True})
    assert got == DEFAULT_RESPONSE
    c2.assert_alive_init()


@pytest.mark.parametrize("requested,effective", [(9, 6), (2, 2), (0, 6), (-3, 6), (6, 6)])
def test_deflate_level_negotiated(nsqd, requested, effective):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "deflate": True,
                          "deflate_level": requested})
    assert got == expected_json(deflate=True, deflate_level=effective)
    c.set_codec(DeflateStreamDecoder(), DeflateStreamEncoder(effective))
    c.expect_ok()


def test_deflate_level_ignored_without_deflate(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "deflate_level": 3})
    assert got == DEFAULT_RESPONSE


@pytest.mark.nsqd_args("--max-deflate-level=3")
def test_deflate_level_clamped_to_max(nsqd):
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True})
    assert got == expected_json(deflate_level=3, max_deflate_level=3)
    c2 = nsqd.conn()
    got = identify_fn(c2, {"feature_negotiation": True, "deflate": True, "deflate_level": 5})
    assert got == expected_json(deflate=True, deflate_level=3, max_deflate_level=3)


def test_deflate_session(nsqd):
    publish(nsqd, "dt", b"x" * 5000)
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "deflate": True, "deflate_level": 1})
    assert got == expected_json(deflate=True, deflate_level=1)
    c.set_codec(DeflateStreamDecoder(), DeflateStreamEncoder(1))
    c.expect_ok()
    c.pub("dt", b"y" * 3000)
    c.expect_ok()
    c.cmd("SUB dt ch")
    c.expect_ok()
    c.cmd("RDY 2")
    bodies = sorted([c.read_message().body, c.read_message().body])
    assert bodies == [b"x" * 5000, b"y" * 3000]


def test_snappy_session(nsqd):
    # TestSnappy: OK through the snappy stream, then a 128000-byte message intact
    big = bytes(range(256)) * 500
    publish(nsqd, "st", big)
    c = nsqd.conn()
    got = identify_fn(c, {"feature_negotiation": True, "snappy": True})
    assert got == expected_json(snappy=True)
    dec = SnappyStreamDecoder()
    c.set_codec(dec, SnappyStreamEncoder())
    c.expect_ok()
    assert dec.seen_stream_id
    c.cmd("SUB st ch")
    c.expect_ok()
    c.cmd("RDY 1")
    m = c.read_message()
    assert m.body == big and m.attempts == 1
    c.cmd(b"FIN " + m.id)
    c.pub("st", b"after")
    c.expect_ok()
