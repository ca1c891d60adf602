"""Helpers for the persistence tests (test_persistence_*.py, spec §6): daemons started from
a chosen binary on a chosen data path (to restart, crash or hand a directory to the other
implementation), raw bulk publishing and draining, nsqd.dat reading/writing, and running a
daemon that is expected to refuse to start.

Everything is bounded: sockets have timeouts, waits have deadlines, and every process is
stopped by PID (the `daemons` fixture stops whatever it started).
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from nsqlib import (FRAME_ERROR, FRAME_MESSAGE, FRAME_RESPONSE, NSQD_BIN, REPO, Conn, Nsqd,
                    free_port, mpub_body)

REF_DIR = REPO / "bench" / ".build" / "bin"
REF_NSQD = REF_DIR / "nsqd"


# -- binaries ---------------------------------------------------------------------------------

def reference_nsqd() -> str:
    """The reference nsqd built by bench/reference.sh (v1.3.0 from the Go module proxy).

    Built on first use when missing and `go` is available; the test is skipped, saying so,
    only when Go is absent (or the build fails, with its output)."""
    if REF_NSQD.exists():
        return str(REF_NSQD)
    if shutil.which("go") is None:
        pytest.skip("reference nsqd not built (bench/.build/bin/nsqd) and Go is not installed: "
                    "cannot check data-directory compatibility with the reference")
    try:
        out = subprocess.run([str(REPO / "bench" / "reference.sh")], capture_output=True,
                             timeout=600, text=True)
    except subprocess.TimeoutExpired:
        pytest.skip("bench/reference.sh did not finish within 600 s")
    if out.returncode != 0 or not REF_NSQD.exists():
        pytest.skip(f"bench/reference.sh failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return str(REF_NSQD)


def is_reference_binary(binary: str) -> bool:
    """A binary built by bench/reference.sh has REF_VERSION next to it."""
    return (Path(binary).parent / "REF_VERSION").exists()


# -- daemons ----------------------------------------------------------------------------------

class Daemons:
    """Starts nsqd processes from any binary on given data paths; stops them all at the end."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[Nsqd] = []

    def start(self, data_path: Path, *args: str, binary: str = NSQD_BIN) -> Nsqd:
        d = Nsqd(data_path, args, binary=binary,
                 log_path=self.tmp_path / f"{Path(data_path).name}.{len(self.started)}.log")
        self.started.append(d)
        d.start()
        return d

    def stop_all(self) -> None:
        for d in self.started:
            d.stop()


@pytest.fixture
def daemons(tmp_path, request):
    ds = Daemons(tmp_path)
    yield ds
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        import sys
        for d in ds.started:
            sys.stderr.write(f"\n--- nsqd log ({d.log_path}) ---\n{d.log_tail(40)}\n")
    ds.stop_all()


def run_to_exit(binary: str, data_path: Path, *args: str,
                timeout: float = 15.0) -> tuple[int | None, str]:
    """Runs nsqd expected to refuse to start; returns (exit status, output). A daemon that
    is still running after `timeout` is killed (status None)."""
    cmd = [binary, f"--tcp-address=127.0.0.1:{free_port()}",
           f"--http-address=127.0.0.1:{free_port()}", f"--data-path={data_path}", *args]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate(timeout=5)
        return None, out.decode(errors="replace")


def fatal_line(output: str) -> str:
    """The text after `FATAL: ` of the first fatal log line ('' if none)."""
    for line in output.splitlines():
        i = line.find("FATAL: ")
        if i >= 0:
            return line[i + len("FATAL: "):]
    return ""


def has_http(d: Nsqd) -> bool:
    """True if the daemon serves the HTTP API (GET /ping answers at all)."""
    try:
        status, _ = d.http("GET", "/ping", timeout=2.0)
    except OSError:
        return False
    return status in (200, 500)


# -- raw bulk traffic -------------------------------------------------------------------------

def mpub_all(d: Nsqd, topic: str, bodies: list[bytes], batch: int = 1000) -> None:
    """Publishes `bodies` in MPUB batches on one connection; every batch must get OK."""
    with d.conn(timeout=30.0) as c:
        for start in range(0, len(bodies), batch):
            c.send(f"MPUB {topic}\n".encode() + mpub_body(bodies[start:start + batch]))
            ftype, data = c.read_frame_skip_heartbeats(timeout=30.0)
            assert (ftype, data) == (FRAME_RESPONSE, b"OK"), f"MPUB answered {ftype} {data!r}"


def dpub(d: Nsqd, topic: str, delay_ms: int, body: bytes) -> float:
    """DPUBs one message; returns the time (monotonic) the OK arrived."""
    with d.conn() as c:
        c.cmd(f"DPUB {topic} {delay_ms}", body)
        c.expect_ok()
    return time.monotonic()


class Consumer:
    """A raw subscribed connection that receives, FINs, holds and REQs messages."""

    def __init__(self, d: Nsqd, topic: str, channel: str, msg_timeout_ms: int | None = None):
        self.conn = d.conn(timeout=10.0)
        if msg_timeout_ms is not None:
            self.conn.identify({"msg_timeout": msg_timeout_ms})
            self.conn.expect_ok()
        self.conn.cmd(f"SUB {topic} {channel}")
        self.conn.expect_ok()
        self.held: dict[bytes, bytes] = {}  # body -> id of messages left in flight

    def rdy(self, n: int) -> None:
        self.conn.cmd(f"RDY {n}")

    def take(self, n: int, fin: bool, timeout: float = 15.0) -> list[bytes]:
        """Receives `n` messages; FINs them, or keeps them in flight (`held`)."""
        got = []
        for _ in range(n):
            m = self.conn.read_message(timeout=timeout)
            got.append(m.body)
            if fin:
                self.conn.cmd(b"FIN " + m.id)
            else:
                self.held[m.body] = m.id
        return got

    def take_rest(self, quiet: float = 0.5) -> list[bytes]:
        """Keeps in flight whatever else arrives until the connection is quiet (RDY must be
        0 already, so that this ends)."""
        got = []
        while True:
            try:
                m = self.conn.read_message(timeout=quiet)
            except TimeoutError:
                return got
            self.held[m.body] = m.id
            got.append(m.body)

    def requeue(self, body: bytes, delay_ms: int) -> float:
        """REQs a held message with a delay; returns when (monotonic) the command was sent."""
        mid = self.held.pop(body)
        self.conn.cmd(b"REQ " + mid + b" %d" % delay_ms)
        return time.monotonic()

    def sync(self) -> None:
        """Round trip: every command sent so far has been processed (a FIN of an unknown
        id answers E_FIN_FAILED, which is not fatal)."""
        self.conn.cmd("FIN 0000000000000000")
        while True:
            ftype, data = self.conn.read_frame_skip_heartbeats(timeout=10.0)
            if ftype == FRAME_ERROR and data.startswith(b"E_FIN_FAILED FIN 0000000000000000"):
                return
            assert ftype != FRAME_ERROR, f"unexpected error {data!r}"
            assert ftype == FRAME_MESSAGE, f"unexpected frame {ftype} {data!r}"
            raise AssertionError("a message arrived while syncing (RDY should be 0)")

    def close(self) -> None:
        self.conn.close()


def drain(d: Nsqd, topic: str, channel: str, expect: int | None = None, idle: float = 1.5,
          rdy: int = 500, timeout: float = 60.0) -> tuple[collections.Counter, dict]:
    """Consumes and FINs until `expect` distinct bodies arrived and then `idle` seconds
    passed without a message (or, without `expect`, until `idle` seconds of silence).
    Returns (delivery count per body, first arrival time per body)."""
    seen: collections.Counter = collections.Counter()
    first: dict[bytes, float] = {}
    deadline = time.monotonic() + timeout
    c = Conn(d.tcp_addr, timeout=10.0)
    try:
        c.cmd(f"SUB {topic} {channel}")
        c.expect_ok()
        c.cmd(f"RDY {rdy}")
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"drain {topic}/{channel}: {len(seen)} of {expect} after {timeout}s"
            quiet = idle if expect is None or len(seen) >= expect else min(left, 15.0)
            try:
                m = c.read_message(timeout=quiet)
            except TimeoutError:
                if expect is None or len(seen) >= expect:
                    return seen, first
                continue
            seen[m.body] += 1
            first.setdefault(m.body, time.monotonic())
            c.cmd(b"FIN " + m.id)
    finally:
        c.close()


def assert_exactly_once(seen: collections.Counter, want: set[bytes], what: str) -> None:
    missing = want - set(seen)
    extra = set(seen) - want
    dups = {b: n for b, n in seen.items() if n > 1}
    assert not missing, f"{what}: {len(missing)} messages lost, e.g. {sorted(missing)[:5]}"
    assert not extra, f"{what}: {len(extra)} unexpected messages, e.g. {sorted(extra)[:5]}"
    assert not dups, f"{what}: {len(dups)} delivered more than once, e.g. {list(dups.items())[:5]}"


# -- nsqd.dat ---------------------------------------------------------------------------------

def metadata_path(data_path: Path) -> Path:
    return Path(data_path) / "nsqd.dat"


def read_metadata(data_path: Path):
    """nsqd.dat parsed with key order kept (lists of (key, value) pairs become dicts whose
    order is the file's)."""
    return json.loads(metadata_path(data_path).read_text())


def write_metadata(data_path: Path, topics: list[dict] | None) -> None:
    Path(data_path).mkdir(parents=True, exist_ok=True)
    metadata_path(data_path).write_text(
        json.dumps({"topics": topics, "version": "1.3.0"}, separators=(",", ":")))


def metadata_summary(meta) -> dict:
    """{topic: (paused, {channel: paused})}, independent of the (unspecified) order."""
    out = {}
    for t in meta["topics"] or []:
        out[t["name"]] = (t["paused"], {c["name"]: c["paused"] for c in t["channels"] or []})
    return out


def diskqueue_files(data_path: Path) -> list[str]:
    return sorted(n for n in os.listdir(data_path) if ".diskqueue." in n)
