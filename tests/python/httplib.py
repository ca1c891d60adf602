"""Helpers for the nsqd HTTP API tests: a raw HTTP client that keeps header spelling, a
statsd (UDP) capture socket, and a strict OpenMetrics/Prometheus text parser.

Everything is bounded in time and binds only to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from dataclasses import dataclass, field

from nsqlib import IS_REFERENCE, NSQD_BIN, Nsqd, wait_for

V1_HEADER = "X-Nsq-Content-Type"
V1_VALUE = "nsq; version=1.0"
JSON_CT = "application/json; charset=utf-8"
TEXT_CT = "text/plain; charset=utf-8"


def _reference_has_topology() -> bool:
    """Whether the reference binary under test knows the topology experiment (the v1.3.0
    tag built by bench/reference.sh does not; nsqio/nsq HEAD, which the spec describes,
    does). Read from its flag list."""
    if not IS_REFERENCE:
        return True
    import subprocess
    try:
        out = subprocess.run([NSQD_BIN, "--help"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"topology-zone" in out.stdout + out.stderr


REFERENCE_HAS_TOPOLOGY = _reference_has_topology()

# Keys that only exist with the topology-aware-consumption code (spec: nsqio/nsq HEAD).
TOPOLOGY_KEYS = {"topology_zone", "topology_region", "zone_local_msg_count",
                 "region_local_msg_count", "global_msg_count"}


def has_topology(_nsqd=None) -> bool:
    """True iff the daemon under test reports the topology fields (always, for ours)."""
    return REFERENCE_HAS_TOPOLOGY


def without_topology(_nsqd, keys: list[str]) -> list[str]:
    """`keys` minus the topology-only keys when the daemon under test lacks them."""
    if has_topology():
        return keys
    return [k for k in keys if k not in TOPOLOGY_KEYS]


@dataclass
class Resp:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """Case-insensitive lookup of the first header `name`."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_names(self) -> list[str]:
        """Header names exactly as spelled on the wire."""
        return [k for k, _ in self.headers]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def v1_error(self) -> str:
        """The `message` of a V1 error body (asserting the envelope)."""
        assert self.header("Content-Type") == JSON_CT, self
        assert self.header(V1_HEADER) == V1_VALUE, self
        return json.loads(self.body)["message"]


def request(nsqd: Nsqd | tuple[str, int], method: str, path: str, body: bytes | None = None,
            headers: dict | None = None, chunked: bool = False, timeout: float = 10.0) -> Resp:
    """One request on a fresh connection. `chunked=True` sends the body with
    Transfer-Encoding: chunked (no Content-Length), in pieces of at most 1000 bytes."""
    if isinstance(nsqd, tuple):
        host, port = nsqd
    else:
        host, port = nsqd.host, nsqd.http_port
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if chunked:
            data = body or b""
            pieces = [data[i:i + 1000] for i in range(0, len(data), 1000)]
            conn.request(method, path, body=iter(pieces), headers=hdrs, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, list(r.msg.items()), data)
    finally:
        conn.close()


def get(nsqd, path: str, **kw) -> Resp:
    return request(nsqd, "GET", path, **kw)


def post(nsqd, path: str, body: bytes | None = b"", **kw) -> Resp:
    return request(nsqd, "POST", path, body=body, **kw)


def put(nsqd, path: str, body: bytes | None = b"", **kw) -> Resp:
    return request(nsqd, "PUT", path, body=body, **kw)


def assert_v1_ok_empty(r: Resp) -> None:
    """200, empty body, V1 marker, no Content-Type."""
    assert r.status == 200, r
    assert r.body == b"", r
    assert r.header(V1_HEADER) == V1_VALUE, r
    assert r.header("Content-Type") is None, r


def assert_v1_error(r: Resp, status: int, message: str) -> None:
    assert r.status == status, r
    assert r.body == json.dumps({"message": message}, separators=(",", ":")).encode(), r
    assert r.header(V1_HEADER) == V1_VALUE, r
    assert r.header("Content-Type") == JSON_CT, r


def stats_json(nsqd: Nsqd, query: str = "") -> dict:
    r = get(nsqd, "/stats?format=json" + (("&" + query) if query else ""))
    assert r.status == 200, r
    return r.json()


# -- statsd ---------------------------------------------------------------------------------

class StatsdSink:
    """A UDP socket on 127.0.0.1 collecting datagrams (with arrival times)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets: list[tuple[float, bytes]] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def collect(self, duration: float) -> list[tuple[float, bytes]]:
        """Receive for `duration` seconds; returns what arrived in that time."""
        got = []
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            got.append((time.monotonic(), data))
        self.packets.extend(got)
        return got

    def wait_for_line(self, predicate, timeout: float = 10.0) -> str:
        """Receive until some line satisfies `predicate`; returns that line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, data in self.collect(0.3):
                for line in data.decode().splitlines():
                    if predicate(line):
                        return line
        raise AssertionError("no matching statsd line arrived")

    def close(self) -> None:
        self.sock.close()


def statsd_lines(packets: list[tuple[float, bytes]]) -> list[str]:
    out = []
    for _, data in packets:
        text = data.decode()
        assert text.endswith("\n"), text
        out.extend(text.splitlines())
    return out


# -- Prometheus / OpenMetrics text -------------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(r"^(" + _NAME + r")(\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


@dataclass
class Family:
    name: str
    type: str
    help: str
    samples: list[tuple[str, dict, float]] = field(default_factory=list)


def parse_openmetrics(text: str) -> dict[str, Family]:
    """Strictly parses an OpenMetrics text exposition (gauge/counter families only):
    every family has HELP and TYPE before its samples, sample names belong to their family
    (`_total` for counters), labels are well-formed, values are numbers, families appear
    once, and the text ends with `# EOF`."""
    lines = text.split("\n")
    assert lines[-1] == "" and lines[-2] == "# EOF", "exposition must end with '# EOF\\n'"
    fams: dict[str, Family] = {}
    cur: Family | None = None
    for line in lines[:-2]:
        assert line, "empty line in exposition"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(_NAME, name), line
            assert name not in fams, f"family {name} appears twice"
            cur = Family(name, "", help_text)
            fams[name] = cur
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert cur is not None and cur.name == name, f"TYPE without HELP: {line}"
            assert typ in ("gauge", "counter"), line
            assert not cur.samples, "TYPE after samples"
            cur.type = typ
            continue
        assert not line.startswith("#"), f"unexpected comment {line!r}"
        m = _SAMPLE.match(line)
        assert m, f"bad sample line {line!r}"
        assert cur is not None and cur.type, f"sample before TYPE: {line}"
        name, _, labels_text, value = m.groups()
        want = cur.name + "_total" if cur.type == "counter" else cur.name
        assert name == want, f"sample {name} in family {cur.name} ({cur.type})"
        labels = {}
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = _LABEL.match(labels_text, pos)
                assert lm, f"bad labels in {line!r}"
                assert lm.group(1) not in labels, f"duplicate label in {line!r}"
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
                if pos < len(labels_text):
                    assert labels_text[pos] == ",", f"bad labels in {line!r}"
                    pos += 1
        cur.samples.append((name, labels, float(value)))
    return fams


def sample_value(fams: dict[str, Family], family: str, **labels) -> float | None:
    for _, lab, value in fams[family].samples:
        if lab == labels:
            return value
    return None


def wait_stats(nsqd: Nsqd, pred, what: str, timeout: float = 10.0, query: str = ""):
    return wait_for(lambda: pred(stats_json(nsqd, query)), timeout=timeout, what=what)
