"""nsq_to_http: POST/GET delivery, headers, modes, failures and requeue, sampling, status
lines and validation, against a recording HTTP server."""

from __future__ import annotations

import re
import signal

from tools_helpers import (http_recorder, last_log_message, pub, run_tool, tools,  # noqa: F401
                           wait_for, wait_http)


def start(tools, nsqd, topic, *extra):
    return tools("nsq_to_http", f"--topic={topic}", f"--nsqd-tcp-address={nsqd.tcp_address}",
                 *extra)


def bodies(rec) -> list[bytes]:
    return sorted(r["body"] for r in rec.snapshot())


def test_post_delivers_body_and_headers(nsqd, tools, http_recorder):
    rec = http_recorder()
    t = start(tools, nsqd, "p", f"--post=http://{rec.addr}/in", "--content-type=text/plain",
              "--header=X-Custom: v1")
    pub(nsqd, "p", b"hello", b"world")
    wait_for(lambda: len(rec.snapshot()) == 2, what="two POSTs")
    r = rec.snapshot()[0]
    assert (r["method"], r["path"]) == ("POST", "/in")
    assert r["headers"]["user-agent"] == "nsq_to_http v1.3.0"
    assert r["headers"]["content-type"] == "text/plain"
    assert r["headers"]["x-custom"] == "v1"
    assert bodies(rec) == [b"hello", b"world"]
    t.send_signal(signal.SIGTERM)
    assert t.wait() == 0


def test_get_substitutes_the_escaped_body(nsqd, tools, http_recorder):
    rec = http_recorder()
    start(tools, nsqd, "g", f"--get=http://{rec.addr}/g?data=%s&x=1")
    pub(nsqd, "g", b"a b/&=")
    wait_for(lambda: rec.snapshot(), what="a GET")
    r = rec.snapshot()[0]
    assert (r["method"], r["path"]) == ("GET", "/g?data=a+b%2F%26%3D&x=1")
    assert "content-type" not in r["headers"]


def test_round_robin_alternates(nsqd, tools, http_recorder):
    a, b = http_recorder(), http_recorder()
    start(tools, nsqd, "rr", f"--post=http://{a.addr}/", f"--post=http://{b.addr}/",
          "--mode=round-robin", "--n=1")
    pub(nsqd, "rr", b"1", b"2", b"3", b"4")
    wait_for(lambda: len(a.snapshot()) + len(b.snapshot()) == 4, what="four requests")
    assert len(a.snapshot()) == 2 and len(b.snapshot()) == 2


def test_unknown_mode_sends_to_every_address(nsqd, tools, http_recorder):
    a, b = http_recorder(), http_recorder()
    start(tools, nsqd, "all", f"--post=http://{a.addr}/", f"--post=http://{b.addr}/",
          "--mode=fanout")
    pub(nsqd, "all", b"x", b"y")
    wait_for(lambda: bodies(a) == [b"x", b"y"] and bodies(b) == [b"x", b"y"],
             what="both messages at both servers")


def test_failure_requeues_the_message(nsqd, tools, http_recorder):
    rec = http_recorder(status=500)
    t = start(tools, nsqd, "f", f"--post=http://{rec.addr}/",
              "--consumer-opt=default_requeue_delay,10ms", "--consumer-opt=backoff_multiplier,10ms")
    pub(nsqd, "f", b"again")
    wait_for(lambda: len(rec.snapshot()) >= 2, what="a redelivery after the 500")
    assert {r["body"] for r in rec.snapshot()} == {b"again"}
    t.wait_stderr("Handler returned error (got status code 500) for msg ")


def test_sample_zero_finishes_without_sending(nsqd, tools, http_recorder):
    wait_http(nsqd)
    rec = http_recorder()
    start(tools, nsqd, "s", f"--post=http://{rec.addr}/", "--sample=0")
    pub(nsqd, "s", b"1", b"2", b"3")

    def drained():
        ch = nsqd.channel_stats("s", "nsq_to_http")
        return ch and ch["depth"] == 0 and ch["in_flight_count"] == 0 and \
            ch["message_count"] == 3
    wait_for(drained, what="all three messages finished")
    assert rec.snapshot() == []


def test_status_lines(nsqd, tools, http_recorder):
    rec = http_recorder()
    t = start(tools, nsqd, "st", f"--post=http://{rec.addr}/", "--status-every=2", "--n=1")
    pub(nsqd, "st", b"1", b"2", b"3")
    wait_for(lambda: len(rec.snapshot()) == 3, what="three requests")
    err = t.wait_stderr("[aggregate]: finished 2 - 99th: ")
    assert "Warning: use more than 100 status values for accurate percentiles " \
           "(configured with 2)" in err
    assert re.search(r"\[aggregate\]: finished 2 - 99th: \d+\.\d\dms - 95th: \d+\.\d\dms - "
                     r"avg: \d+\.\d\dms", err), err


def test_validation_messages():
    base = ["--topic=t", "--nsqd-tcp-address=a:1"]
    cases = [
        (["--header=nocolon"] + base, "--header value format should be 'key=value'"),
        (["--channel="] + base[:1], "--topic and --channel are required"),
        (base + ["--content-type=x/y", "--get=http://h/%s"], "--content-type only used with --post"),
        (base + ["--content-type=", "--post=http://h/"], "--content-type requires a value when used"),
        (["--topic=t", "--post=http://h/"], "--nsqd-tcp-address or --lookupd-http-address required"),
        (base + ["--lookupd-http-address=b:1"],
         "use --nsqd-tcp-address or --lookupd-http-address not both"),
        (base, "--get or --post required"),
        (base + ["--get=http://h/%s", "--post=http://h/"], "use --get or --post not both"),
        (base + ["--get=http://h/nothing"], "invalid GET address - must be a printf string"),
        (base + ["--post=http://h/", "--sample=1.5"], "ERROR: --sample must be between 0.0 and 1.0"),
    ]
    for args, msg in cases:
        r = run_tool("nsq_to_http", *args)
        assert r.returncode == 1, (args, r.stderr)
        assert last_log_message(r.stderr) == msg, args
    r = run_tool("nsq_to_http", "--version")
    assert (r.returncode, r.stdout) == (0, b"nsq_to_http v1.3.0\n")
