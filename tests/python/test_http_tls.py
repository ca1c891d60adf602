"""HTTPS and the plain-HTTP TLS-required gate (spec §4.1; §9.2 TestHTTPSRequire,
TestHTTPSRequireVerify, TestTLSRequireVerifyExceptHTTP)."""

from __future__ import annotations

import http.client
import json
import ssl

import pytest

from httplib import JSON_CT, V1_HEADER, V1_VALUE, Resp, get, post, request
from secure_helpers import certs, client_context, tls_args  # noqa: F401 (fixture)


def https_port(args: list[str]) -> int:
    a = next(a for a in args if a.startswith("--https-address="))
    return int(a.rsplit(":", 1)[1])


def https(port: int, ctx: ssl.SSLContext, method: str, path: str, body: bytes | None = None
          ) -> Resp:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return Resp(r.status, list(r.msg.items()), r.read())
    finally:
        conn.close()


def test_https_serves_the_api(nsqd_factory, certs):  # noqa: F811
    args = tls_args(certs)
    d = nsqd_factory(*args)
    port = https_port(args)
    ctx = client_context(certs)
    r = https(port, ctx, "POST", "/pub?topic=sec", b"m")
    assert (r.status, r.body) == (200, b"OK")
    assert r.header(V1_HEADER) == V1_VALUE
    assert https(port, ctx, "GET", "/ping").body == b"OK"
    info = json.loads(https(port, ctx, "GET", "/info").body)
    assert info["http_port"] == d.http_port
    # Plain HTTP stays open without --tls-required.
    assert get(d, "/ping").body == b"OK"
    t = json.loads(get(d, "/stats?format=json&topic=sec").body)["topics"][0]
    assert t["message_count"] == 1


@pytest.mark.parametrize("policy", [["--tls-required=true"], ["--tls-client-auth-policy=require"]])
def test_plain_http_refused_when_tls_required(nsqd_factory, certs, policy):  # noqa: F811
    args = tls_args(certs, *policy)
    d = nsqd_factory(*args)
    port = https_port(args)
    for method, path in [("GET", "/ping"), ("POST", "/pub?topic=x"), ("GET", "/nope"),
                         ("DELETE", "/stats")]:
        r = request(d, method, path, body=b"m" if method == "POST" else None)
        assert r.status == 403, r
        assert r.body == f'{{"message": "TLS_REQUIRED", "https_port": {port}}}'.encode()
        assert r.header(V1_HEADER) == V1_VALUE
        assert r.header("Content-Type") == JSON_CT
    cert = "client" if "require" in policy[0] else None
    r = https(port, client_context(certs, cert=cert), "POST", "/pub?topic=x", b"m")
    assert (r.status, r.body) == (200, b"OK")


def test_client_auth_require(nsqd_factory, certs):  # noqa: F811
    args = tls_args(certs, "--tls-client-auth-policy=require")
    nsqd_factory(*args)
    port = https_port(args)
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException, OSError)):
        https(port, client_context(certs), "GET", "/ping")
    # `require` accepts any certificate, even one our CA did not sign.
    assert https(port, client_context(certs, cert="rogue"), "GET", "/ping").body == b"OK"


def test_client_auth_require_verify(nsqd_factory, certs):  # noqa: F811
    args = tls_args(certs, "--tls-client-auth-policy=require-verify",
                    f"--tls-root-ca-file={certs.ca_pem}")
    nsqd_factory(*args)
    port = https_port(args)
    for cert in (None, "rogue"):
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException, OSError)):
            https(port, client_context(certs, cert=cert), "GET", "/ping")
    r = https(port, client_context(certs, cert="client"), "POST", "/pub?topic=v", b"m")
    assert (r.status, r.body) == (200, b"OK")


def test_tcp_https_leaves_plain_http_open(nsqd_factory, certs):  # noqa: F811
    d = nsqd_factory(*tls_args(certs, "--tls-required=tcp-https"))
    r = post(d, "/pub?topic=open", b"m")
    assert (r.status, r.body) == (200, b"OK")
