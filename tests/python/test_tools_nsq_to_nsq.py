"""nsq_to_nsq: relaying between nsqds, destination topic, modes, JSON filtering, the source
message finished only after the destination acknowledged, and validation."""

from __future__ import annotations

import signal

from tools_helpers import (consume, create_channel, last_log_message, pub, run_tool,  # noqa: F401
                           tools, wait_for, wait_http)


def relay(tools, src, dests, topic, *extra):
    return tools("nsq_to_nsq", f"--topic={topic}", f"--nsqd-tcp-address={src.tcp_address}",
                 *[f"--destination-nsqd-tcp-address={d.tcp_address}" for d in dests], *extra)


def test_relays_between_two_nsqds(nsqd_factory, tools):
    src, dst = nsqd_factory(), nsqd_factory()
    create_channel(dst, "t", "c")
    t = relay(tools, src, [dst], "t")
    pub(src, "t", b"one", b"two", b"three")
    assert sorted(consume(dst, "t", "c", 3)) == [b"one", b"three", b"two"]
    t.send_signal(signal.SIGTERM)
    assert t.wait() == 0
    assert "stopping..." in t.stderr()


def test_destination_topic_and_source_is_finished(nsqd_factory, tools):
    src, dst = nsqd_factory(), nsqd_factory()
    wait_http(src)
    create_channel(dst, "other", "c")
    relay(tools, src, [dst], "t", "--destination-topic=other")
    pub(src, "t", b"m")
    assert consume(dst, "other", "c", 1) == [b"m"]

    def finished():
        ch = src.channel_stats("t", "nsq_to_nsq")
        return ch and ch["depth"] == 0 and ch["in_flight_count"] == 0 and ch["message_count"] == 1
    wait_for(finished, what="the source message FIN'd")


def test_round_robin_spreads_over_destinations(nsqd_factory, tools):
    src, a, b = nsqd_factory(), nsqd_factory(), nsqd_factory()
    for d in (a, b):
        create_channel(d, "t", "c")
    relay(tools, src, [a, b], "t", "--mode=round-robin", "--status-every=0")
    pub(src, "t", *[b"%d" % i for i in range(4)])
    got = consume(a, "t", "c", 2) + consume(b, "t", "c", 2)
    assert sorted(got) == [b"0", b"1", b"2", b"3"]


def test_json_whitelist_and_required_value(nsqd_factory, tools):
    src, dst = nsqd_factory(), nsqd_factory()
    create_channel(dst, "j", "c")
    t = relay(tools, src, [dst], "j", "--require-json-field=kind",
              "--require-json-value=keep", "--whitelist-json-field=n",
              "--whitelist-json-field=kind", "--whitelist-json-field=s")
    pub(src, "j",
        b'{"kind":"drop","n":1}',
        b'not json',
        b'{"kind":"keep","n":2.0,"s":"<x>","extra":true}')
    assert consume(dst, "j", "c", 1) == [b'{"kind":"keep","n":2,"s":"\\u003cx\\u003e"}']
    t.wait_stderr("ERROR: Unable to decode json: not json")


def test_validation_messages():
    base = ["--topic=t", "--nsqd-tcp-address=a:1"]
    cases = [
        ([], "--topic and --channel are required"),
        (["--topic=a b"], "--topic is invalid"),
        (["--topic=t", "--destination-topic=x!"], "--destination-topic is invalid"),
        (["--topic=t", "--channel=c c"], "--channel is invalid"),
        (["--topic=t"], "--nsqd-tcp-address or --lookupd-http-address required"),
        (base + ["--lookupd-http-address=b:1"],
         "use --nsqd-tcp-address or --lookupd-http-address not both"),
        (base, "--destination-nsqd-tcp-address required"),
    ]
    for args, msg in cases:
        r = run_tool("nsq_to_nsq", *args)
        assert r.returncode == 1, (args, r.stderr)
        assert last_log_message(r.stderr) == msg, args
    r = run_tool("nsq_to_nsq", "--version")
    assert (r.returncode, r.stdout) == (0, b"nsq_to_nsq v1.3.0\n")
    r = run_tool("nsq_to_nsq", *base, "--destination-nsqd-tcp-address=c:1",
                 "--producer-opt=snappy,maybe")
    assert r.returncode == 2
    assert r.stderr.decode().startswith(
        'invalid value "snappy,maybe" for flag -producer-opt: failed to coerce option snappy '
        '(maybe) - strconv.ParseBool: parsing "maybe": invalid syntax\n')


def test_unreachable_destination_requeues(nsqd, tools):
    from tools_helpers import free_port
    wait_http(nsqd)
    port = free_port()
    t = tools("nsq_to_nsq", "--topic=t", f"--nsqd-tcp-address={nsqd.tcp_address}",
              f"--destination-nsqd-tcp-address=127.0.0.1:{port}")
    pub(nsqd, "t", b"keep")

    def requeued():
        ch = nsqd.channel_stats("t", "nsq_to_nsq")
        return ch and ch["requeue_count"] >= 1 and ch["message_count"] == 1
    wait_for(requeued, what="the message requeued, not lost")
    t.wait_stderr(f"dial tcp 127.0.0.1:{port}: connect: connection refused")
