"""Spec §2.3/§2.4 (tls_v1 upgrade), §1.8 (TLS policy), §5.1/§5.2 (--tls-* flags and startup
errors); reference tests TestTLS, TestTLSRequired, TestTLSAuthRequire,
TestTLSAuthRequireVerify, TestTLSSnappy, TestTLSDeflate."""

import ssl
import subprocess
import time

import pytest

from nsqlib import (FRAME_ERROR, FRAME_RESPONSE, NSQD_BIN, ConnClosed, DeflateStreamDecoder,
                    DeflateStreamEncoder, SnappyStreamDecoder, SnappyStreamEncoder, free_port,
                    publish)
from secure_helpers import certs, client_context, identify_json, start_tls, tls_args  # noqa: F401

IDENTIFY_FAILED = b"E_IDENTIFY_FAILED IDENTIFY failed "


def upgraded(nsqd, certs, cert=None, **identify):
    """A connection upgraded to TLS (and whatever else `identify` asks for), `OK` consumed."""
    c = nsqd.conn()
    resp = identify_json(c, {"tls_v1": True, **identify})
    assert resp["tls_v1"] is True
    start_tls(c, client_context(certs, cert=cert))
    c.expect_ok()
    return c


def test_tls_upgrade_then_commands(nsqd_factory, certs):
    # TestTLS: tls_v1 -> JSON says tls_v1:true, handshake, then OK over TLS
    nsqd = nsqd_factory(*tls_args(certs))
    c = upgraded(nsqd, certs)
    assert isinstance(c.sock, ssl.SSLSocket)
    c.pub("tls_t", b"over tls")
    c.expect_ok()
    c.cmd("SUB tls_t ch")
    c.expect_ok()
    c.cmd("RDY 1")
    m = c.read_message()
    assert m.body == b"over tls"
    c.cmd(b"FIN " + m.id)
    c.assert_alive_subscribed()


def test_tls_not_offered_without_cert(nsqd):
    c = nsqd.conn()
    resp = identify_json(c, {"tls_v1": True})
    assert resp["tls_v1"] is False
    # no upgrade happened: plaintext still works
    c.assert_alive_init()


def test_tls_without_feature_negotiation_is_plain_ok(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    c = nsqd.conn()
    c.identify({"tls_v1": True})
    c.expect_ok()
    c.assert_alive_init()


def test_tls_not_requested_stays_plain(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    c = nsqd.conn()
    resp = identify_json(c, {})
    assert resp["tls_v1"] is False
    c.assert_alive_init()


def test_garbage_instead_of_handshake(nsqd_factory, certs):
    # the reference answers in plaintext and closes:
    # E_IDENTIFY_FAILED IDENTIFY failed tls: first record does not look like a TLS handshake
    nsqd = nsqd_factory(*tls_args(certs))
    c = nsqd.conn()
    identify_json(c, {"tls_v1": True})
    c.send(b"GARBAGE GARBAGE GARBAGE\n")
    c.expect_fatal("E_IDENTIFY_FAILED IDENTIFY failed "
                   "tls: first record does not look like a TLS handshake")
    # the daemon is fine
    publish(nsqd, "after_garbage", b"x")


def test_handshake_deadline_and_other_clients_unaffected(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    stalled = nsqd.conn(timeout=10)
    identify_json(stalled, {"tls_v1": True})
    t0 = time.monotonic()
    # while one client stalls its handshake, others are served
    other = upgraded(nsqd, certs)
    other.pub("t", b"x")
    other.expect_ok()
    plain = nsqd.conn()
    plain.assert_alive_init()
    ftype, data = stalled.read_frame(timeout=9)
    elapsed = time.monotonic() - t0
    assert ftype == FRAME_ERROR and data.startswith(IDENTIFY_FAILED), data
    assert b"i/o timeout" in data, data
    assert 4.0 < elapsed < 8.0, elapsed
    stalled.expect_closed()


def test_client_hangs_up_during_handshake(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    c = nsqd.conn()
    identify_json(c, {"tls_v1": True})
    c.send(b"\x16\x03\x01")  # start of a record, then gone
    c.close()
    publish(nsqd, "still_alive", b"x")


@pytest.mark.not_reference("the reference's buffered reader swallows bytes pipelined after "
                           "the IDENTIFY body, so the handshake never sees the ClientHello")
def test_pipelined_client_hello(nsqd_factory, certs):
    # bytes that arrive together with the IDENTIFY body belong to the handshake
    nsqd = nsqd_factory(*tls_args(certs))
    ctx = client_context(certs)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    c = nsqd.conn()
    body = b'{"feature_negotiation":true,"tls_v1":true}'
    c.send(b"IDENTIFY\n" + len(body).to_bytes(4, "big") + body + hello)
    ftype, data = c.read_frame()
    assert ftype == FRAME_RESPONSE and b'"tls_v1":true' in data
    # finish the handshake through the memory BIOs over the raw socket
    deadline = time.monotonic() + 5
    raw = c.sock
    pending = c.buf
    c.buf = b""
    while True:
        if pending:
            inc.write(pending)
            pending = b""
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            data_out = out.read()
            if data_out:
                raw.sendall(data_out)
            assert time.monotonic() < deadline, "handshake did not finish"
            raw.settimeout(max(0.1, deadline - time.monotonic()))
            chunk = raw.recv(65536)
            assert chunk, "server closed during the handshake"
            inc.write(chunk)
    data_out = out.read()
    if data_out:
        raw.sendall(data_out)
    got = b""
    while len(got) < 10:
        try:
            got += obj.read(1024)
        except ssl.SSLWantReadError:
            raw.settimeout(max(0.1, deadline - time.monotonic()))
            chunk = raw.recv(65536)
            assert chunk
            inc.write(chunk)
    assert got == b"\x00\x00\x00\x06\x00\x00\x00\x00OK"


# -- TLS 1.2 / 1.3 and --tls-min-version --------------------------------------------------------

@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_versions(nsqd_factory, certs, version):
    nsqd = nsqd_factory(*tls_args(certs))
    c = nsqd.conn()
    identify_json(c, {"tls_v1": True})
    start_tls(c, client_context(certs, max_version=version, min_version=version))
    c.expect_ok()
    assert c.sock.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                                ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    c.assert_alive_init()


def test_tls_min_version_13_refuses_12(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs, "--tls-min-version=tls1.3"))
    c = nsqd.conn()
    identify_json(c, {"tls_v1": True})
    with pytest.raises((ssl.SSLError, ConnectionError)):
        start_tls(c, client_context(certs, max_version=ssl.TLSVersion.TLSv1_2))
    c2 = nsqd.conn()
    identify_json(c2, {"tls_v1": True})
    start_tls(c2, client_context(certs, min_version=ssl.TLSVersion.TLSv1_3))
    c2.expect_ok()


# -- --tls-required (§1.8) ------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["tcp-https", "true"])
def test_tls_required_refuses_plaintext_commands(nsqd_factory, certs, mode):
    # TestTLSRequired
    nsqd = nsqd_factory(*tls_args(certs, f"--tls-required={mode}"))
    for cmd in ["SUB t ch", "NOP", "PUB t", "RDY 1", "BOGUS x"]:
        c = nsqd.conn()
        c.cmd(cmd)
        name = cmd.split(" ")[0]
        c.expect_fatal(f"E_INVALID cannot {name} in current state (TLS required)")
    # IDENTIFY is exempt; after the upgrade everything works
    c = upgraded(nsqd, certs)
    c.cmd("SUB t ch")
    c.expect_ok()
    c.assert_alive_subscribed()


def test_tls_required_identify_without_upgrade_then_sub(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs, "--tls-required"))
    c = nsqd.conn()
    c.identify({"client_id": "x"})
    c.expect_ok()
    c.cmd("SUB t ch")
    c.expect_fatal("E_INVALID cannot SUB in current state (TLS required)")


# -- client certificates (--tls-client-auth-policy) ---------------------------------------------

def handshake_outcome(nsqd, certs, cert):
    """True iff the upgrade completes and `OK` arrives over TLS; False if the server refuses
    the client (handshake alert, reset or close)."""
    c = nsqd.conn()
    identify_json(c, {"tls_v1": True})
    try:
        start_tls(c, client_context(certs, cert=cert))
        ftype, data = c.read_frame(5)
    except TimeoutError:
        raise
    except (ssl.SSLError, ConnClosed, ConnectionError, OSError):
        return False
    assert (ftype, data) == (FRAME_RESPONSE, b"OK")
    return True


def test_client_auth_require(nsqd_factory, certs):
    # TestTLSAuthRequire: any certificate, but one is needed
    nsqd = nsqd_factory(*tls_args(certs, "--tls-client-auth-policy=require"))
    assert handshake_outcome(nsqd, certs, None) is False
    assert handshake_outcome(nsqd, certs, "rogue") is True
    assert handshake_outcome(nsqd, certs, "client") is True


def test_client_auth_require_verify(nsqd_factory, certs):
    # TestTLSAuthRequireVerify: only CA-signed certificates
    nsqd = nsqd_factory(*tls_args(certs, "--tls-client-auth-policy=require-verify",
                                  f"--tls-root-ca-file={certs.ca_pem}"))
    assert handshake_outcome(nsqd, certs, None) is False
    assert handshake_outcome(nsqd, certs, "rogue") is False
    assert handshake_outcome(nsqd, certs, "client") is True
    # the policy implies --tls-required=true
    c = nsqd.conn()
    c.cmd("NOP")
    c.expect_fatal("E_INVALID cannot NOP in current state (TLS required)")


def test_client_auth_require_verify_full_session(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs, "--tls-client-auth-policy=require-verify",
                                  f"--tls-root-ca-file={certs.ca_pem}"))
    c = upgraded(nsqd, certs, cert="client")
    c.pub("rv", b"m")
    c.expect_ok()


# -- TLS then compression (TestTLSSnappy, TestTLSDeflate) --------------------------------------

def test_tls_then_snappy(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    publish(nsqd, "tls_snappy", b"s" * 100_000)
    c = nsqd.conn()
    resp = identify_json(c, {"tls_v1": True, "snappy": True})
    assert resp["tls_v1"] is True and resp["snappy"] is True
    start_tls(c, client_context(certs))
    c.expect_ok()
    dec = SnappyStreamDecoder()
    c.set_codec(dec, SnappyStreamEncoder())
    c.expect_ok()
    assert dec.seen_stream_id
    c.cmd("SUB tls_snappy ch")
    c.expect_ok()
    c.cmd("RDY 1")
    assert c.read_message().body == b"s" * 100_000


def test_tls_then_deflate(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    publish(nsqd, "tls_deflate", b"d" * 100_000)
    c = nsqd.conn()
    resp = identify_json(c, {"tls_v1": True, "deflate": True, "deflate_level": 9})
    assert resp["tls_v1"] is True and resp["deflate"] is True and resp["deflate_level"] == 6
    start_tls(c, client_context(certs))
    c.expect_ok()
    c.set_codec(DeflateStreamDecoder(), DeflateStreamEncoder(6))
    c.expect_ok()
    c.cmd("SUB tls_deflate ch")
    c.expect_ok()
    c.cmd("RDY 1")
    assert c.read_message().body == b"d" * 100_000


def test_tls_both_compressions_fatal_before_handshake(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    c = nsqd.conn()
    c.identify({"feature_negotiation": True, "tls_v1": True, "snappy": True, "deflate": True})
    c.expect_fatal("E_IDENTIFY_FAILED cannot enable both deflate and snappy compression")


# -- /stats -----------------------------------------------------------------------------------

def client_stats(nsqd, topic, channel):
    st = nsqd.stats(topic=topic, channel=channel)
    for t in st.get("topics") or []:
        for ch in t.get("channels") or []:
            if ch["clients"]:
                return ch["clients"][0]
    raise AssertionError(f"no client in /stats: {st}")


@pytest.mark.parametrize("version,want_version,cipher,want_cipher", [
    (ssl.TLSVersion.TLSv1_2, "TLS1.2", "ECDHE-RSA-AES128-GCM-SHA256",
     "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    # a suite missing from the reference's name table
    (ssl.TLSVersion.TLSv1_2, "TLS1.2", "ECDHE-RSA-AES256-GCM-SHA384", "Unknown 49200"),
    (ssl.TLSVersion.TLSv1_3, "TLS1.3", None, None),
])
def test_stats_tls_fields(nsqd_factory, certs, version, want_version, cipher, want_cipher):
    nsqd = nsqd_factory(*tls_args(certs))
    c = nsqd.conn()
    identify_json(c, {"tls_v1": True})
    start_tls(c, client_context(certs, max_version=version, min_version=version,
                                ciphers=cipher))
    c.expect_ok()
    c.cmd("SUB st ch")
    c.expect_ok()
    cl = client_stats(nsqd, "st", "ch")
    assert cl["tls"] is True
    assert cl["tls_version"] == want_version
    if want_cipher is not None:
        assert cl["tls_cipher_suite"] == want_cipher
    else:
        assert cl["tls_cipher_suite"] in ("Unknown 4865", "Unknown 4866", "Unknown 4867")
    assert cl["tls_negotiated_protocol"] == ""
    # Go's deprecated ConnectionState.NegotiatedProtocolIsMutual is always true
    assert cl["tls_negotiated_protocol_is_mutual"] is True


def test_stats_plain_client_tls_fields(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    c = nsqd.conn()
    c.cmd("SUB st ch")
    c.expect_ok()
    cl = client_stats(nsqd, "st", "ch")
    assert (cl["tls"], cl["tls_version"], cl["tls_cipher_suite"]) == (False, "", "")


# -- startup validation (§5.2) -------------------------------------------------------------------

def start_fails(tmp_path, *args) -> str:
    p = subprocess.run([NSQD_BIN, f"--tcp-address=127.0.0.1:{free_port()}",
                        f"--http-address=127.0.0.1:{free_port()}",
                        f"--https-address=127.0.0.1:{free_port()}",
                        f"--data-path={tmp_path}", *args],
                       capture_output=True, timeout=20, cwd=tmp_path)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    return (p.stdout + p.stderr).decode(errors="replace")


def test_startup_missing_cert_file(tmp_path):
    out = start_fails(tmp_path, "--tls-cert=/nonexistent/cert.pem", "--tls-key=/nonexistent/k.pem")
    assert ("failed to instantiate nsqd - failed to build TLS config - "
            "open /nonexistent/cert.pem: no such file or directory") in out


def test_startup_not_pem(tmp_path, certs):
    junk = tmp_path / "junk.pem"
    junk.write_text("junk\n")
    out = start_fails(tmp_path, f"--tls-cert={junk}", f"--tls-key={certs.server_key}")
    assert ("failed to build TLS config - tls: failed to find any PEM data in certificate input"
            in out)


def test_startup_bad_root_ca(tmp_path, certs):
    junk = tmp_path / "junk.pem"
    junk.write_text("junk\n")
    out = start_fails(tmp_path, f"--tls-cert={certs.server_pem}",
                      f"--tls-key={certs.server_key}", f"--tls-root-ca-file={junk}")
    assert "failed to build TLS config - failed to append certificate to pool" in out


def test_startup_tls_required_without_cert(tmp_path):
    out = start_fails(tmp_path, "--tls-required=tcp-https")
    assert "cannot require TLS client connections without TLS key and cert" in out


def test_startup_key_does_not_match(tmp_path, certs):
    out = start_fails(tmp_path, f"--tls-cert={certs.server_pem}", f"--tls-key={certs.client_key}")
    assert "failed to build TLS config - " in out
