"""Spec §1.11 AUTH and §7 (--auth-http-address): request formats, answer validation,
permission matching, TTL re-auth, exact error frames; reference test TestClientAuth."""

import json
import ssl
import time

import pytest

from nsqlib import FRAME_RESPONSE, free_port
from secure_helpers import (Answer, auth, auth_server_factory, certs, client_context,  # noqa: F401
                            grant, identify_json, start_tls, tls_args)


def authed_nsqd(nsqd_factory, server, *args):
    return nsqd_factory(f"--auth-http-address={server.address}", *args)


def expect_auth_ok(c, secret, identity="", identity_url="", count=1):
    ftype, data = auth(c, secret)
    assert (ftype, json.loads(data)) == (FRAME_RESPONSE, {
        "identity": identity, "identity_url": identity_url, "permission_count": count}), data
    return data


# -- TestClientAuth ------------------------------------------------------------------------------

def test_identify_says_auth_required(nsqd_factory, auth_server_factory):
    s = auth_server_factory()
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    assert identify_json(c, {})["auth_required"] is True
    assert s.count() == 0


def test_no_authorizations(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"x": Answer(body={"ttl": 1, "authorizations": []})})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    c.cmd("AUTH", b"x")
    c.expect_fatal("E_UNAUTHORIZED AUTH no authorizations found")


def test_auth_then_sub_exact_response(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"ok": grant("test", ttl=1)})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    data = expect_auth_ok(c, "ok")
    assert data == b'{"identity":"","identity_url":"","permission_count":1}'
    c.cmd("SUB test ch")
    c.expect_ok()


def test_identity_and_permission_count(nsqd_factory, auth_server_factory):
    body = {"ttl": 60, "identity": "alice <a&b>", "identity_url": "http://x/alice",
            "authorizations": [
                {"topic": "a", "channels": [".*"], "permissions": ["publish"]},
                {"topic": "b", "channels": [".*"], "permissions": ["subscribe"]},
                {"topic": "c", "channels": [], "permissions": []}]}
    s = auth_server_factory(by_secret={"k": Answer(body=body)})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    _, data = auth(c, "k")
    # Go's encoding escapes <, > and &
    assert data == (b'{"identity":"alice \\u003ca\\u0026b\\u003e","identity_url":"http://x/alice",'
                    b'"permission_count":3}')


# -- request formats (§7.2) ----------------------------------------------------------------------

def test_get_request_format(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"se cr&t=/": grant("t")})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "se cr&t=/")
    r = s.last()
    assert r.method == "GET"
    assert r.raw_path == ("/auth?common_name=&remote_ip=127.0.0.1&secret=se+cr%26t%3D%2F"
                          "&tls=false")
    assert r.headers["accept"] == "application/vnd.nsq; version=1.0"
    assert r.headers["host"] == s.address


@pytest.mark.not_reference("the v1.3.0 reference build predates --auth-http-request-method")
def test_post_request_format(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"pubok": grant("t")})
    nsqd = authed_nsqd(nsqd_factory, s, "--auth-http-request-method=post")
    c = nsqd.conn()
    expect_auth_ok(c, "pubok")
    r = s.last()
    assert r.method == "POST"
    assert r.raw_path == "/auth"
    assert r.body == (b'{"common_name":[""],"remote_ip":["127.0.0.1"],"secret":["pubok"],'
                      b'"tls":["false"]}')
    assert r.headers["content-type"] == "application/json"
    assert r.headers["accept"] == "application/vnd.nsq; version=1.0"


def test_full_url_address_used_verbatim(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"k": grant("t")})
    nsqd = nsqd_factory(f"--auth-http-address=http://{s.address}/custom/path")
    c = nsqd.conn()
    expect_auth_ok(c, "k")
    assert s.last().path == "/custom/path"


def test_tls_and_common_name_sent(nsqd_factory, auth_server_factory, certs):
    s = auth_server_factory(by_secret={"k": grant("t")})
    nsqd = nsqd_factory(*tls_args(certs, "--tls-client-auth-policy=require"),
                        f"--auth-http-address={s.address}")
    c = nsqd.conn()
    assert identify_json(c, {"tls_v1": True})["auth_required"] is True
    start_tls(c, client_context(certs, cert="client"))
    c.expect_ok()
    expect_auth_ok(c, "k")
    q = s.last().query
    assert (q["tls"], q["common_name"], q["remote_ip"]) == (["true"], ["test.local"],
                                                            ["127.0.0.1"])


@pytest.mark.not_reference("the v1.3.0 reference build predates --auth-http-request-method")
def test_tls_without_client_cert_sends_empty_common_name(nsqd_factory, auth_server_factory,
                                                         certs):
    s = auth_server_factory(by_secret={"k": grant("t")})
    nsqd = nsqd_factory(*tls_args(certs), f"--auth-http-address={s.address}",
                        "--auth-http-request-method=post")
    c = nsqd.conn()
    identify_json(c, {"tls_v1": True})
    start_tls(c, client_context(certs, cert="client"))  # not requested by the server
    c.expect_ok()
    expect_auth_ok(c, "k")
    body = json.loads(s.last().body)
    assert (body["tls"], body["common_name"]) == (["true"], [""])


# -- permissions (§7.4) ----------------------------------------------------------------------

def test_grant_one_topic_refuse_another(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"k": grant("^allowed$")})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "k")
    c.pub("allowed", b"x")
    c.expect_ok()
    c.mpub("allowed", [b"a", b"b"])
    c.expect_ok()
    c.cmd("DPUB allowed 10", b"x")
    c.expect_ok()
    for cmd, send in [("PUB", lambda c: c.pub("denied", b"x")),
                      ("MPUB", lambda c: c.mpub("denied", [b"x"])),
                      ("DPUB", lambda c: c.cmd("DPUB denied 10", b"x")),
                      ("SUB", lambda c: c.cmd("SUB denied ch"))]:
        c = nsqd.conn()
        expect_auth_ok(c, "k")
        send(c)
        channel = "ch" if cmd == "SUB" else ""
        c.expect_fatal(f'E_UNAUTHORIZED AUTH failed for {cmd} on "denied" "{channel}"')
    c = nsqd.conn()
    expect_auth_ok(c, "k")
    c.cmd("SUB allowed ch")
    c.expect_ok()
    c.cmd("RDY 10")
    assert c.read_message().body in (b"x", b"a", b"b")


def test_publish_needs_a_channel_regex_matching_empty(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={
        "none": grant("t", channels=[]),
        "all": grant("t", channels=[".*"]),
        "nonempty": grant("t", channels=[".+"]),
    })
    nsqd = authed_nsqd(nsqd_factory, s)
    for secret, ok in [("none", False), ("all", True), ("nonempty", False)]:
        c = nsqd.conn()
        expect_auth_ok(c, secret)
        c.pub("t", b"x")
        if ok:
            c.expect_ok()
        else:
            c.expect_fatal('E_UNAUTHORIZED AUTH failed for PUB on "t" ""')


def test_permission_kinds(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={
        "pub": grant("t", permissions=["publish"]),
        "sub": grant("t", permissions=["subscribe"]),
    })
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "pub")
    c.cmd("SUB t ch")
    c.expect_fatal('E_UNAUTHORIZED AUTH failed for SUB on "t" "ch"')
    c = nsqd.conn()
    expect_auth_ok(c, "sub")
    c.pub("t", b"x")
    c.expect_fatal('E_UNAUTHORIZED AUTH failed for PUB on "t" ""')
    c = nsqd.conn()
    expect_auth_ok(c, "sub")
    c.cmd("SUB t ch")
    c.expect_ok()


def test_regexes_are_unanchored_searches(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"k": grant("^p", channels=["s"])})
    nsqd = authed_nsqd(nsqd_factory, s)
    for topic, channel, ok in [("p1", "s1", True), ("p1", "xsx", True), ("xp", "s", False),
                               ("p", "c", False)]:
        c = nsqd.conn()
        expect_auth_ok(c, "k")
        c.cmd(f"SUB {topic} {channel}")
        if ok:
            c.expect_ok()
        else:
            c.expect_fatal(f'E_UNAUTHORIZED AUTH failed for SUB on "{topic}" "{channel}"')


# -- ordering and state rules ------------------------------------------------------------------

@pytest.mark.parametrize("cmd,send", [
    ("PUB", lambda c: c.pub("t", b"x")),
    ("MPUB", lambda c: c.mpub("t", [b"x"])),
    ("DPUB", lambda c: c.cmd("DPUB t 0", b"x")),
    ("SUB", lambda c: c.cmd("SUB t ch")),
])
def test_auth_first(nsqd_factory, auth_server_factory, cmd, send):
    s = auth_server_factory()
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    send(c)
    c.expect_fatal(f"E_AUTH_FIRST AUTH required before {cmd}")


def test_mpub_checks_auth_before_reading_the_body(nsqd_factory, auth_server_factory):
    s = auth_server_factory()
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    c.cmd("MPUB t")  # no body at all
    c.expect_fatal("E_AUTH_FIRST AUTH required before MPUB")


def test_pub_reads_the_body_before_checking_auth(nsqd_factory, auth_server_factory):
    s = auth_server_factory()
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    c.cmd("PUB t")
    c.expect_nothing(0.3)  # still waiting for the body
    c.send(b"\x00\x00\x00\x01x")
    c.expect_fatal("E_AUTH_FIRST AUTH required before PUB")


def test_unchecked_commands(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"k": grant("t")})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    c.cmd("NOP")
    c.identify({"client_id": "x"})
    c.expect_ok()
    expect_auth_ok(c, "k")
    c.cmd("SUB t ch")
    c.expect_ok()
    c.cmd("RDY 1")
    c.assert_alive_subscribed()


def test_auth_already_set(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"k": grant("t")})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "k")
    c.cmd("AUTH", b"k")
    c.expect_fatal("E_INVALID AUTH already set")
    assert s.count() == 1


def test_auth_after_sub_is_invalid(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"k": grant("t")})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "k")
    c.cmd("SUB t ch")
    c.expect_ok()
    c.cmd("AUTH", b"k")
    c.expect_fatal("E_INVALID cannot AUTH in current state")


def test_binary_secret(nsqd_factory, auth_server_factory):
    s = auth_server_factory(answer=lambda rec: grant("t"))
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, b"\x00\xff a")
    assert s.last().raw_path.startswith(
        "/auth?common_name=&remote_ip=127.0.0.1&secret=%00%FF+a&tls=false")


# -- broken auth servers ---------------------------------------------------------------------

BAD_ANSWERS = {
    "status500": Answer(status=500, body="oops"),
    "status404": Answer(status=404, body="nope"),
    "nonsense": Answer(body="this is not json"),
    "array": Answer(body="[]"),
    "ttl0": Answer(body={"ttl": 0, "authorizations": [
        {"topic": "t", "channels": [".*"], "permissions": ["publish"]}]}),
    "ttl_string": Answer(body={"ttl": "60", "authorizations": []}),
    "bad_permission": Answer(body={"ttl": 60, "authorizations": [
        {"topic": "t", "channels": [".*"], "permissions": ["admin"]}]}),
    "bad_topic_regex": Answer(body={"ttl": 60, "authorizations": [
        {"topic": "(", "channels": [".*"], "permissions": ["publish"]}]}),
    "bad_channel_regex": Answer(body={"ttl": 60, "authorizations": [
        {"topic": "t", "channels": ["["], "permissions": ["publish"]}]}),
    "channels_not_list": Answer(body={"ttl": 60, "authorizations": [
        {"topic": "t", "channels": ".*", "permissions": ["publish"]}]}),
    "forbidden_no_port": Answer(status=403, body="{}"),
}


@pytest.mark.parametrize("secret", sorted(BAD_ANSWERS))
def test_bad_answers_are_auth_failed(nsqd_factory, auth_server_factory, secret):
    s = auth_server_factory(by_secret=dict(BAD_ANSWERS))
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    c.cmd("AUTH", secret.encode())
    c.expect_fatal("E_AUTH_FAILED AUTH failed")


def test_auth_server_down(nsqd_factory):
    nsqd = nsqd_factory(f"--auth-http-address=127.0.0.1:{free_port()}")
    c = nsqd.conn()
    c.cmd("AUTH", b"k")
    c.expect_fatal("E_AUTH_FAILED AUTH failed")


def test_slow_auth_server_times_out_others_unaffected(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"slow": Answer(delay=3.0, body={"ttl": 60}),
                                       "k": grant("t")})
    nsqd = authed_nsqd(nsqd_factory, s, "--http-client-request-timeout=500ms")
    slow = nsqd.conn()
    t0 = time.monotonic()
    slow.cmd("AUTH", b"slow")
    # another client is served while the slow query is pending
    fast = nsqd.conn()
    expect_auth_ok(fast, "k")
    fast.pub("t", b"x")
    fast.expect_ok()
    slow.expect_fatal("E_AUTH_FAILED AUTH failed")
    assert time.monotonic() - t0 < 2.5


def test_client_disconnects_during_auth_query(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"slow": Answer(delay=1.0, body={"ttl": 60}),
                                       "k": grant("t")})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    c.cmd("AUTH", b"slow")
    c.close()
    time.sleep(1.3)
    c2 = nsqd.conn()
    expect_auth_ok(c2, "k")


def test_multiple_servers_one_down(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"k": grant("t")})
    dead = f"127.0.0.1:{free_port()}"
    nsqd = nsqd_factory(f"--auth-http-address={dead}", f"--auth-http-address={s.address}")
    for _ in range(6):  # random start index: both orders get exercised
        c = nsqd.conn()
        expect_auth_ok(c, "k")


def test_forbidden_retried_over_https(nsqd_factory, auth_server_factory, certs):
    # an HTTPS auth server, and a plain one answering like an nsqd with TLS_REQUIRED
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_pem, certs.server_key)
    secure = auth_server_factory(by_secret={"k": grant("t", identity="via-https")},
                                 ssl_context=ctx)
    plain = auth_server_factory(answer=lambda rec: Answer(
        status=403, body=f'{{"message": "TLS_REQUIRED", "https_port": {secure.port}}}'))
    nsqd = nsqd_factory(f"--auth-http-address={plain.address}",
                        f"--tls-root-ca-file={certs.ca_pem}")
    c = nsqd.conn()
    expect_auth_ok(c, "k", identity="via-https")
    assert plain.count() == 1
    assert secure.last().raw_path == plain.last().raw_path


@pytest.mark.not_reference("the v1.3.0 reference build predates --auth-http-request-method")
def test_https_auth_server(nsqd_factory, auth_server_factory, certs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_pem, certs.server_key)
    secure = auth_server_factory(by_secret={"k": grant("t")}, ssl_context=ctx)
    nsqd = nsqd_factory(f"--auth-http-address=https://{secure.address}/auth",
                        f"--tls-root-ca-file={certs.ca_pem}", "--auth-http-request-method=post")
    c = nsqd.conn()
    expect_auth_ok(c, "k")


def test_https_auth_server_untrusted(nsqd_factory, auth_server_factory, certs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_pem, certs.server_key)
    secure = auth_server_factory(by_secret={"k": grant("t")}, ssl_context=ctx)
    nsqd = nsqd_factory(f"--auth-http-address=https://{secure.address}/auth",
                        f"--tls-root-ca-file={certs.rogue_ca_pem}")
    c = nsqd.conn()
    c.cmd("AUTH", b"k")
    c.expect_fatal("E_AUTH_FAILED AUTH failed")


# -- TTL (§7.3) -------------------------------------------------------------------------------

def test_ttl_expiry_requeries_with_stored_secret(nsqd_factory, auth_server_factory):
    answers = {"n": 0}

    def answer(rec):
        answers["n"] += 1
        if answers["n"] == 1:
            return grant("t", ttl=1)
        return grant("other", ttl=60)  # the second answer no longer covers t

    s = auth_server_factory(answer=answer)
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "k")
    c.pub("t", b"1")
    c.expect_ok()
    assert s.count() == 1
    time.sleep(1.3)
    c.pub("t", b"2")
    c.expect_fatal('E_UNAUTHORIZED AUTH failed for PUB on "t" ""')
    assert s.count() == 2
    assert s.last().query["secret"] == ["k"]


def test_ttl_expiry_requery_failure(nsqd_factory, auth_server_factory):
    answers = {"n": 0}

    def answer(rec):
        answers["n"] += 1
        return grant("t", ttl=1) if answers["n"] == 1 else Answer(status=500)

    s = auth_server_factory(answer=answer)
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "k")
    time.sleep(1.3)
    c.cmd("SUB t ch")
    c.expect_fatal("E_AUTH_FAILED AUTH failed")


def test_ttl_renewed_answer_keeps_working(nsqd_factory, auth_server_factory):
    s = auth_server_factory(answer=lambda rec: grant("t", ttl=1))
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "k")
    time.sleep(1.3)
    c.pub("t", b"x")
    c.expect_ok()
    c.pub("t", b"y")  # fresh answer: no further query
    c.expect_ok()
    assert s.count() == 2


def test_subscribed_consumer_not_rechecked(nsqd_factory, auth_server_factory):
    s = auth_server_factory(answer=lambda rec: grant("t", ttl=1))
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "k")
    c.cmd("SUB t ch")
    c.expect_ok()
    time.sleep(1.3)
    c.cmd("RDY 1")
    p = nsqd.conn()
    expect_auth_ok(p, "k")
    p.pub("t", b"m")
    p.expect_ok()
    m = c.read_message()
    c.cmd(b"FIN " + m.id)
    c.assert_alive_subscribed()
    assert s.count() == 2


# -- HTTP publishing is not subject to auth (nsqd/http.go checks nothing) -----------------------

def test_http_pub_ignores_auth(nsqd_factory, auth_server_factory):
    s = auth_server_factory()
    nsqd = authed_nsqd(nsqd_factory, s)
    status, body = nsqd.http("POST", "/pub?topic=httpt", b"hello")
    assert (status, body) == (200, b"OK")
    status, body = nsqd.http("POST", "/mpub?topic=httpt", b"a\nb\n")
    assert (status, body) == (200, b"OK")
    assert s.count() == 0


# -- /stats ---------------------------------------------------------------------------------

def test_stats_auth_fields(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"k": grant("t", identity="bob", identity_url="u")})
    nsqd = authed_nsqd(nsqd_factory, s)
    c = nsqd.conn()
    expect_auth_ok(c, "k", identity="bob", identity_url="u")
    c.cmd("SUB t ch")
    c.expect_ok()
    cl = nsqd.channel_stats("t", "ch")["clients"][0]
    assert (cl["authed"], cl["auth_identity"], cl["auth_identity_url"]) == (True, "bob", "u")


def test_auth_disabled_still_reads_body(nsqd):
    c = nsqd.conn()
    c.cmd("AUTH")
    c.expect_nothing(0.3)
    c.send(b"\x00\x00\x00\x01x")
    c.expect_fatal("E_AUTH_DISABLED AUTH disabled")
