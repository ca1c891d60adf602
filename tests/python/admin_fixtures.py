"""Fixtures for the nsqadmin API tests (test_admin_*.py): a real cluster of our nsqlookupd and
nsqd(s) on free loopback ports, nsqadmin processes against it, a webhook receiver and a fake
graphite. Every process is stopped by PID; every wait is bounded.

Environment:
  NSQADMIN_BIN            nsqadmin under test (default <repo>/target/debug/nsqadmin)
  NSQADMIN_IS_REFERENCE=1 it is the reference Go nsqadmin (v1.3.0 from bench/reference.sh):
                          tests of deliberate deviations are skipped and post-1.3.0 JSON
                          fields are not expected
  NSQD_BIN / NSQLOOKUPD_BIN  the daemons of the cluster (see nsqlib / lookupd_fixtures)

Test modules import the fixtures by name:
    from admin_fixtures import cluster, admin_factory, hooks  # noqa: F401
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lookupd_fixtures import Lookupd
from nsqlib import Nsqd, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]


def _resolve_bin(value: str | None) -> str:
    if not value:
        return str(REPO / "target" / "debug" / "nsqadmin")
    if os.path.isabs(value):
        return value
    here = os.path.abspath(value)
    return here if os.path.exists(here) else str(REPO / value)


ADMIN_BIN = _resolve_bin(os.environ.get("NSQADMIN_BIN"))
IS_REFERENCE = os.environ.get("NSQADMIN_IS_REFERENCE") == "1"
HOSTNAME = socket.gethostname()
TIMEOUT = 10.0

ours_only = pytest.mark.skipif(
    IS_REFERENCE, reason="deliberate deviation from the reference (bug fix or clearer answer)")


# ---------------------------------------------------------------------------------------
# HTTP


class Resp:
    """A response: status, headers (case-insensitive), raw body, and the body as JSON."""

    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def message(self) -> str:
        return self.json["message"]

    def __repr__(self) -> str:
        return f"Resp({self.status}, {self.body[:300]!r})"


def request(port: int, method: str, path: str, body=None, headers: dict | None = None,
            timeout: float = TIMEOUT) -> Resp:
    """One HTTP request to 127.0.0.1:`port`. A dict/list body is sent as JSON."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Resp(r.status, r.headers, r.read())
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------
# processes


class Admin:
    """One nsqadmin process on a free 127.0.0.1 port."""

    def __init__(self, log_path: Path, args: list[str]):
        self.log_path = log_path
        self.args = list(args)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.base = ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Admin":
        for attempt in range(3):
            self.port = free_port()
            argv = [ADMIN_BIN, f"--http-address=127.0.0.1:{self.port}", *self.args]
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            try:
                self.wait_ready()
                return self
            except RuntimeError:
                self.stop()
                if "address already in use" not in self.log() or attempt == 2:
                    raise
        return self

    def wait_ready(self, deadline: float = 10.0) -> None:
        for a in self.args:
            if a.startswith("--base-path="):
                b = a.split("=", 1)[1].strip("/")
                self.base = f"/{b}" if b else ""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"nsqadmin exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if request(self.port, "GET", f"{self.base}/ping", timeout=0.5).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"nsqadmin not ready after {deadline}s:\n{self.log()}")

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # requests (paths are relative to the base path)
    def req(self, method: str, path: str, body=None, headers=None, timeout: float = TIMEOUT) -> Resp:
        return request(self.port, method, self.base + path, body, headers, timeout)

    def get(self, path: str, **kw) -> Resp:
        return self.req("GET", path, **kw)

    def post(self, path: str, body=None, **kw) -> Resp:
        return self.req("POST", path, body, **kw)

    def delete(self, path: str, body=None, **kw) -> Resp:
        return self.req("DELETE", path, body, **kw)

    def ok(self, method: str, path: str, body=None, **kw) -> dict:
        """A request that must answer 200 with a JSON body; returns it."""
        r = self.req(method, path, body, **kw)
        assert r.status == 200, (method, path, r)
        return r.json


def run_admin(args: list[str], timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Runs nsqadmin expecting it to exit (startup failures, --version)."""
    return subprocess.run([ADMIN_BIN, *args], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


# nsqd binaries found without an HTTP API: later tests fail at once instead of waiting again.
_NO_HTTP: dict[str, str] = {}


class Cluster:
    """nsqlookupd + nsqds registered with it, and nsqadmins against either."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.lookupds: list[Lookupd] = []
        self.nsqds: list[Nsqd] = []
        self.admins: list[Admin] = []

    @property
    def lookupd(self) -> Lookupd:
        return self.lookupds[0]

    def add_lookupd(self) -> Lookupd:
        d = Lookupd(self.tmp / f"nsqlookupd{len(self.lookupds)}.log",
                    ("--broadcast-address=127.0.0.1",))
        self.lookupds.append(d)
        return d.start()

    def add_nsqd(self, *args: str, register: bool = True) -> Nsqd:
        extra = ["--broadcast-address=127.0.0.1", "--e2e-processing-latency-percentile=0.99,0.5",
                 *args]
        if register:
            extra += [f"--lookupd-tcp-address={lk.tcp_addr}" for lk in self.lookupds]
        n = Nsqd(self.tmp / f"nsqd{len(self.nsqds)}", extra,
                 log_path=self.tmp / f"nsqd{len(self.nsqds)}.log")
        self.nsqds.append(n)
        if n.binary in _NO_HTTP:
            pytest.fail(_NO_HTTP[n.binary])
        n.start()
        deadline = time.monotonic() + 3.0
        while True:  # /ping answers once HTTP is up (TCP is already listening)
            try:
                # any answer means HTTP is up (a TLS-required nsqd answers 403 over http)
                if n.http("GET", "/ping", timeout=0.5)[0] in (200, 403):
                    return n
            except OSError:
                pass
            if time.monotonic() > deadline:
                _NO_HTTP[n.binary] = (
                    f"nsqd under test ({n.binary}) does not serve its HTTP API (/ping on "
                    f"{n.http_address}); nsqadmin needs nsqd's /stats, /info and admin routes"
                    f"\n{n.log_tail(20)}")
                pytest.fail(_NO_HTTP[n.binary])
            time.sleep(0.02)

    def admin(self, *args: str, mode: str = "lookupd") -> Admin:
        """An nsqadmin in lookupd mode (all lookupds), nsqd mode (all nsqds) or with only the
        given args (`mode="none"`)."""
        addrs: list[str] = []
        if mode == "lookupd":
            addrs = [f"--lookupd-http-address={lk.http_addr}" for lk in self.lookupds]
        elif mode == "nsqd":
            addrs = [f"--nsqd-http-address={n.http_address}" for n in self.nsqds]
        a = Admin(self.tmp / f"nsqadmin{len(self.admins)}.log", [*addrs, *args])
        self.admins.append(a)
        return a.start()

    def wait_registered(self, topic: str, count: int) -> None:
        """Until every lookupd lists `count` producers of `topic`."""
        for lk in self.lookupds:
            def n_producers(lk=lk):
                status, _, body = lk.get(f"/lookup?topic={topic}")
                return status == 200 and len(json.loads(body)["producers"]) == count
            wait_for(n_producers, timeout=TIMEOUT, what=f"{count} producers of {topic}")

    def stop(self) -> None:
        for a in self.admins:
            a.stop()
        for n in self.nsqds:
            n.stop()
        for lk in self.lookupds:
            lk.stop()

    def logs(self) -> str:
        out = []
        for a in self.admins:
            out.append(f"--- nsqadmin {a.args} ---\n{a.log()[-4000:]}")
        for n in self.nsqds:
            out.append(f"--- nsqd {n.http_address} ---\n{n.log_tail(30)}")
        for lk in self.lookupds:
            out.append(f"--- nsqlookupd {lk.http_addr} ---\n{lk.log()[-2000:]}")
        return "\n".join(out)


@pytest.fixture
def cluster_factory(tmp_path, request):
    made: list[Cluster] = []

    def make(lookupds: int = 1, nsqds: int = 1) -> Cluster:
        c = Cluster(tmp_path / f"cluster{len(made)}")
        c.tmp.mkdir(parents=True, exist_ok=True)
        made.append(c)
        for _ in range(lookupds):
            c.add_lookupd()
        for _ in range(nsqds):
            c.add_nsqd()
        return c

    yield make
    rep = getattr(request.node, "rep_call", None)
    for c in made:
        if rep is not None and rep.failed:
            print(c.logs())
        c.stop()


@pytest.fixture
def cluster(cluster_factory) -> Cluster:
    """One nsqlookupd and two nsqds registered with it (no nsqadmin yet)."""
    return cluster_factory(lookupds=1, nsqds=2)


# ---------------------------------------------------------------------------------------
# webhook receiver and fake graphite


class Recorder:
    """An HTTP server in a thread that records requests (header names lower-cased) and answers
    with `status` after `delay` seconds."""

    def __init__(self, status: int = 200, body: bytes = b"", delay: float = 0.0):
        self.requests: list[dict] = []
        self.status = status
        self.body = body
        self.delay = delay
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(n) if n else b""
                rec.requests.append({"method": self.command, "path": self.path,
                                     "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": data})
                if rec.delay:
                    time.sleep(rec.delay)
                self.send_response(rec.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(rec.body)))
                self.end_headers()
                self.wfile.write(rec.body)

            do_GET = do_POST = _handle  # noqa: N815

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def json_bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests if r["body"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder_factory():
    made: list[Recorder] = []

    def make(**kw) -> Recorder:
        r = Recorder(**kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


@pytest.fixture
def hooks(recorder_factory) -> Recorder:
    """A webhook receiver answering 200."""
    return recorder_factory()


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    return free_port()
