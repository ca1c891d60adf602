"""Helpers for the utility tests (test_tools_*.py): running our to_nsq, nsq_tail, nsq_stat,
nsq_to_file, nsq_to_http and nsq_to_nsq against real nsqd/nsqlookupd processes.

Everything is bounded: one-shot runs have a timeout, background tools are stopped by PID
(SIGTERM, then SIGKILL), and every wait has a deadline.

Environment:
  TOOLS_BIN_DIR           directory holding the tool binaries (default <repo>/target/debug)
  TOOLS_ARE_REFERENCE=1   the binaries are the reference Go tools: tests marked
                          `ours_only` are skipped
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from nsqlib import REPO, Conn, Nsqd, wait_for  # noqa: F401  (re-exported for tests)

TOOLS_ARE_REFERENCE = os.environ.get("TOOLS_ARE_REFERENCE") == "1"

ours_only = pytest.mark.skipif(TOOLS_ARE_REFERENCE,
                               reason="documents a deliberate deviation from the reference")


def _bin_dir() -> Path:
    value = os.environ.get("TOOLS_BIN_DIR")
    if not value:
        return REPO / "target" / "debug"
    p = Path(value)
    return p if p.is_absolute() else (Path.cwd() / p if (Path.cwd() / p).exists() else REPO / p)


BIN_DIR = _bin_dir()


def tool_path(name: str) -> str:
    p = BIN_DIR / name
    if not p.exists():
        pytest.fail(f"{name} not found at {p}; build it (cargo build -p {name}) or set "
                    f"TOOLS_BIN_DIR")
    return str(p)


def run_tool(name: str, *args: str, input: bytes | None = None, timeout: float = 30.0,
             cwd: str | None = None) -> subprocess.CompletedProcess:
    """Runs a tool to completion (bounded) and returns the completed process (bytes)."""
    return subprocess.run([tool_path(name), *args], input=input, capture_output=True,
                          timeout=timeout, cwd=cwd)


class Tool:
    """A tool running in the background; stdout and stderr go to files under `workdir`."""

    def __init__(self, name: str, args: list[str], workdir: Path, stdin=subprocess.DEVNULL):
        self.name = name
        self.args = args
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.out_path = workdir / f"{name}.{id(self)}.out"
        self.err_path = workdir / f"{name}.{id(self)}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([tool_path(name), *args], stdin=stdin, stdout=out,
                                         stderr=err, cwd=workdir)

    def stdout(self) -> bytes:
        return self.out_path.read_bytes()

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_stderr(self, needle: str, timeout: float = 10.0) -> str:
        return wait_for(lambda: needle in self.stderr() and self.stderr(), timeout=timeout,
                        what=f"{self.name} stderr to contain {needle!r}")

    def send_signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout: float = 15.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signals the process by PID and waits; SIGKILL if it does not exit in time."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        return self.proc.returncode


@pytest.fixture
def tools(tmp_path):
    """Starts background tools; every one still running is stopped at teardown."""
    started: list[Tool] = []

    def start(name: str, *args: str, stdin=subprocess.DEVNULL) -> Tool:
        t = Tool(name, list(args), tmp_path / "tools", stdin=stdin)
        started.append(t)
        return t

    yield start
    for t in started:
        if t.proc.stdin:
            try:
                t.proc.stdin.close()
            except OSError:
                pass
        t.stop(signal.SIGKILL)


def std_log_line(line: str) -> str:
    """The message of a Go standard-log line (`2006/01/02 15:04:05 msg`)."""
    parts = line.split(" ", 2)
    assert len(parts) == 3 and len(parts[0]) == 10 and len(parts[1]) == 8, line
    return parts[2]


def last_log_message(stderr: str | bytes) -> str:
    if isinstance(stderr, bytes):
        stderr = stderr.decode(errors="replace")
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines, "no stderr output"
    return std_log_line(lines[-1])


# -- nsqd helpers --------------------------------------------------------------------------

def consume(nsqd: Nsqd, topic: str, channel: str, count: int, timeout: float = 10.0,
            fin: bool = True) -> list[bytes]:
    """SUBscribes and reads `count` message bodies (FINishing them)."""
    c = nsqd.conn()
    try:
        c.cmd(f"SUB {topic} {channel}")
        c.expect_ok()
        c.cmd(f"RDY {max(count, 1)}")
        bodies = []
        deadline = time.monotonic() + timeout
        while len(bodies) < count:
            m = c.read_message(timeout=max(0.1, deadline - time.monotonic()))
            bodies.append(m.body)
            if fin:
                c.cmd(b"FIN " + m.id)
        return bodies
    finally:
        c.close()


def create_channel(nsqd: Nsqd, topic: str, channel: str) -> None:
    """Creates the topic and channel over TCP (SUB then close), so messages accumulate."""
    c = nsqd.conn()
    try:
        c.cmd(f"SUB {topic} {channel}")
        c.expect_ok()
    finally:
        c.close()


def pub(nsqd: Nsqd, topic: str, *bodies: bytes) -> None:
    with nsqd.conn() as c:
        for b in bodies:
            c.pub(topic, b)
        for _ in bodies:
            c.expect_skipping_heartbeats(0, b"OK")


def wait_http(nsqd: Nsqd, timeout: float = 10.0) -> None:
    """Waits until nsqd's HTTP API answers /ping (the fixture only waits for TCP)."""
    def ok():
        try:
            return nsqd.http("GET", "/ping", timeout=1.0)[0] == 200
        except OSError:
            return False
    wait_for(ok, timeout=timeout, what="nsqd HTTP API")


def lookup_producers(lookupd, topic: str) -> list:
    """The producers nsqlookupd lists for `topic` ([] while the topic is unknown)."""
    import json
    status, _, body = lookupd.get(f"/lookup?topic={topic}")
    return json.loads(body).get("producers") or [] if status == 200 else []


def channel_depth(nsqd: Nsqd, topic: str, channel: str) -> int | None:
    """The channel's depth from /stats (None if absent). Needs nsqd's HTTP API."""
    ch = nsqd.channel_stats(topic, channel)
    return None if ch is None else ch["depth"]


# -- a recording HTTP server for nsq_to_http ------------------------------------------------

class Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status: int = 200):
        self.requests: list[dict] = []
        self.status = status
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # silence
        pass

    def _record(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        srv: Recorder = self.server  # type: ignore[assignment]
        with srv.lock:
            srv.requests.append({"method": self.command, "path": self.path,
                                 "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "body": body})
            status = srv.status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = _record
    do_POST = _record


@pytest.fixture
def http_recorder():
    servers: list[Recorder] = []

    def make(status: int = 200) -> Recorder:
        r = Recorder(status)
        servers.append(r)
        return r

    yield make
    for s in servers:
        s.close()


def free_port() -> int:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()
