"""Spec §1.8 TLS policy, §2.4 TLS upgrade (TestTLS, TestTLSRequired, TestTLSDeflate,
TestTLSSnappy) and §3.4 sampling (TestSampling)."""

import shutil
import ssl
import subprocess

import pytest

from nsqlib import (FRAME_RESPONSE, DeflateStreamDecoder, DeflateStreamEncoder,
                    SnappyStreamDecoder, SnappyStreamEncoder, publish, subscribe, wait_for)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available to create a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


def _client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _identify_json(c, obj):
    c.identify(obj)
    ftype, data = c.read_frame()
    assert ftype == FRAME_RESPONSE, data
    return data


def _upgrade_tls(c):
    assert not c.buf, f"unexpected bytes before the TLS handshake: {c.buf!r}"
    c.sock = _client_ctx().wrap_socket(c.sock, do_handshake_on_connect=True)
    c.sock.settimeout(c.timeout)


def test_tls_upgrade(nsqd_factory, tls_files):
    cert, key = tls_files
    d = nsqd_factory(f"--tls-cert={cert}", f"--tls-key={key}")
    publish(d, "t", b"secret")
    c = d.conn()
    got = _identify_json(c, {"feature_negotiation": True, "tls_v1": True})
    assert b'"tls_v1":true' in got
    _upgrade_tls(c)
    c.expect_ok()
    c.cmd("SUB t c")
    c.expect_ok()
    c.cmd("RDY 1")
    assert c.read_message().body == b"secret"
    st = d.channel_stats("t", "c")["clients"][0]
    assert st["tls"] is True and st["tls_version"].startswith("TLS1.")


def test_tls_requested_without_server_cert(nsqd):
    c = nsqd.conn()
    got = _identify_json(c, {"feature_negotiation": True, "tls_v1": True})
    assert b'"tls_v1":false' in got
    c.assert_alive_init()  # still plain text


def test_tls_required_rejects_plain_commands(nsqd_factory, tls_files):
    cert, key = tls_files
    d = nsqd_factory(f"--tls-cert={cert}", f"--tls-key={key}", "--tls-required=true")
    for line, name in [("NOP", "NOP"), ("SUB t c", "SUB"), ("ASDF x", "ASDF")]:
        c = d.conn()
        c.cmd(line)
        c.expect_fatal(f"E_INVALID cannot {name} in current state (TLS required)")
    c = d.conn()
    c.pub("t", b"x")
    c.expect_fatal("E_INVALID cannot PUB in current state (TLS required)")


def test_tls_required_allows_identify_then_tls(nsqd_factory, tls_files):
    # TestTLSRequired
    cert, key = tls_files
    d = nsqd_factory(f"--tls-cert={cert}", f"--tls-key={key}", "--tls-required=tcp-https")
    c = d.conn()
    got = _identify_json(c, {"feature_negotiation": True, "tls_v1": True})
    assert b'"tls_v1":true' in got
    _upgrade_tls(c)
    c.expect_ok()
    c.cmd("SUB t c")
    c.expect_ok()


def test_tls_then_deflate(nsqd_factory, tls_files):
    cert, key = tls_files
    d = nsqd_factory(f"--tls-cert={cert}", f"--tls-key={key}")
    c = d.conn()
    got = _identify_json(c, {"feature_negotiation": True, "tls_v1": True, "deflate": True})
    assert b'"tls_v1":true' in got and b'"deflate":true' in got
    _upgrade_tls(c)
    c.expect_ok()  # over TLS
    c.set_codec(DeflateStreamDecoder(), DeflateStreamEncoder())
    c.expect_ok()  # over TLS + deflate
    c.assert_alive_init()


def test_tls_then_snappy(nsqd_factory, tls_files):
    cert, key = tls_files
    d = nsqd_factory(f"--tls-cert={cert}", f"--tls-key={key}")
    c = d.conn()
    got = _identify_json(c, {"feature_negotiation": True, "tls_v1": True, "snappy": True})
    assert b'"tls_v1":true' in got and b'"snappy":true' in got
    _upgrade_tls(c)
    c.expect_ok()
    c.set_codec(SnappyStreamDecoder(), SnappyStreamEncoder())
    c.expect_ok()
    c.assert_alive_init()


@pytest.mark.nsqd_args("--max-rdy-count=10000")
def test_sampling(nsqd):
    # TestSampling: sample_rate 42 -> delivery probability 43%; between 37% and 47% of
    # 10000 messages end up in flight, the others are dropped for this channel
    n = 10000
    with nsqd.conn() as p:
        for i in range(0, n, 1000):
            p.mpub("ts", [b"%d" % j for j in range(i, i + 1000)])
        for _ in range(0, n, 1000):
            p.expect_ok()
    c = nsqd.conn()
    got = _identify_json(c, {"feature_negotiation": True, "sample_rate": 42})
    assert b'"sample_rate":42' in got
    c.cmd("SUB ts ch")
    c.expect_ok()
    c.cmd(f"RDY {n}")
    delivered = 0
    while True:
        try:
            c.read_message(timeout=1.5)
            delivered += 1
        except TimeoutError:
            break
        assert delivered <= n
    assert 0.37 * n <= delivered <= 0.47 * n, delivered
    ch = nsqd.channel_stats("ts", "ch")
    assert ch["depth"] == 0, ch
    assert ch["in_flight_count"] == delivered
