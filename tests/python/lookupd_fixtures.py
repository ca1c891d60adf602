"""Helpers and fixtures for the nsqlookupd tests (test_lookupd_*.py).

Everything is bounded in time: every socket operation has a timeout, every wait a deadline,
and every daemon we start is stopped by PID (SIGTERM, then SIGKILL).

Environment:
  NSQLOOKUPD_BIN            daemon under test (default <repo>/target/debug/nsqlookupd)
  NSQLOOKUPD_IS_REFERENCE=1 the daemon is the reference Go nsqlookupd: tests of behaviour
                            where the reference crashes or is unbounded are skipped
  NSQLOOKUPD_TOPOLOGY=0|1   whether PeerInfo JSON carries topology_zone/topology_region
                            (post-1.3.0). Default: yes, except for a reference built from
                            v1.3.0 (bench/.build/bin/REF_VERSION says so).

Test modules import the fixtures by name:
    from lookupd_fixtures import lookupd, lookupd_factory  # noqa: F401
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _resolve_bin(value: str | None) -> str:
    if not value:
        return str(REPO / "target" / "debug" / "nsqlookupd")
    if os.path.isabs(value):
        return value
    here = os.path.abspath(value)
    return here if os.path.exists(here) else str(REPO / value)


LOOKUPD_BIN = _resolve_bin(os.environ.get("NSQLOOKUPD_BIN"))
IS_REFERENCE = os.environ.get("NSQLOOKUPD_IS_REFERENCE") == "1"


def _topology() -> bool:
    env = os.environ.get("NSQLOOKUPD_TOPOLOGY")
    if env is not None:
        return env == "1"
    if not IS_REFERENCE:
        return True
    ref = Path(LOOKUPD_BIN).parent / "REF_VERSION"
    try:
        return not ref.read_text().strip().endswith("@v1.3.0")
    except OSError:
        return True


TOPOLOGY = _topology()
HOSTNAME = socket.gethostname()
IO_TIMEOUT = 5.0
GO_ZERO_TIME_UNIX_NANOS = -6795364578871345152

ours_only = pytest.mark.skipif(
    IS_REFERENCE, reason="the reference crashes or misbehaves here; we assert our sane answer")


# ---------------------------------------------------------------------------------------
# process management


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, then close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Lookupd:
    """One nsqlookupd process on free 127.0.0.1 ports, stderr captured to a file."""

    def __init__(self, log_path: Path, args: tuple[str, ...] = (), *, ports: bool = True):
        self.log_path = log_path
        self.extra = list(args)
        self.with_ports = ports
        self.proc: subprocess.Popen | None = None
        self.tcp_port = 0
        self.http_port = 0

    @property
    def tcp_addr(self) -> str:
        return f"127.0.0.1:{self.tcp_port}"

    @property
    def http_addr(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    def argv(self) -> list[str]:
        argv = [LOOKUPD_BIN]
        if self.with_ports:
            argv += [f"--tcp-address={self.tcp_addr}", f"--http-address={self.http_addr}"]
        return argv + self.extra

    def start(self, attempts: int = 3) -> "Lookupd":
        for attempt in range(attempts):
            if self.with_ports:
                self.tcp_port, self.http_port = free_port(), free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log)
            try:
                self.wait_ready()
                return self
            except RuntimeError:
                self.stop()
                # A port probed free may have been taken meanwhile; try new ones.
                if "address already in use" not in self.log() or attempt == attempts - 1:
                    raise
        return self

    def wait_ready(self, deadline: float = 10.0) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"nsqlookupd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _, _ = http_request(self.http_port, "GET", "/ping", timeout=0.5)
                if status == 200:
                    with socket.create_connection(("127.0.0.1", self.tcp_port), timeout=0.5):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"nsqlookupd not ready after {deadline}s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Stops the process by PID; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        return self.proc.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_log(self, pattern: str, deadline: float = 5.0) -> re.Match:
        end = time.monotonic() + deadline
        while True:
            m = re.search(pattern, self.log(), re.M)
            if m:
                return m
            if time.monotonic() > end:
                raise AssertionError(f"log never matched {pattern!r}:\n{self.log()}")
            time.sleep(0.02)

    # HTTP conveniences -------------------------------------------------------------
    def get(self, path: str, **kw):
        return http_request(self.http_port, "GET", path, **kw)

    def post(self, path: str, **kw):
        return http_request(self.http_port, "POST", path, **kw)

    def get_json(self, path: str):
        status, headers, body = self.get(path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def v1(self, identify: bool = True, **fields) -> "V1Client":
        c = V1Client(self.tcp_port)
        c.magic()
        if identify:
            c.identify_ok(**fields)
        return c


@pytest.fixture
def lookupd_factory(tmp_path, request):
    started: list[Lookupd] = []

    def make(*args: str, start: bool = True, ports: bool = True) -> Lookupd:
        d = Lookupd(tmp_path / f"nsqlookupd{len(started)}.log", args, ports=ports)
        started.append(d)
        if start:
            d.start()
        return d

    yield make
    rep = getattr(request.node, "rep_call", None)
    for d in started:
        d.stop()
        if rep is not None and rep.failed:
            print(f"\n--- nsqlookupd log ({d.log_path}) ---\n{d.log()[-6000:]}")


@pytest.fixture
def lookupd(lookupd_factory) -> Lookupd:
    """A daemon with default settings and --broadcast-address=lookupd-bcast."""
    return lookupd_factory("--broadcast-address=lookupd-bcast")


# ---------------------------------------------------------------------------------------
# HTTP


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict | None = None, timeout: float = IO_TIMEOUT):
    """Returns (status, headers as a case-insensitive message, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.headers, data
    finally:
        conn.close()


def raw_http(port: int, request: bytes, timeout: float = IO_TIMEOUT) -> bytes:
    """Sends raw request bytes (should ask for Connection: close); returns all response
    bytes until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d


def split_raw_response(raw: bytes):
    """(status line, [(name, value)] in wire order and spelling, body)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    return lines[0], headers, body


def compact(obj) -> bytes:
    """JSON as Go writes it for these values (compact, insertion order)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def peer_json(remote: str, hostname="h1", broadcast="n1", tcp_port=4150, http_port=4151,
              version="1.3.0", zone="", region="") -> dict:
    """A PeerInfo as /lookup shows it, in field order."""
    d = {"remote_address": remote, "hostname": hostname, "broadcast_address": broadcast,
         "tcp_port": tcp_port, "http_port": http_port, "version": version}
    if TOPOLOGY:
        d["topology_zone"] = zone
        d["topology_region"] = region
    return d


def node_json(remote: str, tombstones: list, topics: list, **kw) -> dict:
    d = peer_json(remote, **kw)
    d["tombstones"] = tombstones
    d["topics"] = topics
    return d


def v1_error_body(code: str) -> bytes:
    return compact({"message": code})


def poll(fn, deadline: float = 5.0, interval: float = 0.05):
    """Calls fn until it returns a truthy value or the deadline passes; returns the last
    value."""
    end = time.monotonic() + deadline
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------------------------------
# TCP protocol V1

MAGIC_V1 = b"  V1"


def response(payload: bytes | str) -> bytes:
    """A V1 response as the server writes it: int32 BE size, payload (no frame type)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return struct.pack(">i", len(payload)) + payload


def sized(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


DEFAULT_IDENTIFY = {"broadcast_address": "n1", "hostname": "h1", "http_port": 4151,
                    "tcp_port": 4150, "version": "1.3.0"}


def identify_cmd(fields: dict | None = None, raw: bytes | None = None) -> bytes:
    body = raw if raw is not None else json.dumps(fields or DEFAULT_IDENTIFY).encode()
    return b"IDENTIFY\n" + sized(body)


class V1Client:
    """A raw lookup-protocol client with a timeout on every operation."""

    def __init__(self, port: int, timeout: float = IO_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    @property
    def local_addr(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"{host}:{port}"

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def magic(self) -> None:
        self.send(MAGIC_V1)

    def _fill(self, n: int) -> None:
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError(f"connection closed with {self.buf!r} buffered")
            self.buf += d

    def read_response(self) -> bytes:
        self._fill(4)
        (size,) = struct.unpack(">i", self.buf[:4])
        self._fill(4 + size)
        payload = self.buf[4:4 + size]
        self.buf = self.buf[4 + size:]
        return payload

    def call(self, line: bytes | str) -> bytes:
        if isinstance(line, str):
            line = line.encode()
        self.send(line if line.endswith(b"\n") else line + b"\n")
        return self.read_response()

    def read_until_close(self) -> bytes:
        """Every byte until the server closes (EOF or reset)."""
        out, self.buf = self.buf, b""
        while True:
            try:
                d = self.sock.recv(65536)
            except ConnectionResetError:
                return out
            if not d:
                return out
            out += d

    def identify_ok(self, **fields) -> dict:
        body = dict(DEFAULT_IDENTIFY)
        body.update(fields)
        self.send(identify_cmd(body))
        return json.loads(self.read_response())

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def exchange(port: int, data: bytes, shut_write: bool = False) -> bytes:
    """Sends the magic + data on a fresh connection; returns everything the server sends
    until it closes."""
    c = V1Client(port)
    try:
        c.send(MAGIC_V1 + data)
        if shut_write:
            c.sock.shutdown(socket.SHUT_WR)
        return c.read_until_close()
    finally:
        c.close()
