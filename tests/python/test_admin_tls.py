"""nsqadmin's upstream client against a TLS-only nsqd: the 403 `TLS_REQUIRED` answer over http
is retried over https on the port it names, with --http-client-tls-* settings."""

from __future__ import annotations

import http.client

from admin_fixtures import cluster_factory  # noqa: F401
from secure_helpers import certs, client_context, tls_args  # noqa: F401


def https_publish(n, certs, topic: str, body: bytes) -> None:
    """POST /pub over the nsqd's HTTPS listener (plain TCP and HTTP are refused)."""
    port = int(next(a for a in n.extra_args if a.startswith("--https-address=")).rsplit(":", 1)[1])
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5,
                                       context=client_context(certs, cert="client"))
    try:
        conn.request("POST", f"/pub?topic={topic}", body=body)
        r = conn.getresponse()
        assert r.status == 200, r.read()
    finally:
        conn.close()


def tls_cluster(cluster_factory, certs):
    c = cluster_factory(lookupds=0, nsqds=0)
    n = c.add_nsqd(*tls_args(certs, "--tls-required=true",
                             "--tls-client-auth-policy=require-verify",
                             f"--tls-root-ca-file={certs.ca_pem}"), register=False)
    return c, n


def test_tls_required_nsqd_through_https_retry(cluster_factory, certs):
    c, n = tls_cluster(cluster_factory, certs)
    https_publish(n, certs, "secure", b"m")
    admin = c.admin(f"--http-client-tls-root-ca-file={certs.ca_pem}",
                    f"--http-client-tls-cert={certs.client_pem}",
                    f"--http-client-tls-key={certs.client_key}", mode="nsqd")
    body = admin.ok("GET", "/api/nodes")
    assert body["message"] == ""
    assert [node["http_port"] for node in body["nodes"]] == [n.http_port]
    detail = admin.ok("GET", f"/api/nodes/{n.http_address}")
    assert [t["topic_name"] for t in detail["topics"]] == ["secure"]
    assert admin.ok("POST", "/api/topics/secure", {"action": "pause"}) == {"message": ""}
    assert admin.ok("GET", "/api/topics/secure")["paused"] is True


def test_insecure_skip_verify(cluster_factory, certs):
    c, n = tls_cluster(cluster_factory, certs)
    admin = c.admin("--http-client-tls-insecure-skip-verify",
                    f"--http-client-tls-cert={certs.client_pem}",
                    f"--http-client-tls-key={certs.client_key}", mode="nsqd")
    assert admin.ok("GET", "/api/nodes")["message"] == ""


def test_untrusted_server_and_missing_client_cert_fail_cleanly(cluster_factory, certs):
    c, n = tls_cluster(cluster_factory, certs)
    # no CA for the server certificate: verification fails
    admin = c.admin(f"--http-client-tls-cert={certs.client_pem}",
                    f"--http-client-tls-key={certs.client_key}", mode="nsqd")
    r = admin.get("/api/nodes")
    assert r.status == 502 and r.message.startswith("UPSTREAM_ERROR: failed to query any nsqd: ")
    # trusted server, but nsqd requires a client certificate
    admin = c.admin(f"--http-client-tls-root-ca-file={certs.ca_pem}", mode="nsqd")
    r = admin.get("/api/nodes")
    assert r.status == 502
    assert admin.alive()
