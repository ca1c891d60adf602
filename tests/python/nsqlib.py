"""Helpers shared by the nsqd integration tests: process management and a raw V2 client.

Everything here is bounded in time: every socket operation has a timeout, every wait has a
deadline, and a started daemon is always killed by PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IS_REFERENCE = os.environ.get("NSQD_IS_REFERENCE") == "1"


def _resolve_bin(value: str | None) -> str:
    """NSQD_BIN may be relative to the current directory or to the repository root."""
    if not value:
        return str(REPO / "target" / "debug" / "nsqd")
    if os.path.isabs(value):
        return value
    here = os.path.abspath(value)
    return here if os.path.exists(here) else str(REPO / value)


NSQD_BIN = _resolve_bin(os.environ.get("NSQD_BIN"))


def _reference_version() -> str:
    """bench/reference.sh writes REF_VERSION next to the binaries it builds."""
    try:
        return (Path(NSQD_BIN).parent / "REF_VERSION").read_text().strip()
    except OSError:
        return ""


REF_VERSION = _reference_version() if IS_REFERENCE else ""
# The Go module proxy may only serve the v1.3.0 release rather than the spec'd commit
# 3103474b6c5a; v1.3.0 predates the topology experiment (no topology_* IDENTIFY keys or flags).
REF_LACKS_TOPOLOGY = REF_VERSION.endswith("@v1.3.0")

FRAME_RESPONSE = 0
FRAME_ERROR = 1
FRAME_MESSAGE = 2

MAGIC_V2 = b"  V2"
OK_FRAME = b"\x00\x00\x00\x06\x00\x00\x00\x00OK"
HEARTBEAT_FRAME = b"\x00\x00\x00\x0f\x00\x00\x00\x00_heartbeat_"

DEFAULT_IO_TIMEOUT = 5.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, then close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _listen_inodes(port: int) -> set[str]:
    """Socket inodes listening on 127.0.0.1:<port> or 0.0.0.0:<port> (Linux /proc)."""
    out = set()
    want = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    with open("/proc/net/tcp") as f:
        next(f, None)
        for line in f:
            parts = line.split()
            if len(parts) > 9 and parts[1] in want and parts[3] == "0A":
                out.add(parts[9])
    return out


def listener_owned_by_other(port: int, pid: int) -> bool:
    """True if the listener on `port` demonstrably belongs to a process other than `pid`.
    False when it is ours or when ownership cannot be determined (no /proc)."""
    try:
        inodes = _listen_inodes(port)
        if not inodes:
            return False
        fd_dir = f"/proc/{pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                link = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                return False
        return True
    except OSError:
        return False


def frame(frame_type: int, data: bytes) -> bytes:
    """Encode a server frame exactly as nsqd writes it (for byte-exact comparisons)."""
    return struct.pack(">Ii", 4 + len(data), frame_type) + data


def error_frame(text: bytes | str) -> bytes:
    if isinstance(text, str):
        text = text.encode()
    return frame(FRAME_ERROR, text)


def response_frame(text: bytes | str) -> bytes:
    if isinstance(text, str):
        text = text.encode()
    return frame(FRAME_RESPONSE, text)


def body(data: bytes) -> bytes:
    """A length-prefixed body (int32 BE size + bytes)."""
    return struct.pack(">i", len(data)) + data


def mpub_body(messages: list[bytes]) -> bytes:
    """An MPUB body including its outer size: [size][count]([len][msg])*."""
    inner = struct.pack(">i", len(messages)) + b"".join(body(m) for m in messages)
    return body(inner)


class Message:
    """A decoded message frame payload."""

    def __init__(self, data: bytes):
        assert len(data) >= 26, f"message payload too short: {data!r}"
        self.raw = data
        self.timestamp, self.attempts = struct.unpack(">qH", data[:10])
        self.id = data[10:26]
        self.body = data[26:]

    def __repr__(self) -> str:
        return f"Message(id={self.id!r}, attempts={self.attempts}, body={self.body[:40]!r})"


class ConnClosed(AssertionError):
    pass


class Conn:
    """A raw V2 protocol connection with strict, bounded reads."""

    def __init__(self, addr: tuple[str, int], magic: bytes | None = MAGIC_V2,
                 timeout: float = DEFAULT_IO_TIMEOUT):
        self.addr = addr
        self.timeout = timeout
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        # optional stream codecs installed after a compression upgrade (see set_codec)
        self.rx = None
        self.tx = None
        if magic is not None:
            self.send(magic)

    def set_codec(self, rx, tx) -> None:
        """Switch to a compressed stream: `rx(bytes)->bytes` decodes what the server sends
        (already-buffered raw bytes are decoded too), `tx(bytes)->bytes` encodes what we send."""
        self.rx, self.tx = rx, tx
        if self.buf:
            raw, self.buf = self.buf, b""
            self.buf = rx(raw)

    # -- writing -------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.tx is not None:
            data = self.tx(data)
        self.sock.sendall(data)

    def cmd(self, line: bytes | str, data: bytes | None = None) -> None:
        """Send a command line (\\n appended) and, if given, a length-prefixed body."""
        if isinstance(line, str):
            line = line.encode()
        out = line + b"\n"
        if data is not None:
            out += body(data)
        self.send(out)

    def identify(self, obj: dict | None = None, raw: bytes | None = None) -> None:
        payload = raw if raw is not None else json.dumps(obj or {}).encode()
        self.cmd(b"IDENTIFY", payload)

    def pub(self, topic: str, data: bytes) -> None:
        self.cmd(f"PUB {topic}", data)

    def mpub(self, topic: str, messages: list[bytes]) -> None:
        self.send(f"MPUB {topic}\n".encode() + mpub_body(messages))

    def shutdown_write(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    # -- reading -------------------------------------------------------------------------
    def _fill(self, n: int, deadline: float) -> None:
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {n} bytes, have {self.buf!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError(f"timed out waiting for {n} bytes, have {self.buf!r}")
            except (ConnectionResetError, BrokenPipeError) as e:
                raise ConnClosed(f"connection reset while waiting for {n} bytes "
                                 f"(have {self.buf!r}): {e}")
            if not chunk:
                raise ConnClosed(f"EOF while waiting for {n} bytes (have {self.buf!r})")
            self.buf += self.rx(chunk) if self.rx is not None else chunk

    def read_exact(self, n: int, timeout: float | None = None) -> bytes:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._fill(n, deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_raw_frame(self, timeout: float | None = None) -> bytes:
        """One whole frame, header included, as raw bytes."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._fill(4, deadline)
        (size,) = struct.unpack(">I", self.buf[:4])
        assert size >= 4, f"bad frame size {size}"
        self._fill(4 + size, deadline)
        out, self.buf = self.buf[: 4 + size], self.buf[4 + size:]
        return out

    def read_frame(self, timeout: float | None = None) -> tuple[int, bytes]:
        raw = self.read_raw_frame(timeout)
        (ftype,) = struct.unpack(">i", raw[4:8])
        return ftype, raw[8:]

    def read_frame_skip_heartbeats(self, timeout: float | None = None,
                                   answer: bool = True) -> tuple[int, bytes]:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            ftype, data = self.read_frame(max(0.0, deadline - time.monotonic()))
            if ftype == FRAME_RESPONSE and data == b"_heartbeat_":
                if answer:
                    self.cmd("NOP")
                continue
            return ftype, data

    def read_message(self, timeout: float | None = None) -> Message:
        ftype, data = self.read_frame_skip_heartbeats(timeout)
        assert ftype == FRAME_MESSAGE, f"expected a message frame, got type {ftype}: {data!r}"
        return Message(data)

    def expect(self, expected: bytes, timeout: float | None = None) -> None:
        """The next bytes on the wire are exactly `expected` (a whole frame or more)."""
        got = self.read_exact(len(expected), timeout)
        assert got == expected, f"expected {expected!r}, got {got!r}"

    def expect_ok(self, timeout: float | None = None) -> None:
        self.expect(OK_FRAME, timeout)

    def expect_response(self, text: bytes | str, timeout: float | None = None) -> None:
        self.expect(response_frame(text), timeout)

    def expect_error(self, text: bytes | str, timeout: float | None = None) -> None:
        """Exactly this error frame is next (does not check fatality)."""
        ftype, data = self.read_frame(timeout)
        if isinstance(text, str):
            text = text.encode()
        assert (ftype, data) == (FRAME_ERROR, text), \
            f"expected error frame {text!r}, got type {ftype}: {data!r}"

    def expect_fatal(self, text: bytes | str, timeout: float | None = None) -> None:
        """Exactly this error frame, and then the server closes the connection."""
        self.expect_error(text, timeout)
        self.expect_closed(timeout)

    def expect_closed(self, timeout: float | None = None) -> None:
        """The server closes the connection and sends nothing more (EOF or reset)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        if self.buf:
            raise AssertionError(f"expected close, but unread bytes remain: {self.buf!r}")
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("expected the server to close the connection; it did not")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError("expected the server to close the connection; it did not")
            except (ConnectionResetError, BrokenPipeError):
                return
            if not chunk:
                return
            raise AssertionError(f"expected close, got more data: {chunk!r}")

    def expect_nothing(self, duration: float = 0.5) -> None:
        """No bytes arrive within `duration` and the connection is not closed."""
        if self.buf:
            raise AssertionError(f"unexpected buffered bytes: {self.buf!r}")
        self.sock.settimeout(duration)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return
        except (ConnectionResetError, BrokenPipeError) as e:
            raise AssertionError(f"connection reset, expected it to stay open: {e}")
        finally:
            self.sock.settimeout(self.timeout)
        if not chunk:
            raise AssertionError("connection closed, expected it to stay open")
        raise AssertionError(f"expected no data, got {chunk!r}")

    def expect_skipping_heartbeats(self, ftype: int, data: bytes | str,
                                   timeout: float | None = None) -> None:
        """The next non-heartbeat frame is exactly (ftype, data); heartbeats get a NOP."""
        if isinstance(data, str):
            data = data.encode()
        got = self.read_frame_skip_heartbeats(timeout)
        assert got == (ftype, data), f"expected {(ftype, data)!r}, got {got!r}"

    def assert_alive_init(self, topic: str = "alive_probe") -> None:
        """Round trip on a connection usable for PUB: the connection is still open."""
        self.pub(topic, b"probe")
        self.expect_skipping_heartbeats(FRAME_RESPONSE, b"OK")

    def assert_alive_subscribed(self) -> None:
        """Round trip on a subscribed connection via a non-fatal FIN failure."""
        self.cmd("FIN 0000000000000000")
        self.expect_skipping_heartbeats(
            FRAME_ERROR, b"E_FIN_FAILED FIN 0000000000000000 failed ID not in flight")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Nsqd:
    """One nsqd process on 127.0.0.1 with free ports and its own data path."""

    def __init__(self, data_path: Path, args: list[str] | tuple[str, ...] = (),
                 binary: str = NSQD_BIN, log_path: Path | None = None):
        self.binary = binary
        self.data_path = Path(data_path)
        self.data_path.mkdir(parents=True, exist_ok=True)
        self.extra_args = list(args)
        self.log_path = log_path or (self.data_path.parent / f"{self.data_path.name}.log")
        self.proc: subprocess.Popen | None = None
        self.host = "127.0.0.1"
        self.tcp_port = 0
        self.http_port = 0

    @property
    def tcp_addr(self) -> tuple[str, int]:
        return (self.host, self.tcp_port)

    @property
    def tcp_address(self) -> str:
        return f"{self.host}:{self.tcp_port}"

    @property
    def http_address(self) -> str:
        return f"{self.host}:{self.http_port}"

    def start(self, startup_timeout: float = 15.0) -> "Nsqd":
        if not os.path.exists(self.binary):
            raise FileNotFoundError(
                f"nsqd binary not found at {self.binary}; build it (cargo build -p nsqd) or "
                f"set NSQD_BIN")
        last_err = None
        for _attempt in range(3):  # a probed port may be taken before nsqd binds it
            self.tcp_port = free_port()
            self.http_port = free_port()
            while self.http_port == self.tcp_port:
                self.http_port = free_port()
            args = [
                self.binary,
                f"--tcp-address=127.0.0.1:{self.tcp_port}",
                f"--http-address=127.0.0.1:{self.http_port}",
                f"--data-path={self.data_path}",
                *self.extra_args,
            ]
            log = open(self.log_path, "ab")
            log.write(("\n=== starting: " + " ".join(args) + "\n").encode())
            log.flush()
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.data_path)
            log.close()
            try:
                self._wait_tcp(startup_timeout)
                return self
            except Exception as e:  # noqa: BLE001 - report below
                last_err = e
                self.stop()
        raise RuntimeError(f"nsqd did not start: {last_err}\n--- log ---\n{self.log_tail()}")

    def _wait_tcp(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"nsqd exited with status {self.proc.returncode}")
            try:
                s = socket.create_connection(self.tcp_addr, timeout=0.5)
                s.close()
                # another process (e.g. a concurrently running test session) may own the
                # probed port: only accept a listener that belongs to our process
                if self.proc is not None and listener_owned_by_other(self.tcp_port,
                                                                     self.proc.pid):
                    raise RuntimeError(f"port {self.tcp_port} is served by another process")
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"TCP port {self.tcp_port} not accepting after {timeout}s")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit status."""
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        self.proc = None
        return p.returncode

    def kill(self) -> None:
        p = self.proc
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(timeout=5)
        self.proc = None

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    # -- client helpers ----------------------------------------------------------------
    def conn(self, magic: bytes | None = MAGIC_V2, timeout: float = DEFAULT_IO_TIMEOUT) -> Conn:
        return Conn(self.tcp_addr, magic=magic, timeout=timeout)

    def http(self, method: str, path: str, data: bytes | None = None,
             timeout: float = 5.0) -> tuple[int, bytes]:
        url = f"http://{self.http_address}{path}"
        req = urllib.request.Request(url, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stats(self, **params) -> dict:
        q = "&".join(f"{k}={v}" for k, v in {"format": "json", **params}.items())
        status, data = self.http("GET", f"/stats?{q}")
        assert status == 200, f"/stats answered {status}: {data!r}"
        return json.loads(data)

    def topic_stats(self, topic: str) -> dict | None:
        for t in self.stats().get("topics") or []:
            if t["topic_name"] == topic:
                return t
        return None

    def channel_stats(self, topic: str, channel: str) -> dict | None:
        t = self.topic_stats(topic)
        if t is None:
            return None
        for c in t.get("channels") or []:
            if c["channel_name"] == channel:
                return c
        return None


def wait_for(pred, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll `pred` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last={last!r})")
        time.sleep(interval)


def subscribe(nsqd: Nsqd, topic: str, channel: str, identify: dict | None = None,
              rdy: int | None = None) -> Conn:
    """A connection that (optionally IDENTIFYs and) SUBscribes, then optionally sends RDY."""
    c = nsqd.conn()
    if identify is not None:
        c.identify(identify)
        if identify.get("feature_negotiation"):
            c.read_frame()
        else:
            c.expect_ok()
    c.cmd(f"SUB {topic} {channel}")
    c.expect_ok()
    if rdy is not None:
        c.cmd(f"RDY {rdy}")
    return c


def publish(nsqd: Nsqd, topic: str, *messages: bytes) -> None:
    with nsqd.conn() as c:
        for m in messages:
            c.pub(topic, m)
        for _ in messages:
            c.expect_ok()


# -- compression codecs for the IDENTIFY upgrade tests (our own minimal implementations) ----

def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def snappy_masked_crc(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


SNAPPY_STREAM_ID = b"\xff\x06\x00\x00sNaPpY"


def snappy_decompress_block(block: bytes) -> bytes:
    """Decode one raw snappy block (varint length, then literal/copy elements)."""
    pos, length, shift = 0, 0, 0
    while True:
        b = block[pos]
        pos += 1
        length |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    out = bytearray()
    while pos < len(block):
        tag = block[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            n = tag >> 2
            if n >= 60:
                nb = n - 59
                n = int.from_bytes(block[pos:pos + nb], "little")
                pos += nb
            n += 1
            out += block[pos:pos + n]
            pos += n
            continue
        if kind == 1:
            n = 4 + ((tag >> 2) & 7)
            off = ((tag >> 5) << 8) | block[pos]
            pos += 1
        elif kind == 2:
            n = 1 + (tag >> 2)
            off = int.from_bytes(block[pos:pos + 2], "little")
            pos += 2
        else:
            n = 1 + (tag >> 2)
            off = int.from_bytes(block[pos:pos + 4], "little")
            pos += 4
        assert 0 < off <= len(out), "bad snappy copy offset"
        for _ in range(n):
            out.append(out[-off])
    assert len(out) == length, f"snappy length mismatch {len(out)} != {length}"
    return bytes(out)


class SnappyStreamDecoder:
    """Incremental decoder of the snappy framing format; checks stream id and CRCs."""

    def __init__(self):
        self.pending = b""
        self.seen_stream_id = False

    def __call__(self, data: bytes) -> bytes:
        self.pending += data
        out = b""
        while len(self.pending) >= 4:
            ctype = self.pending[0]
            clen = int.from_bytes(self.pending[1:4], "little")
            if len(self.pending) < 4 + clen:
                break
            chunk = self.pending[4:4 + clen]
            self.pending = self.pending[4 + clen:]
            if ctype == 0xFF:
                assert chunk == b"sNaPpY", f"bad snappy stream identifier {chunk!r}"
                self.seen_stream_id = True
                continue
            assert self.seen_stream_id, "snappy chunk before stream identifier"
            if ctype in (0x00, 0x01):
                crc = int.from_bytes(chunk[:4], "little")
                payload = chunk[4:]
                if ctype == 0x00:
                    payload = snappy_decompress_block(payload)
                assert snappy_masked_crc(payload) == crc, "snappy CRC mismatch"
                out += payload
            elif 0x02 <= ctype <= 0x7F:
                raise AssertionError(f"reserved unskippable snappy chunk type {ctype:#x}")
            # 0x80-0xfe: skippable / padding
        return out


class SnappyStreamEncoder:
    """Encodes as uncompressed snappy-framing chunks (valid for any conforming reader)."""

    def __init__(self):
        self.started = False

    def __call__(self, data: bytes) -> bytes:
        out = b""
        if not self.started:
            out += SNAPPY_STREAM_ID
            self.started = True
        for i in range(0, len(data), 65536):
            part = data[i:i + 65536]
            clen = 4 + len(part)
            out += bytes([0x01]) + clen.to_bytes(3, "little")
            out += snappy_masked_crc(part).to_bytes(4, "little") + part
        return out


class DeflateStreamDecoder:
    """Raw DEFLATE (no zlib header) inflater."""

    def __init__(self):
        import zlib
        self.d = zlib.decompressobj(-15)

    def __call__(self, data: bytes) -> bytes:
        return self.d.decompress(data)


class DeflateStreamEncoder:
    """Raw DEFLATE with a sync flush after every write."""

    def __init__(self, level: int = 6):
        import zlib
        self.zlib = zlib
        self.c = zlib.compressobj(level, zlib.DEFLATED, -15)

    def __call__(self, data: bytes) -> bytes:
        return self.c.compress(data) + self.c.flush(self.zlib.Z_SYNC_FLUSH)
