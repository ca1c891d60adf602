"""nsqd -> nsqlookupd interop: a real nsqd registers with the lookupd under test.

Uses the nsqd binary from $LOOKUPD_INTEROP_NSQD_BIN, defaulting to the reference build
(bench/.build/bin/nsqd); skipped when it does not exist. Checks what nsqd does with the
lookupd (spec §1.5): IDENTIFY + REGISTER on connect and on topic/channel creation,
UNREGISTER on deletion, and channel pre-creation through the IDENTIFY response's
broadcast_address:http_port (GET /channels).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lookupd_fixtures import (  # noqa: F401
    REPO,
    free_port,
    http_request,
    lookupd,
    lookupd_factory,
    poll,
)

NSQD_BIN = os.environ.get("LOOKUPD_INTEROP_NSQD_BIN") or str(REPO / "bench/.build/bin/nsqd")

pytestmark = pytest.mark.skipif(not os.path.exists(NSQD_BIN),
                                reason=f"no nsqd binary at {NSQD_BIN}")


class Nsqd:
    def __init__(self, tmp: Path, lookupd_tcp: str):
        self.tcp_port, self.http_port = free_port(), free_port()
        data = tmp / "nsqd-data"
        data.mkdir(exist_ok=True)
        self.log_path = tmp / "nsqd.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [NSQD_BIN, f"--tcp-address=127.0.0.1:{self.tcp_port}",
                 f"--http-address=127.0.0.1:{self.http_port}", "--broadcast-address=127.0.0.1",
                 f"--lookupd-tcp-address={lookupd_tcp}", f"--data-path={data}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        end = time.monotonic() + 10
        while True:
            try:
                if http_request(self.http_port, "GET", "/ping", timeout=0.5)[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"nsqd did not start:\n{self.log_path.read_text()}")
            time.sleep(0.02)

    def post(self, path: str) -> int:
        return http_request(self.http_port, "POST", path)[0]

    def channels(self, topic: str) -> list[str]:
        _, _, body = http_request(self.http_port, "GET", f"/stats?format=json&topic={topic}")
        stats = json.loads(body)
        return sorted(c["channel_name"] for t in stats.get("topics", [])
                      for c in t.get("channels", []))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@pytest.fixture
def nsqd_with_lookupd(tmp_path, lookupd_factory):
    d = lookupd_factory("--broadcast-address=127.0.0.1")
    n = Nsqd(tmp_path, d.tcp_addr)
    yield d, n
    n.stop()


def producers(d, topic):
    status, _, body = d.get(f"/lookup?topic={topic}")
    return json.loads(body)["producers"] if status == 200 else None


def test_nsqd_registers_and_unregisters(nsqd_with_lookupd):
    d, n = nsqd_with_lookupd
    assert poll(lambda: len(d.get_json("/nodes")["producers"]) == 1)
    node = d.get_json("/nodes")["producers"][0]
    assert (node["broadcast_address"], node["tcp_port"], node["http_port"]) == (
        "127.0.0.1", n.tcp_port, n.http_port)
    assert node["version"] == "1.3.0"

    assert n.post("/topic/create?topic=it") == 200
    assert n.post("/channel/create?topic=it&channel=c1") == 200
    assert poll(lambda: producers(d, "it"))
    p = producers(d, "it")[0]
    assert (p["broadcast_address"], p["tcp_port"], p["http_port"]) == (
        "127.0.0.1", n.tcp_port, n.http_port)
    assert poll(lambda: d.get_json("/lookup?topic=it")["channels"] == ["c1"])

    assert n.post("/channel/create?topic=it&channel=e%23ephemeral") == 200
    assert poll(lambda: sorted(d.get_json("/channels?topic=it")["channels"]) == [
        "c1", "e#ephemeral"])
    assert n.post("/channel/delete?topic=it&channel=e%23ephemeral") == 200
    assert poll(lambda: d.get_json("/channels?topic=it")["channels"] == ["c1"])

    assert n.post("/topic/delete?topic=it") == 200
    assert poll(lambda: producers(d, "it") == [])

    n.stop()
    assert poll(lambda: d.get_json("/nodes")["producers"] == [])


def test_nsqd_precreates_channels_from_lookupd(nsqd_with_lookupd):
    d, n = nsqd_with_lookupd
    assert poll(lambda: len(d.get_json("/nodes")["producers"]) == 1)
    assert d.post("/channel/create?topic=pre&channel=from-lookupd")[0] == 200
    assert n.post("/topic/create?topic=pre") == 200
    assert poll(lambda: n.channels("pre") == ["from-lookupd"], deadline=10)
