"""nsq_to_file: file names, contents, gzip members, rotation, work dir, SIGHUP, topic discovery
and validation."""

from __future__ import annotations

import gzip
import os
import re
import signal
import socket
import time

from lookupd_fixtures import lookupd, lookupd_factory  # noqa: F401
from tools_helpers import (last_log_message, lookup_producers, ours_only, pub,  # noqa: F401
                           run_tool, tools, wait_for)

SHORT_HOST = socket.gethostname().split(".")[0]


def files(d) -> dict[str, bytes | None]:
    """Every regular file under `d` (relative path -> content, gunzipped for .gz; None for a
    gzip file whose last member is incomplete)."""
    out = {}
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            data = open(p, "rb").read()
            if n.endswith(".gz"):
                try:
                    data = gzip.decompress(data)  # handles concatenated members
                except (EOFError, gzip.BadGzipFile):
                    data = None  # a member is still being written
            out[os.path.relpath(p, d)] = data
    return out


def start(tools, nsqd, out, topic, *extra):
    return tools("nsq_to_file", f"--topic={topic}", f"--nsqd-tcp-address={nsqd.tcp_address}",
                 f"--output-dir={out}", "--sync-interval=100ms", *extra)


def stop(t) -> str:
    t.send_signal(signal.SIGTERM)
    assert t.wait() == 0, t.stderr()
    return t.stderr()


def test_plain_file_name_and_content(nsqd, tools, tmp_path):
    out = tmp_path / "out"
    t = start(tools, nsqd, out, "t1", "--datetime-format=%Y")
    pub(nsqd, "t1", b"a", b"b c", b"d")
    name = f"t1.{SHORT_HOST}.{time.strftime('%Y')}.log"
    wait_for(lambda: files(out).get(name) == b"a\nb c\nd\n", what="the three lines on disk")
    err = stop(t)
    assert files(out) == {name: b"a\nb c\nd\n"}
    assert f"[nsq_to_file] " in err and f"INFO: [t1/nsq_to_file] opening {out}/{name}" in err
    # the first message opens the file (a rotation, hence a sync); the rest follow
    assert re.search(r"INFO: \[t1/nsq_to_file\] syncing [123] records to disk", err), err


def test_plain_mode_appends_to_an_existing_file(nsqd, tools, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    name = f"t2.H.{time.strftime('%Y')}.log"
    (out / name).write_bytes(b"old\n")
    t = start(tools, nsqd, out, "t2", "--datetime-format=%Y", "--host-identifier=H")
    pub(nsqd, "t2", b"new")
    wait_for(lambda: files(out).get(name) == b"old\nnew\n", what="appended line")
    stop(t)


def test_gzip_rotation_by_size(nsqd, tools, tmp_path):
    out = tmp_path / "out"
    t = start(tools, nsqd, out, "t3", "--gzip", "--rotate-size=20", "--host-identifier=h",
              "--datetime-format=%Y")
    bodies = [b"msg%d" % i for i in range(6)]
    pub(nsqd, "t3", *bodies)
    year = time.strftime("%Y")
    wait_for(lambda: len(files(out)) == 2, what="two files")
    stop(t)
    got = files(out)
    # 5 lines of 5 bytes pass 20 bytes, so the sixth message goes to the next revision
    assert got == {f"t3.h-000000.{year}.log.gz": b"".join(b + b"\n" for b in bodies[:5]),
                   f"t3.h-000001.{year}.log.gz": b"msg5\n"}


def test_gzip_without_rev_skips_the_topic(nsqd, tools, tmp_path):
    t = start(tools, nsqd, tmp_path, "t4", "--gzip", "--filename-format=<TOPIC>.log")
    t.wait_stderr("couldn't create logger for new topic t4: missing <REV> in "
                  "--filename-format when gzip, rotation, or work dir enabled")
    assert t.proc.poll() is None  # keeps running without the topic
    stop(t)


def test_work_dir_files_move_to_output_dir(nsqd, tools, tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    t = start(tools, nsqd, out, "t5", f"--work-dir={work}", "--filename-format=<TOPIC><REV>.log")
    pub(nsqd, "t5", b"x", b"y")
    wait_for(lambda: files(work).get("t5-000000.log") == b"x\ny\n", what="the work file")
    assert not files(out)
    err = stop(t)
    assert files(out) == {"t5-000000.log": b"x\ny\n"}
    assert not files(work)
    assert f"moving finished file {work}/t5-000000.log to {out}/t5-000000.log" in err


def test_work_dir_never_overwrites(nsqd, tools, tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    (out / "t6-000000.log").write_bytes(b"keep\n")
    t = start(tools, nsqd, out, "t6", f"--work-dir={work}", "--filename-format=<TOPIC><REV>.log")
    pub(nsqd, "t6", b"z")
    wait_for(lambda: "t6-000001.log" in files(work), what="the next free revision")
    err = stop(t)
    assert files(out) == {"t6-000000.log": b"keep\n", "t6-000001.log": b"z\n"}
    assert f"output file already exists: {out}/t6-000000.log" in err


def test_sighup_closes_and_reopens(nsqd, tools, tmp_path):
    out = tmp_path / "out"
    t = start(tools, nsqd, out, "t7", "--datetime-format=%Y", "--host-identifier=h")
    name = f"t7.h.{time.strftime('%Y')}.log"
    pub(nsqd, "t7", b"1")
    wait_for(lambda: files(out).get(name) == b"1\n", what="first line")
    t.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    pub(nsqd, "t7", b"2")
    wait_for(lambda: files(out).get(name) == b"1\n2\n", what="second line after SIGHUP")
    err = stop(t)
    assert err.count(f"opening {out}/{name}") == 2


@ours_only
def test_sighup_with_work_dir_reopens(nsqd, tools, tmp_path):
    # The reference keeps writing to the moved, closed file and dies; we open a new one.
    out, work = tmp_path / "out", tmp_path / "work"
    t = start(tools, nsqd, out, "t8", f"--work-dir={work}", "--filename-format=<TOPIC><REV>.log")
    pub(nsqd, "t8", b"1")
    wait_for(lambda: files(work).get("t8-000000.log") == b"1\n", what="first file")
    t.send_signal(signal.SIGHUP)
    wait_for(lambda: files(out).get("t8-000000.log") == b"1\n", what="moved after SIGHUP")
    pub(nsqd, "t8", b"2")
    wait_for(lambda: files(work).get("t8-000001.log") == b"2\n", what="a new revision")
    stop(t)
    assert files(out) == {"t8-000000.log": b"1\n", "t8-000001.log": b"2\n"}


def test_topic_pattern_discovery(lookupd, nsqd_factory, tools, tmp_path):
    d = nsqd_factory(f"--lookupd-tcp-address={lookupd.tcp_addr}", "--broadcast-address=127.0.0.1")
    pub(d, "pat_a", b"A")
    pub(d, "other", b"O")
    wait_for(lambda: lookup_producers(lookupd, "pat_a") and lookup_producers(lookupd, "other"),
             what="topics registered")
    out = tmp_path / "out"
    t = tools("nsq_to_file", "--topic-pattern=^pat", "--topic-refresh=200ms",
              f"--lookupd-http-address={lookupd.http_addr}", f"--output-dir={out}",
              "--sync-interval=100ms", "--host-identifier=h", "--datetime-format=%Y")
    year = time.strftime("%Y")
    wait_for(lambda: files(out).get(f"pat_a.h.{year}.log") == b"A\n", what="the matching topic")
    t.wait_stderr("skipping topic other (doesn't match pattern ^pat)")
    stop(t)
    assert list(files(out)) == [f"pat_a.h.{year}.log"]


def test_validation_messages():
    cases = [
        (["--log-level=bogus"], "--log-level is invalid"),
        (["--channel="], "--channel is required"),
        (["--http-client-connect-timeout=0"], "--http-client-connect-timeout should be positive"),
        ([], "--nsqd-tcp-address or --lookupd-http-address required."),
        (["--nsqd-tcp-address=a:1", "--lookupd-http-address=b:1"],
         "use --nsqd-tcp-address or --lookupd-http-address not both"),
        (["--nsqd-tcp-address=a:1", "--gzip-level=10"],
         "invalid --gzip-level value (10), should be 1-9"),
        (["--nsqd-tcp-address=a:1"], "--topic or --topic-pattern required"),
        (["--nsqd-tcp-address=a:1", "--topic-pattern=x"],
         "--lookupd-http-address must be specified when no --topic specified"),
        (["--topic=t", "extra", "args"], "unknown arguments: [extra args]"),
    ]
    for args, msg in cases:
        r = run_tool("nsq_to_file", *args)
        assert r.returncode == 1, (args, r.stderr)
        assert last_log_message(r.stderr) == msg, args
    r = run_tool("nsq_to_file", "--version")
    assert (r.returncode, r.stdout) == (0, b"nsq_to_file v1.3.0\n")
    r = run_tool("nsq_to_file", "--bogus")
    assert r.returncode == 2
    assert r.stderr.decode().startswith("flag provided but not defined: -bogus\nUsage of nsqd:\n")
