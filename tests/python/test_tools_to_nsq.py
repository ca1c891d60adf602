"""to_nsq: stdin records published to every nsqd; the reference's flags, texts and quirks."""

from __future__ import annotations

import signal
import subprocess

from tools_helpers import consume, create_channel, last_log_message, run_tool, tools  # noqa: F401


def test_publishes_stdin_lines(nsqd):
    create_channel(nsqd, "t", "c")
    r = run_tool("to_nsq", "--topic=t", f"--nsqd-tcp-address={nsqd.tcp_address}",
                 input=b"one\ntwo\n\nthree\n")
    assert r.returncode == 0, r.stderr
    assert consume(nsqd, "t", "c", 3) == [b"one", b"two", b"three"]
    assert b"connecting to nsqd" in r.stderr


def test_last_record_without_delimiter_loses_a_byte(nsqd):
    # The reference always chops the last byte of a read as "the delimiter".
    create_channel(nsqd, "t", "c")
    r = run_tool("to_nsq", "-topic", "t", "-nsqd-tcp-address", nsqd.tcp_address,
                 input=b"abc\n\ndef")
    assert r.returncode == 0, r.stderr
    assert consume(nsqd, "t", "c", 2) == [b"abc", b"de"]


def test_custom_delimiter_and_fan_out(nsqd_factory):
    a, b = nsqd_factory(), nsqd_factory()
    for d in (a, b):
        create_channel(d, "t", "c")
    r = run_tool("to_nsq", "--topic=t", "--delimiter=,", f"--nsqd-tcp-address={a.tcp_address}",
                 f"--nsqd-tcp-address={b.tcp_address}", input=b"x,y,z,")
    assert r.returncode == 0, r.stderr
    # every record goes to every nsqd
    assert consume(a, "t", "c", 3) == [b"x", b"y", b"z"]
    assert consume(b, "t", "c", 3) == [b"x", b"y", b"z"]


def test_rate_is_logged_and_everything_arrives(nsqd):
    create_channel(nsqd, "t", "c")
    r = run_tool("to_nsq", "--topic=t", "--rate=50", f"--nsqd-tcp-address={nsqd.tcp_address}",
                 input=b"".join(b"m%d\n" % i for i in range(5)))
    assert r.returncode == 0, r.stderr
    assert b"Throttling messages rate to max:50/second" in r.stderr
    assert consume(nsqd, "t", "c", 5) == [b"m%d" % i for i in range(5)]


def test_validation_messages():
    r = run_tool("to_nsq", input=b"")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == "--topic required"
    r = run_tool("to_nsq", "--topic=t", "--delimiter=ab", input=b"")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == "--delimiter must be a single byte"
    r = run_tool("to_nsq", "--topic=t", input=b"")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == "--nsqd-tcp-address required"


def test_no_version_flag():
    r = run_tool("to_nsq", "--version")
    assert r.returncode == 2
    err = r.stderr.decode()
    assert err.startswith("flag provided but not defined: -version\nUsage of ")
    assert "  -rate int\n    \tThrottle messages to n/second. 0 to disable\n" in err


def test_bad_producer_opt_is_a_flag_error():
    r = run_tool("to_nsq", "--topic=t", "--producer-opt=bogus,1", input=b"")
    assert r.returncode == 2
    assert r.stderr.decode().startswith(
        'invalid value "bogus,1" for flag -producer-opt: invalid option bogus\n')


def test_connection_refused_is_fatal():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = run_tool("to_nsq", "--topic=t", f"--nsqd-tcp-address=127.0.0.1:{port}", input=b"x\n")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == \
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"


def test_sigterm_while_reading_stdin_exits_cleanly(nsqd, tools):
    create_channel(nsqd, "t", "c")
    t = tools("to_nsq", "--topic=t", f"--nsqd-tcp-address={nsqd.tcp_address}",
              stdin=subprocess.PIPE)
    t.proc.stdin.write(b"first\n")
    t.proc.stdin.flush()
    assert consume(nsqd, "t", "c", 1) == [b"first"]
    t.send_signal(signal.SIGTERM)
    assert t.wait() == 0
    assert "stopping" in t.stderr()
