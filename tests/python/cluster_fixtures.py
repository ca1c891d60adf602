"""Helpers for the cluster tests (test_cluster_*.py): a fake nsqlookupd that records every
byte an nsqd sends it, a fake lookupd HTTP endpoint for channel pre-creation, and starting
real nsqlookupd/nsqd processes from a chosen binary (ours or the reference build).

Everything is bounded: sockets have timeouts, waits have deadlines, and processes are
stopped by PID.
"""

from __future__ import annotations

import http.server
import json
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from lookupd_fixtures import LOOKUPD_BIN, Lookupd
from nsqlib import NSQD_BIN, REPO, Nsqd

REF_DIR = REPO / "bench" / ".build" / "bin"
REF_NSQD = REF_DIR / "nsqd"
REF_LOOKUPD = REF_DIR / "nsqlookupd"


def ref_version() -> str:
    try:
        return (REF_DIR / "REF_VERSION").read_text().strip()
    except OSError:
        return ""


def have_reference() -> bool:
    return REF_NSQD.exists() and REF_LOOKUPD.exists()


def nsqd_lacks_topology(binary: str) -> bool:
    """True for a reference build of v1.3.0 (no topology flags or IDENTIFY keys): such a
    build has REF_VERSION next to it."""
    try:
        return (Path(binary).parent / "REF_VERSION").read_text().strip().endswith("@v1.3.0")
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# fake nsqlookupd (TCP protocol V1, server side)


class FakeLookupdConn:
    """One connection from nsqd: what it sent, and a way to drop it."""

    def __init__(self, index: int, sock: socket.socket):
        self.index = index
        self.sock = sock
        self.magic = b""
        self.commands: list[tuple[str, bytes | None]] = []
        self.closed_by_peer = False
        self.raw = b""

    def lines(self) -> list[str]:
        return [c for c, _ in self.commands]

    def drop(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class FakeLookupd:
    """Accepts nsqd connections on a free 127.0.0.1 port and records each command.

    IDENTIFY is answered with `identify_reply` (bytes, or a dict sent as JSON); every other
    command with `OK`. `broadcast_address`/`http_port` in the default reply point at nothing
    queryable unless the test sets them."""

    def __init__(self, identify_reply: bytes | dict | None = None):
        self.identify_reply: bytes | dict = identify_reply if identify_reply is not None else {
            "tcp_port": 1, "http_port": 1, "version": "1.3.0", "broadcast_address": "",
            "hostname": "fake"}
        self.oversize_reply: int | None = None
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.conns: list[FakeLookupdConn] = []
        self.cond = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self.stopping:
            try:
                s, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(30)
            with self.cond:
                conn = FakeLookupdConn(len(self.conns), s)
                self.conns.append(conn)
                self.cond.notify_all()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: FakeLookupdConn) -> None:
        buf = b""

        def fill(n: int) -> bool:
            nonlocal buf
            while len(buf) < n:
                try:
                    d = conn.sock.recv(65536)
                except OSError:
                    return False
                if not d:
                    return False
                conn.raw += d
                buf += d
            return True

        try:
            if not fill(4):
                return
            conn.magic, buf = buf[:4], buf[4:]
            while True:
                while b"\n" not in buf:
                    if not fill(len(buf) + 1):
                        return
                line, buf = buf.split(b"\n", 1)
                body = None
                if line == b"IDENTIFY":
                    if not fill(4):
                        return
                    (size,) = struct.unpack(">I", buf[:4])
                    if not fill(4 + size):
                        return
                    body, buf = buf[4:4 + size], buf[4 + size:]
                with self.cond:
                    conn.commands.append((line.decode(errors="replace"), body))
                    self.cond.notify_all()
                try:
                    conn.sock.sendall(self._reply(line))
                except OSError:
                    return
        finally:
            with self.cond:
                conn.closed_by_peer = True
                self.cond.notify_all()

    def _reply(self, line: bytes) -> bytes:
        if line == b"IDENTIFY":
            if self.oversize_reply is not None:
                return struct.pack(">i", self.oversize_reply) + b"{" * 16
            r = self.identify_reply
            data = r if isinstance(r, bytes) else json.dumps(r).encode()
        else:
            data = b"OK"
        return struct.pack(">i", len(data)) + data

    # -- waiting ------------------------------------------------------------------------
    def wait(self, pred, timeout: float = 10.0, what: str = "condition"):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                v = pred()
                if v:
                    return v
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake lookupd: timed out waiting for {what}; "
                                         f"connections: {self.describe()}")
                self.cond.wait(min(left, 0.2))

    def wait_conn(self, index: int, timeout: float = 10.0) -> FakeLookupdConn:
        return self.wait(lambda: self.conns[index] if len(self.conns) > index else None,
                         timeout, f"connection #{index}")

    def wait_commands(self, conn: FakeLookupdConn, n: int, timeout: float = 10.0) -> list[str]:
        """Waits until `conn` has received at least n commands; returns all its lines."""
        self.wait(lambda: len(conn.commands) >= n, timeout, f"{n} commands on #{conn.index}")
        with self.cond:
            return conn.lines()

    def wait_line(self, conn: FakeLookupdConn, line: str, timeout: float = 10.0) -> int:
        """Waits for `line` on `conn`; returns its position."""
        self.wait(lambda: line in conn.lines(), timeout, f"{line!r} on #{conn.index}")
        with self.cond:
            return conn.lines().index(line)

    def wait_closed(self, conn: FakeLookupdConn, timeout: float = 10.0) -> None:
        self.wait(lambda: conn.closed_by_peer, timeout, f"nsqd closing #{conn.index}")

    def describe(self) -> str:
        return "; ".join(f"#{c.index}: {c.lines()}{' (closed)' if c.closed_by_peer else ''}"
                         for c in self.conns)

    def stop(self) -> None:
        self.stopping = True
        try:
            self.listener.close()
        except OSError:
            pass
        for c in list(self.conns):
            c.drop()


# ---------------------------------------------------------------------------------------
# fake lookupd HTTP (GET /channels) for channel pre-creation


class FakeChannelsHttp:
    """Answers `GET /channels?topic=...` with `channels[topic]` and records each request's
    path and headers."""

    def __init__(self, channels: dict[str, list[str]]):
        self.channels = channels
        self.requests: list[tuple[str, dict]] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server naming
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                from urllib.parse import parse_qs, urlsplit
                q = parse_qs(urlsplit(self.path).query)
                topic = q.get("topic", [""])[0]
                body = json.dumps({"channels": fake.channels.get(topic, [])}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------
# real daemons from a chosen binary


class LookupdFrom(Lookupd):
    """nsqlookupd from an explicit binary (ours or the reference)."""

    def __init__(self, binary: str, log_path: Path, args: tuple[str, ...] = ()):
        super().__init__(log_path, args)
        self.binary = str(binary)

    def argv(self) -> list[str]:
        return [self.binary] + super().argv()[1:]

    def restart(self) -> None:
        """Stops the process and starts it again on the same ports."""
        self.stop()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log)
        self.wait_ready()


class Cluster:
    """Starts lookupds and nsqds for one test and stops them all (by PID) at the end."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.lookupds: list[Lookupd] = []
        self.nsqds: list[Nsqd] = []

    def lookupd(self, *args: str, binary: str = LOOKUPD_BIN) -> Lookupd:
        d = LookupdFrom(binary, self.tmp / f"lookupd{len(self.lookupds)}.log",
                        ("--broadcast-address=127.0.0.1", *args))
        self.lookupds.append(d)
        return d.start()

    def nsqd(self, *args: str, lookupds: list[Lookupd] | None = None,
             binary: str = NSQD_BIN, broadcast: str | None = "127.0.0.1") -> Nsqd:
        flags = [f"--lookupd-tcp-address={d.tcp_addr}" for d in (lookupds or [])]
        if broadcast is not None:
            flags.append(f"--broadcast-address={broadcast}")
        n = Nsqd(self.tmp / f"nsqd{len(self.nsqds)}", [*flags, *args], binary=str(binary))
        self.nsqds.append(n)
        return n.start()

    def logs(self) -> str:
        out = []
        for d in self.lookupds:
            out.append(f"--- {d.log_path} ---\n{d.log()[-4000:]}")
        for n in self.nsqds:
            out.append(f"--- {n.log_path} ---\n{n.log_tail(40)}")
        return "\n".join(out)

    def stop(self) -> None:
        for n in self.nsqds:
            n.stop()
        for d in self.lookupds:
            d.stop()


def lookup_producers(d: Lookupd, topic: str) -> list[dict]:
    """/lookup?topic= producers, or [] when the topic is unknown."""
    status, _, body = d.get(f"/lookup?topic={topic}")
    if status != 200:
        return []
    return json.loads(body).get("producers") or []


def producer_ports(d: Lookupd, topic: str) -> set[int]:
    return {p["tcp_port"] for p in lookup_producers(d, topic)}


def poll(fn, deadline: float = 10.0, interval: float = 0.05):
    end = time.monotonic() + deadline
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(interval)


def wait_registered(lookupds: list[Lookupd], topic: str, nsqds: list[Nsqd],
                    deadline: float = 15.0) -> None:
    """Every lookupd lists exactly `nsqds` (by TCP port) as producers of `topic`."""
    want = {n.tcp_port for n in nsqds}
    for d in lookupds:
        got = poll(lambda: producer_ports(d, topic) == want, deadline)
        assert got, (f"{d.http_addr} /lookup?topic={topic}: {producer_ports(d, topic)} "
                     f"!= {want}")


def wait_identified(lookupds: list[Lookupd], nsqds: list[Nsqd], deadline: float = 15.0) -> None:
    """Every lookupd lists every nsqd in /nodes (i.e. the nsqd has IDENTIFYed)."""
    want = {n.tcp_port for n in nsqds}
    for d in lookupds:
        def have():
            return want <= {p["tcp_port"] for p in d.get_json("/nodes")["producers"]}
        assert poll(have, deadline), f"{d.http_addr} /nodes lacks some of {want}"


def consume_via_lookupds(lookupds: list[Lookupd], topic: str, channel: str,
                         expected: set[bytes], timeout: float = 40.0,
                         later=None) -> set[bytes]:
    """A pynsq Reader given only lookupd HTTP addresses receives `expected`; then `later()`
    (optional, may start nsqds and publish) returns more bodies that must arrive too.
    Returns everything received."""
    import nsq  # noqa: PLC0415 - only the cluster tests need pynsq
    from pynsq_helpers import run_scenario, wait_until  # noqa: PLC0415

    got: set[bytes] = set()

    def handler(m):
        got.add(bytes(m.body))
        return True

    async def scenario(sc):
        r = nsq.Reader(topic=topic, channel=channel, message_handler=handler,
                       lookupd_http_addresses=[d.http_addr for d in lookupds],
                       lookupd_poll_interval=1, lookupd_poll_jitter=0.0, max_in_flight=20)
        sc.readers.append(r)
        await wait_until(lambda: expected <= got, timeout,
                         f"{len(expected - got)} of {len(expected)} messages")
        if later is not None:
            more = later()
            await wait_until(lambda: more <= got, timeout,
                             f"{len(more - got)} of {len(more)} later messages")

    run_scenario(scenario, timeout=2 * timeout + 30)
    return got


def bodies(prefix: str, n: int) -> list[bytes]:
    return [f"{prefix}-{i:04d}".encode() for i in range(n)]
