"""Spec §3.15, §6.2: a disk write that fails (full disk, unwritable data directory) must not
crash the daemon. The publisher whose message could not be stored gets E_PUB_FAILED
(E_MPUB_FAILED for MPUB; both fatal), /ping reports `NOK - <err>` until the next successful
disk write, other topics keep working, and no acknowledged message is lost.

The full disk is a 4 MiB tmpfs mounted for the test (needs root and CAP_SYS_ADMIN; skipped
with the reason otherwise); the unwritable directory uses the immutable attribute
(`chattr +i`, which even root cannot write through).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings

import pytest

from nsqlib import FRAME_ERROR, FRAME_RESPONSE, Nsqd, mpub_body, publish, subscribe
from persistlib import daemons, drain, has_http  # noqa: F401 - fixture

BODY = 1024
FLAGS = ("--mem-queue-size=10",)


@pytest.fixture
def tiny_fs(tmp_path):
    """A 4 MiB tmpfs, unmounted at teardown (request it before `daemons`, so that the
    daemons are stopped first)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full disk is simulated with a tmpfs mount, which needs root")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mnt)],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): full disk not testable")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True, timeout=10).returncode:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)


def _body(tag: bytes, i: int) -> bytes:
    head = tag + b"-%05d-" % i
    return head + b"x" * (BODY - len(head))


def _pub_once(d: Nsqd, topic: str, body: bytes) -> bytes:
    """One PUB on a fresh connection: b"OK", or the error text (then the server must close
    the connection: E_PUB_FAILED is fatal)."""
    with d.conn() as c:
        c.pub(topic, body)
        ftype, data = c.read_frame_skip_heartbeats()
        if ftype == FRAME_ERROR:
            c.expect_closed()
        else:
            assert ftype == FRAME_RESPONSE, (ftype, data)
        return data


def _ping(d: Nsqd, http: bool):
    return d.http("GET", "/ping") if http else None


def _has_http_or_warn(d: Nsqd) -> bool:
    if has_http(d):
        return True
    warnings.warn(UserWarning("this nsqd serves no HTTP API: /ping health not checked"))
    return False


def _check_others_work(d: Nsqd) -> None:
    """A durable topic with a live consumer and an ephemeral topic still deliver."""
    for topic in ("other", "other_e#ephemeral"):
        c = subscribe(d, topic, "c", rdy=1)
        publish(d, topic, b"still alive")
        assert c.read_message().body == b"still alive"
        c.close()


def test_full_disk_fails_publishes_not_the_daemon(tiny_fs, daemons):
    dp = tiny_fs / "data"
    dp.mkdir()
    st = os.statvfs(tiny_fs)
    filler = tiny_fs / "filler"
    # leave ~600 KiB for the queues
    filler.write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 600 * 1024))
    d = daemons.start(dp, *FLAGS)
    http = _has_http_or_warn(d)
    if http:
        assert _ping(d, http) == (200, b"OK")

    # fill the disk with a backlog (no channel, so it stays in the topic's queue)
    acked: list[bytes] = []
    maybe: list[bytes] = []
    with d.conn(timeout=10.0) as c:
        for start in range(0, 2000, 50):
            batch = [_body(b"f", i) for i in range(start, start + 50)]
            c.send(b"MPUB full\n" + mpub_body(batch))
            ftype, data = c.read_frame_skip_heartbeats()
            if ftype == FRAME_ERROR:
                assert data.startswith(b"E_MPUB_FAILED MPUB failed "), data
                maybe = batch  # written up to the failing message
                c.expect_closed()
                break
            assert (ftype, data) == (FRAME_RESPONSE, b"OK")
            acked += batch
        else:
            pytest.fail("2 MB were accepted on a disk with 600 KiB free")

    # A failed MPUB may give back the space of its partial write: single PUBs fill that
    # (and are acknowledged) until one truly fails.
    for i in range(5000, 5200):
        answer = _pub_once(d, "full", _body(b"f", i))
        if answer != b"OK":
            break
        acked.append(_body(b"f", i))
    assert answer.startswith(b"E_PUB_FAILED PUB failed "), answer
    if http:
        status, text = _ping(d, http)
        assert status == 500 and text.startswith(b"NOK - "), (status, text)
    _check_others_work(d)

    # space comes back: writes succeed again and the daemon is healthy again
    filler.unlink()
    assert _pub_once(d, "full", _body(b"f", 10000)) == b"OK"
    acked.append(_body(b"f", 10000))
    if http:
        assert _ping(d, http) == (200, b"OK")

    assert d.stop() == 0
    d2 = daemons.start(dp, *FLAGS)
    seen, _ = drain(d2, "full", "c", expect=len(acked), idle=1.0, timeout=60)
    lost = set(acked) - set(seen)
    assert not lost, f"{len(lost)} acknowledged messages lost, e.g. {sorted(lost)[:3]}"
    unexpected = set(seen) - set(acked) - set(maybe) - {_body(b"f", i)}
    assert not unexpected, f"{len(unexpected)} messages that were refused came back"


def test_unwritable_data_dir_fails_publishes_not_the_daemon(daemons, tmp_path):
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("an unwritable directory for root needs chattr +i (run as root)")
    dp = tmp_path / "data"
    d = daemons.start(dp, *FLAGS)
    http = _has_http_or_warn(d)
    publish(d, "before", b"x")
    r = subprocess.run(["chattr", "+i", str(dp)], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        pytest.skip(f"chattr +i not supported here ({r.stderr.strip()})")
    acked = []
    try:
        # the memory queue takes 10; the 11th needs a new data file, which cannot be created
        answers = []
        for i in range(11):
            b = _body(b"u", i)
            answers.append(_pub_once(d, "fresh", b))
            if answers[-1] == b"OK":
                acked.append(b)
        assert answers[:10] == [b"OK"] * 10, answers
        assert answers[10].startswith(b"E_PUB_FAILED PUB failed "), answers[10]
        if http:
            status, text = _ping(d, http)
            assert status == 500 and text.startswith(b"NOK - "), (status, text)
        _check_others_work(d)
    finally:
        subprocess.run(["chattr", "-i", str(dp)], capture_output=True, timeout=10)
    b = _body(b"u", 100)
    assert _pub_once(d, "fresh", b) == b"OK"
    acked.append(b)
    if http:
        assert _ping(d, http) == (200, b"OK")
    assert d.stop() == 0
    d2 = daemons.start(dp, *FLAGS)
    seen, _ = drain(d2, "fresh", "c", expect=len(acked), idle=1.0, timeout=30)
    assert set(seen) == set(acked)
