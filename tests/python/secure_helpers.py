"""Helpers for the TLS, compression and auth tests: a throw-away PKI, TLS upgrades of a raw
`nsqlib.Conn`, and a scriptable auth server.

Everything binds to 127.0.0.1 on OS-chosen ports and is bounded in time. Certificates are
generated per test session by tests/certs/gen.sh (openssl) into a temporary directory.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nsqlib import FRAME_RESPONSE, REPO, Conn, ConnClosed, free_port

GEN_SH = REPO / "tests" / "certs" / "gen.sh"


@dataclass(frozen=True)
class Certs:
    dir: Path

    def __getattr__(self, name: str) -> str:
        # certs.ca_pem -> <dir>/ca.pem, certs.client_key -> <dir>/client.key, ...
        stem, _, ext = name.rpartition("_")
        if not stem or ext not in ("pem", "key"):
            raise AttributeError(name)
        return str(self.dir / f"{stem.replace('_', '-')}.{ext}")


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Certs:
    d = tmp_path_factory.mktemp("certs")
    subprocess.run([str(GEN_SH), str(d)], check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Certs(d)


def tls_args(certs: Certs, *extra: str) -> list[str]:
    """Flags for an nsqd with TLS configured; the HTTPS listener gets a free loopback port
    (the reference otherwise binds 0.0.0.0:4152)."""
    return [f"--tls-cert={certs.server_pem}", f"--tls-key={certs.server_key}",
            f"--https-address=127.0.0.1:{free_port()}", *extra]


def client_context(certs: Certs, cert: str | None = None, max_version=None, min_version=None,
                   ciphers: str | None = None) -> ssl.SSLContext:
    """A client context trusting the test CA; `cert` = "client" or "rogue" to present one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs.ca_pem)
    if cert is not None:
        ctx.load_cert_chain(getattr(certs, f"{cert}_pem"), getattr(certs, f"{cert}_key"))
    if max_version is not None:
        ctx.maximum_version = max_version
    if min_version is not None:
        ctx.minimum_version = min_version
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


def identify_json(c: Conn, obj: dict) -> dict:
    """IDENTIFY with feature negotiation; returns the decoded JSON answer."""
    c.identify({"feature_negotiation": True, **obj})
    ftype, data = c.read_frame()
    assert ftype == FRAME_RESPONSE, data
    return json.loads(data)


def start_tls(c: Conn, ctx: ssl.SSLContext) -> None:
    """Client side of the TLS upgrade on a raw connection, after the IDENTIFY answer."""
    assert c.buf == b"", f"unexpected bytes before the TLS handshake: {c.buf!r}"
    c.sock.settimeout(c.timeout)
    c.sock = ctx.wrap_socket(c.sock, server_hostname="127.0.0.1")


def read_fails(c: Conn, timeout: float = 5.0) -> bool:
    """True iff reading the next frame fails (TLS alert, reset, EOF) instead of yielding one."""
    try:
        c.read_frame(timeout)
    except (ssl.SSLError, ConnClosed, ConnectionError, OSError, AssertionError):
        return True
    return False


def expect_tls_closed(c: Conn, timeout: float = 5.0) -> None:
    """The server closes a TLS connection without sending another frame."""
    deadline = time.monotonic() + timeout
    assert c.buf == b"", f"unexpected buffered bytes: {c.buf!r}"
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "expected the server to close the connection"
        c.sock.settimeout(left)
        try:
            chunk = c.sock.recv(65536)
        except (ssl.SSLError, ConnectionError):
            return
        except socket.timeout:
            raise AssertionError("expected the server to close the connection")
        if not chunk:
            return
        data = c.rx(chunk) if c.rx is not None else chunk
        assert not data, f"expected close, got {data!r}"


# -- auth server --------------------------------------------------------------------------------

@dataclass
class AuthRequestRecord:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    raw_path: str


@dataclass
class Answer:
    status: int = 200
    body: bytes | str | dict = b""
    delay: float = 0.0


def grant(topic: str, channels=(".*",), permissions=("subscribe", "publish"),
          ttl: int = 3600, identity: str = "", identity_url: str = "") -> Answer:
    return Answer(body={"ttl": ttl, "identity": identity, "identity_url": identity_url,
                        "authorizations": [{"topic": topic, "channels": list(channels),
                                            "permissions": list(permissions)}]})


@dataclass
class AuthServer:
    """An auth server in a thread. `answer(record) -> Answer` decides each response (the
    default looks the secret up in `by_secret`, else answers with no authorizations)."""

    by_secret: dict = field(default_factory=dict)
    answer: object = None
    ssl_context: ssl.SSLContext | None = None
    requests: list = field(default_factory=list)

    def start(self) -> "AuthServer":
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                parsed = urllib.parse.urlsplit(self.path)
                rec = AuthRequestRecord(
                    method=self.command, path=parsed.path,
                    query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                    raw_path=self.path)
                with outer._lock:
                    outer.requests.append(rec)
                ans = outer._decide(rec)
                if ans.delay:
                    time.sleep(ans.delay)
                payload = ans.body
                if isinstance(payload, dict):
                    payload = json.dumps(payload)
                if isinstance(payload, str):
                    payload = payload.encode()
                try:
                    self.send_response(ans.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_GET = _handle
            do_POST = _handle

        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if self.ssl_context is not None:
            self.httpd.socket = self.ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def _decide(self, rec: AuthRequestRecord) -> Answer:
        if self.answer is not None:
            return self.answer(rec)
        secret = secret_of(rec)
        return self.by_secret.get(secret, Answer(body={"ttl": 3600, "authorizations": []}))

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def last(self) -> AuthRequestRecord:
        with self._lock:
            assert self.requests, "the auth server got no request"
            return self.requests[-1]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def secret_of(rec: AuthRequestRecord) -> str:
    if rec.method == "POST":
        return json.loads(rec.body)["secret"][0]
    return rec.query.get("secret", [""])[0]


@pytest.fixture
def auth_server_factory():
    started: list[AuthServer] = []

    def make(**kwargs) -> AuthServer:
        s = AuthServer(**kwargs).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def auth(c: Conn, secret: bytes | str) -> tuple[int, bytes]:
    """Send AUTH and return the next (non-heartbeat) frame."""
    if isinstance(secret, str):
        secret = secret.encode()
    c.cmd("AUTH", secret)
    return c.read_frame_skip_heartbeats()


# -- pynsq round trips ---------------------------------------------------------------------------

def pynsq_round_trip(nsqd, topic: str, n: int = 200, timeout: float = 60.0, **conn_kwargs):
    """Publishes `n` messages plus one of ~1 MiB with a pynsq Writer (PUB and MPUB) and reads
    them back with a pynsq Reader, both created with `conn_kwargs` (tls_v1, tls_options,
    snappy, deflate, deflate_level, auth_secret). Returns the delivered bodies (a Counter)."""
    import asyncio
    import collections

    from pynsq_helpers import assert_ok, mpub, pub, run_scenario, wait_until

    bodies = [b"%s-%05d" % (topic.encode(), i) for i in range(n)]
    big = bytes(range(256)) * 4096
    want = set(bodies) | {big}
    seen = collections.Counter()

    def handler(m):
        seen[m.body] += 1
        return True

    async def scenario(sc):
        w = await sc.writer(nsqd, **conn_kwargs)
        for b in bodies[: n // 2]:
            assert_ok(await pub(w, topic, b))
        assert_ok(await mpub(w, topic, bodies[n // 2:]))
        assert_ok(await pub(w, topic, big))
        sc.reader(nsqd, topic, "ch", handler, max_in_flight=50, **conn_kwargs)
        await wait_until(lambda: set(seen) == want, timeout - 5, "all messages")
        await asyncio.sleep(0.3)

    run_scenario(scenario, timeout=timeout)
    assert set(seen) == want
    assert all(c == 1 for c in seen.values()), "duplicate deliveries"
    return seen


def pynsq_tls_options(certs: Certs, cert: str | None = None) -> dict:
    opts = {"ca_certs": certs.ca_pem, "cert_reqs": ssl.CERT_REQUIRED}
    if cert is not None:
        opts["certfile"] = getattr(certs, f"{cert}_pem")
        opts["keyfile"] = getattr(certs, f"{cert}_key")
    return opts
