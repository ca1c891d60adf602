"""nsq_tail: print bodies, --n, --print-topic, lookupd discovery, signals, validation."""

from __future__ import annotations

import re
import signal

from lookupd_fixtures import lookupd, lookupd_factory  # noqa: F401
from tools_helpers import (last_log_message, lookup_producers, pub, run_tool, tools,  # noqa: F401
                           wait_for, wait_http)


def test_n_prints_bodies_and_exits(nsqd):
    pub(nsqd, "t", b"one", b"two", b"three")
    r = run_tool("nsq_tail", "--topic=t", f"--nsqd-tcp-address={nsqd.tcp_address}", "-n", "3",
                 timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"one\ntwo\nthree\n"
    err = r.stderr.decode()
    assert "Adding consumer for topic: t" in err
    # the default channel is an ephemeral tail<NNNNNN>
    assert re.search(r"INF    1 \[t/tail\d{6}#ephemeral\] \(127\.0\.0\.1:\d+\) connecting to nsqd",
                     err), err


def test_print_topic_with_two_topics(nsqd):
    pub(nsqd, "a", b"x")
    pub(nsqd, "b", b"y")
    # --n counts per topic: two messages are needed from one of them, so both print first
    pub(nsqd, "b", b"z")
    r = run_tool("nsq_tail", "--topic=a", "--topic=b", "--print-topic", "--channel=c",
                 f"--nsqd-tcp-address={nsqd.tcp_address}", "--n=2", timeout=20)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert "b | y" in lines and lines[-1] == "b | z", lines
    assert set(lines) <= {"a | x", "b | y", "b | z"}


def test_lookupd_discovery(lookupd, nsqd_factory):
    d = nsqd_factory(f"--lookupd-tcp-address={lookupd.tcp_addr}", "--broadcast-address=127.0.0.1")
    pub(d, "lt", b"hello")
    wait_for(lambda: lookup_producers(lookupd, "lt"), what="nsqd registered in lookupd")
    r = run_tool("nsq_tail", "--topic=lt", f"--lookupd-http-address={lookupd.http_addr}",
                 "--n=1", timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello\n"
    assert f"querying nsqlookupd http://{lookupd.http_addr}/lookup?topic=lt" in r.stderr.decode()


def test_sigint_stops_cleanly(nsqd, tools):
    t = tools("nsq_tail", "--topic=s", "--channel=c", f"--nsqd-tcp-address={nsqd.tcp_address}")
    pub(nsqd, "s", b"m1")
    wait_for(lambda: t.stdout() == b"m1\n", what="the message printed")
    t.send_signal(signal.SIGINT)
    assert t.wait() == 0
    err = t.stderr()
    for needle in ("stopping...", "received CLOSE_WAIT from nsqd", "clean close complete",
                   "there are 0 connections left alive"):
        assert needle in err, err


def test_identifies_as_nsq_tail(nsqd, tools):
    wait_http(nsqd)
    tools("nsq_tail", "--topic=u", "--channel=c", f"--nsqd-tcp-address={nsqd.tcp_address}")

    def client():
        ch = nsqd.channel_stats("u", "c")
        return ch and ch.get("clients") and ch["clients"][0]

    c = wait_for(client, what="the tail client in /stats")
    assert c["user_agent"] == "nsq_tail/1.3.0 go-nsq/1.1.0"
    assert c["ready_count"] == 200


def test_validation_and_version():
    r = run_tool("nsq_tail", "--version")
    assert (r.returncode, r.stdout) == (0, b"nsq_tail v1.3.0\n")
    r = run_tool("nsq_tail", "--topic=t")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == "--nsqd-tcp-address or --lookupd-http-address required"
    r = run_tool("nsq_tail", "--topic=t", "--nsqd-tcp-address=a:1",
                 "--lookupd-http-address=b:2")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == \
        "use --nsqd-tcp-address or --lookupd-http-address not both"
    r = run_tool("nsq_tail", "--nsqd-tcp-address=a:1")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == "--topic required"
    r = run_tool("nsq_tail", "--topic=t", "--nsqd-tcp-address=a:1", "--consumer-opt=max_in_flight,x")
    assert r.returncode == 2
    assert r.stderr.decode().startswith(
        'invalid value "max_in_flight,x" for flag -consumer-opt: failed to coerce option '
        'max_in_flight (x) - strconv.ParseInt: parsing "x": invalid syntax\n')
