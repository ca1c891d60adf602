"""nsq_stat: the header, data rows from nsqd and lookupd, and fatal errors (needs nsqd's HTTP
API)."""

from __future__ import annotations

import signal

from lookupd_fixtures import lookupd, lookupd_factory  # noqa: F401
from tools_helpers import (create_channel, last_log_message, lookup_producers, pub,  # noqa: F401
                           run_tool, tools, wait_for, wait_http)

HEADER = ("------rate------+----------------depth----------------+"
          "--------------metadata---------------\n"
          "ingress  egress |   total     mem    disk inflt   def |"
          "     req     t-o         msgs clients\n")


def row(depth, mem, disk, inflt, deferred, req, to, msgs, clients, ingress=0, egress=0) -> str:
    return (f"{ingress:>7} {egress:>7} | {depth:>7} {mem:>7} {disk:>7} {inflt:>5} "
            f"{deferred:>5} | {req:>7} {to:>7} {msgs:>12} {clients:>7}\n")


def test_header_and_rows_from_nsqd(nsqd):
    wait_http(nsqd)
    create_channel(nsqd, "t", "c")
    pub(nsqd, "t", *[b"m%d" % i for i in range(10)])
    r = run_tool("nsq_stat", "--topic=t", "--channel=c",
                 f"--nsqd-http-address={nsqd.http_address}", "--count=2", "--interval=100ms")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == HEADER + row(10, 10, 0, 0, 0, 0, 0, 10, 0) * 2


def test_rows_sum_over_lookupd_producers(lookupd, nsqd_factory):
    nodes = [nsqd_factory(f"--lookupd-tcp-address={lookupd.tcp_addr}",
                          "--broadcast-address=127.0.0.1") for _ in range(2)]
    for i, d in enumerate(nodes):
        wait_http(d)
        create_channel(d, "t", "c")
        pub(d, "t", *[b"x"] * (i + 2))
    wait_for(lambda: len(lookup_producers(lookupd, "t")) == 2, what="both nsqds registered")
    r = run_tool("nsq_stat", "--topic=t", "--channel=c",
                 f"--lookupd-http-address={lookupd.http_addr}", "--count=1",
                 "--interval=100ms")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == HEADER + row(5, 5, 0, 0, 0, 0, 0, 5, 0)


def test_missing_channel_is_fatal(nsqd):
    wait_http(nsqd)
    create_channel(nsqd, "t", "c")
    r = run_tool("nsq_stat", "--topic=t", "--channel=zz",
                 f"--nsqd-http-address={nsqd.http_address}", "--count=1", "--interval=100ms")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == \
        "ERROR: failed to find channel(zz) in stats metadata for topic(t)"
    r = run_tool("nsq_stat", "--topic=nope", "--channel=zz",
                 f"--nsqd-http-address={nsqd.http_address}", "--count=1", "--interval=100ms")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == \
        "ERROR: failed to get nsqd stats - failed to query any nsqd: "


def test_unreachable_nsqd_is_fatal():
    from tools_helpers import free_port
    port = free_port()
    r = run_tool("nsq_stat", "--topic=t", "--channel=c", f"--nsqd-http-address=127.0.0.1:{port}")
    assert r.returncode == 1
    assert last_log_message(r.stderr) == (
        "ERROR: failed to get topic producers - failed to query any nsqd: Get "
        f"\"http://127.0.0.1:{port}/stats?format=json&topic=t&include_clients=false\": "
        f"dial tcp 127.0.0.1:{port}: connect: connection refused")


def test_signal_exits(nsqd, tools):
    wait_http(nsqd)
    create_channel(nsqd, "t", "c")
    t = tools("nsq_stat", "--topic=t", "--channel=c", f"--nsqd-http-address={nsqd.http_address}",
              "--interval=100ms")
    wait_for(lambda: t.stdout().count(b"\n") >= 3, what="a data row")
    t.send_signal(signal.SIGHUP)
    assert t.wait() == 0


def test_validation_and_version():
    r = run_tool("nsq_stat", "--version")
    assert (r.returncode, r.stdout) == (0, b"nsq_stat v1.3.0\n")
    cases = [
        ([], "--topic and --channel are required"),
        (["--topic=t", "--channel=c", "--interval=0"], "--interval should be positive"),
        (["--topic=t", "--channel=c", "--http-client-connect-timeout=0"],
         "--http-client-connect-timeout should be positive"),
        (["--topic=t", "--channel=c", "--count=0"], "--count should be positive"),
        (["--topic=t", "--channel=c"], "--nsqd-http-address or --lookupd-http-address required"),
        (["--topic=t", "--channel=c", "--nsqd-http-address=a:1", "--lookupd-http-address=b:1"],
         "use --nsqd-http-address or --lookupd-http-address not both"),
        (["--topic=t", "--channel=c", "--lookupd-http-address=http://b:1"],
         "--lookupd-http-address error - address should not contain scheme"),
    ]
    for args, msg in cases:
        r = run_tool("nsq_stat", *args)
        assert r.returncode == 1, (args, r.stderr)
        assert last_log_message(r.stderr) == msg, args
    r = run_tool("nsq_stat", "--count=x")
    assert r.returncode == 2
    assert r.stderr.decode().startswith(
        'invalid value "x" for flag -count: strconv.ParseInt: parsing "x": invalid syntax\n')
