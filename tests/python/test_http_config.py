"""GET/PUT /config/:opt and the /debug routes (spec §4.2, §5.1; §9.2 TestHTTPconfig)."""

from __future__ import annotations

import json

import pytest

from httplib import (JSON_CT, REFERENCE_HAS_TOPOLOGY, TEXT_CT, V1_HEADER, V1_VALUE, assert_v1_error, get, post, put,
                     request)
from nsqlib import IS_REFERENCE, wait_for

# The reference build (v1.3.0 tag) lacks the options added later (topology, auth method).
NO_TOPOLOGY = not REFERENCE_HAS_TOPOLOGY


def cfg(nsqd, opt: str):
    r = get(nsqd, f"/config/{opt}")
    assert r.status == 200, r
    assert r.header(V1_HEADER) == V1_VALUE
    return r


def cfg_json(nsqd, opt: str):
    r = cfg(nsqd, opt)
    assert r.header("Content-Type") == JSON_CT, r
    return json.loads(r.body)


def cfg_text(nsqd, opt: str) -> str:
    r = cfg(nsqd, opt)
    if r.body:
        assert r.header("Content-Type") == TEXT_CT, r
    else:
        assert r.header("Content-Type") is None, r
    return r.text


def test_lookupd_addresses_roundtrip(nsqd):
    assert cfg_json(nsqd, "nsqlookupd_tcp_addresses") == []
    body = b'["127.0.0.1:4160","127.0.0.1:4161"]'
    r = put(nsqd, "/config/nsqlookupd_tcp_addresses", body)
    assert r.status == 200 and r.body == body
    assert r.header("Content-Type") == JSON_CT
    assert cfg_json(nsqd, "nsqlookupd_tcp_addresses") == ["127.0.0.1:4160", "127.0.0.1:4161"]
    r = put(nsqd, "/config/nsqlookupd_tcp_addresses", b"[]")
    assert (r.status, r.body) == (200, b"[]")
    r = put(nsqd, "/config/nsqlookupd_tcp_addresses", b"null")
    assert (r.status, r.body) == (200, b"null")


@pytest.mark.parametrize("body", [b"127.0.0.1:4160", b'"a:1"', b"[1]", b'["a",', b"{}"])
def test_lookupd_addresses_invalid(nsqd, body):
    assert_v1_error(put(nsqd, "/config/nsqlookupd_tcp_addresses", body), 400, "INVALID_VALUE")
    assert cfg_json(nsqd, "nsqlookupd_tcp_addresses") == []


@pytest.mark.nsqd_args("--lookupd-tcp-address=127.0.0.1:1", "--max-msg-size=20")
def test_put_body_limits(nsqd):
    assert cfg_json(nsqd, "nsqlookupd_tcp_addresses") == ["127.0.0.1:1"]
    assert_v1_error(put(nsqd, "/config/nsqlookupd_tcp_addresses", b""), 413, "INVALID_VALUE")
    assert_v1_error(put(nsqd, "/config/nsqlookupd_tcp_addresses", b'["' + b"a" * 30 + b'"]'),
                    413, "INVALID_VALUE")
    assert_v1_error(put(nsqd, "/config/log_level", b"d" * 21, chunked=True), 413,
                    "INVALID_VALUE")
    # The body is checked before the option name.
    assert_v1_error(put(nsqd, "/config/msg_timeout", b""), 413, "INVALID_VALUE")
    assert cfg_json(nsqd, "nsqlookupd_tcp_addresses") == ["127.0.0.1:1"]


def test_log_level(nsqd):
    assert cfg_json(nsqd, "log_level") == 2
    for word, n in [("WARN", 3), ("debug", 1), ("Error", 4), ("info", 2)]:
        r = put(nsqd, "/config/log_level", word.encode())
        assert (r.status, r.body) == (200, str(n).encode()), r
        assert cfg_json(nsqd, "log_level") == n
    for bad in (b"bad", b"warning", b" info", b"3"):
        assert_v1_error(put(nsqd, "/config/log_level", bad), 400, "INVALID_VALUE")
    assert cfg_json(nsqd, "log_level") == 2


def test_log_level_takes_effect(nsqd):
    assert put(nsqd, "/config/log_level", b"fatal").status == 200
    assert get(nsqd, "/stats?format=json&marker=quiet").status == 200
    assert put(nsqd, "/config/log_level", b"info").status == 200
    assert get(nsqd, "/stats?format=json&marker=loud").status == 200
    wait_for(lambda: "marker=loud" in nsqd.log_path.read_text(), what="info logging back")
    assert "marker=quiet" not in nsqd.log_path.read_text()


def test_other_options_are_read_only(nsqd):
    assert_v1_error(put(nsqd, "/config/msg_timeout", b"1s"), 400, "INVALID_OPTION")
    assert_v1_error(put(nsqd, "/config/nope", b"1"), 400, "INVALID_OPTION")


@pytest.mark.parametrize("opt", ["nope", "node_id", "version", "config", "verbose",
                                 "worker_id", "queue_scan_interval", "LOG_LEVEL",
                                 "log-level"])
def test_unknown_options(nsqd, opt):
    assert_v1_error(get(nsqd, f"/config/{opt}"), 400, "INVALID_OPTION")


@pytest.mark.nsqd_args("--broadcast-address=127.0.0.1", "--node-id=42",
                       "--e2e-processing-latency-percentile=0.5",
                       "--e2e-processing-latency-percentile=1.0,0.99",
                       "--msg-timeout=1m30s", "--statsd-mem-stats=false",
                       "--topology-zone=z9" if not NO_TOPOLOGY else "--snappy=true")
def test_values(nsqd):
    assert cfg_json(nsqd, "id") == 42
    assert cfg_json(nsqd, "msg_timeout") == 90_000_000_000
    assert cfg_json(nsqd, "max_msg_timeout") == 900_000_000_000
    assert cfg_json(nsqd, "sync_timeout") == 2_000_000_000
    assert cfg_json(nsqd, "http_client_connect_timeout") == 2_000_000_000
    assert cfg_json(nsqd, "e2e_processing_latency_window_time") == 600_000_000_000
    assert cfg(nsqd, "e2e_processing_latency_percentiles").body == b"[1,0.99,0.5]"
    assert cfg_json(nsqd, "mem_queue_size") == 10000
    assert cfg_json(nsqd, "max_msg_size") == 1048576
    assert cfg_json(nsqd, "max_rdy_count") == 2500
    assert cfg_json(nsqd, "statsd_mem_stats") is False
    assert cfg_json(nsqd, "statsd_udp_packet_size") == 508
    assert cfg_json(nsqd, "deflate") is True
    assert cfg_json(nsqd, "max_deflate_level") == 6
    assert cfg_json(nsqd, "tls_min_version") == 769
    assert cfg_json(nsqd, "tls_required") == 0
    assert cfg_json(nsqd, "auth_http_addresses") == []
    if not NO_TOPOLOGY:
        assert cfg_json(nsqd, "enable_experiment") == []
    # Strings come back raw, not JSON-quoted.
    assert cfg_text(nsqd, "log_prefix") == "[nsqd] "
    if not NO_TOPOLOGY:
        assert cfg_text(nsqd, "topology_zone") == "z9"
        assert cfg_text(nsqd, "auth_http_request_method") == "get"
    assert cfg_text(nsqd, "broadcast_address") == "127.0.0.1"
    assert cfg_text(nsqd, "tcp_address") == f"127.0.0.1:{nsqd.tcp_port}"
    assert cfg_text(nsqd, "data_path") == str(nsqd.data_path)
    assert cfg_text(nsqd, "statsd_address") == ""
    assert cfg_text(nsqd, "tls_cert") == ""
    # The resolved statsd prefix and the broadcast ports defaulted to the real ports.
    assert cfg_text(nsqd, "statsd_prefix") == f"nsq.127_0_0_1_{nsqd.http_port}."
    assert cfg_json(nsqd, "broadcast_http_port") == nsqd.http_port
    assert cfg_json(nsqd, "broadcast_tcp_port") == nsqd.tcp_port


@pytest.mark.nsqd_args("--broadcast-http-port=9999", "--statsd-prefix=x.%s.y",
                       "--broadcast-address=h.example")
def test_statsd_prefix_resolution(nsqd):
    assert cfg_text(nsqd, "statsd_prefix") == "x.h_example_9999.y."
    assert cfg_json(nsqd, "broadcast_http_port") == 9999


# -- debug ------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate,err", [("x", 'parsing "x": invalid syntax'),
                                      ("", 'parsing "": invalid syntax'),
                                      ("1.5", 'parsing "1.5": invalid syntax'),
                                      ("99999999999999999999",
                                       'parsing "99999999999999999999": value out of range')])
def test_setblockrate_invalid(nsqd, rate, err):
    r = put(nsqd, f"/debug/setblockrate?rate={rate}")
    assert r.status == 400
    assert r.text == f"invalid block rate : strconv.Atoi: {err}"
    assert r.header("Content-Type") == TEXT_CT
    assert r.header(V1_HEADER) is None


def test_setblockrate_and_freememory_answer_500(nsqd):
    assert_v1_error(put(nsqd, "/debug/setblockrate?rate=1"), 500, "INTERNAL_ERROR")
    assert_v1_error(put(nsqd, "/debug/setblockrate?rate=0"), 500, "INTERNAL_ERROR")
    assert_v1_error(post(nsqd, "/debug/freememory"), 500, "INTERNAL_ERROR")
    # The daemon is fine afterwards.
    assert get(nsqd, "/ping").body == b"OK"
    assert_v1_error(get(nsqd, "/debug/freememory"), 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize("path", ["/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine",
                                  "/debug/pprof/cmdline", "/debug/pprof/threadcreate",
                                  "/debug/pprof/block"])
def test_pprof_routes(nsqd, path):
    r = get(nsqd, path)
    if IS_REFERENCE:
        assert r.status == 200
    else:
        # Documented deviation: there are no Go profiles to serve.
        assert r.status == 501
        assert r.header("Content-Type") == TEXT_CT
    r = get(nsqd, "/debug/pprof")
    assert r.status == 301 and r.header("Location") == "/debug/pprof/"
    r = request(nsqd, "PUT", path)
    assert_v1_error(r, 405, "METHOD_NOT_ALLOWED")
