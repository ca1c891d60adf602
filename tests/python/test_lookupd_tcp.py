"""nsqlookupd TCP protocol V1: exact bytes for every command and every error.

Responses are [int32 BE size][payload] with no frame type; every error is fatal (the error
is written, then the connection closes).
"""

from __future__ import annotations

import json
import socket
import struct

import pytest

from lookupd_fixtures import (  # noqa: F401
    DEFAULT_IDENTIFY,
    HOSTNAME,
    MAGIC_V1,
    V1Client,
    exchange,
    identify_cmd,
    lookupd,
    lookupd_factory,
    ours_only,
    response,
    sized,
)

IDENT = identify_cmd()


def identify_reply(d) -> bytes:
    return (b'{"broadcast_address":"lookupd-bcast","hostname":"' + HOSTNAME.encode()
            + b'","http_port":' + str(d.http_port).encode()
            + b',"tcp_port":' + str(d.tcp_port).encode() + b',"version":"1.3.0"}')


def test_ok_response_bytes(lookupd):
    with lookupd.v1(identify=False) as c:
        c.send(b"PING\n")
        c._fill(6)
        assert c.buf == b"\x00\x00\x00\x02OK"


def test_bad_magic(lookupd):
    with V1Client(lookupd.tcp_port) as c:
        c.send(b"  V2")
        assert c.read_until_close() == bytes.fromhex("0000000e") + b"E_BAD_PROTOCOL"
    with V1Client(lookupd.tcp_port) as c:
        c.send(b"GET / HTTP/1.1\r\n\r\n")
        assert c.read_until_close() == response("E_BAD_PROTOCOL")


def test_no_magic_just_close(lookupd):
    with V1Client(lookupd.tcp_port) as c:
        c.send(b" V")
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read_until_close() == b""
    lookupd.wait_log(r"ERROR: failed to read protocol version - ")


def test_ping_before_and_after_identify(lookupd):
    with lookupd.v1(identify=False) as c:
        assert c.call("PING") == b"OK"
        assert c.call("PING with extra args") == b"OK"
        c.send(IDENT)
        assert c.read_response() == identify_reply(lookupd)
        assert c.call("PING") == b"OK"
    lookupd.wait_log(r"INFO: CLIENT\(127\.0\.0\.1:\d+\): pinged \(last ping [0-9.]+[nµm]?s\)")


def test_identify_response(lookupd):
    with lookupd.v1(identify=False) as c:
        c.send(IDENT)
        reply = c.read_response()
        assert reply == identify_reply(lookupd)
        assert list(json.loads(reply)) == sorted(json.loads(reply))


def test_identify_default_broadcast_address_is_hostname(lookupd_factory):
    d = lookupd_factory()
    with d.v1(identify=False) as c:
        c.send(IDENT)
        assert json.loads(c.read_response())["broadcast_address"] == HOSTNAME


def test_identify_with_params_and_crlf(lookupd):
    # Arguments after IDENTIFY are ignored; the line is TrimSpace'd.
    with lookupd.v1(identify=False) as c:
        c.send(b" IDENTIFY foo bar \r\n" + sized(json.dumps(DEFAULT_IDENTIFY).encode()))
        assert c.read_response() == identify_reply(lookupd)


@pytest.mark.parametrize("data,err", [
    (b"FOO\n", b"E_INVALID invalid command FOO"),
    (b"INVALID_COMMAND\n", b"E_INVALID invalid command INVALID_COMMAND"),
    (b"\n", b"E_INVALID invalid command "),
    (b"   \r\n", b"E_INVALID invalid command "),
    (b"ping\n", b"E_INVALID invalid command ping"),
    (b"\x00PING\n", b"E_INVALID invalid command \x00PING"),
    (b"FOO\xff bar\n", b"E_INVALID invalid command FOO\xff"),
    (b"REGISTER\n", b"E_INVALID client must IDENTIFY"),
    (b"REGISTER foo\n", b"E_INVALID client must IDENTIFY"),
    (b"UNREGISTER foo bar\n", b"E_INVALID client must IDENTIFY"),
    (b"IDENTIFY\n" + sized(b"{]"), b"E_BAD_BODY IDENTIFY failed to decode JSON body"),
    (b"IDENTIFY\n" + sized(b""), b"E_BAD_BODY IDENTIFY failed to decode JSON body"),
    (b"IDENTIFY\n" + sized(b'{"tcp_port":"x"}'),
     b"E_BAD_BODY IDENTIFY failed to decode JSON body"),
    (b"IDENTIFY\n" + sized(b'{"tcp_port":1.5}'),
     b"E_BAD_BODY IDENTIFY failed to decode JSON body"),
    (b"IDENTIFY\n" + sized(b"[]"), b"E_BAD_BODY IDENTIFY failed to decode JSON body"),
    (b"IDENTIFY\n" + sized(b"{} x"), b"E_BAD_BODY IDENTIFY failed to decode JSON body"),
    (b"IDENTIFY\n" + sized(b"{}"), b"E_BAD_BODY IDENTIFY missing fields"),
    (b"IDENTIFY\n" + sized(b"null"), b"E_BAD_BODY IDENTIFY missing fields"),
    (identify_cmd({**DEFAULT_IDENTIFY, "broadcast_address": ""}),
     b"E_BAD_BODY IDENTIFY missing fields"),
    (identify_cmd({**DEFAULT_IDENTIFY, "tcp_port": 0}), b"E_BAD_BODY IDENTIFY missing fields"),
    (identify_cmd({**DEFAULT_IDENTIFY, "http_port": 0}), b"E_BAD_BODY IDENTIFY missing fields"),
    (identify_cmd({k: v for k, v in DEFAULT_IDENTIFY.items() if k != "version"}),
     b"E_BAD_BODY IDENTIFY missing fields"),
], ids=lambda v: repr(v)[:40])
def test_fatal_errors(lookupd, data, err):
    assert exchange(lookupd.tcp_port, data) == response(err)


@pytest.mark.parametrize("cmd,err", [
    (b"REGISTER\n", b"E_INVALID REGISTER insufficient number of params"),
    (b"UNREGISTER\n", b"E_INVALID UNREGISTER insufficient number of params"),
    (b"REGISTER  foo\n", b"E_BAD_TOPIC REGISTER topic name '' is not valid"),
    (b"REGISTER a$b\n", b"E_BAD_TOPIC REGISTER topic name 'a$b' is not valid"),
    (b"REGISTER " + b"a" * 65 + b"\n",
     b"E_BAD_TOPIC REGISTER topic name '" + b"a" * 65 + b"' is not valid"),
    (b"UNREGISTER t:ephemeral\n", b"E_BAD_TOPIC UNREGISTER topic name 't:ephemeral' is not valid"),
    (b"REGISTER t c$\n", b"E_BAD_CHANNEL REGISTER channel name 'c$' is not valid"),
    (b"REGISTER t c$ extra\n", b"E_BAD_CHANNEL REGISTER channel name 'c$' is not valid"),
    (b"UNREGISTER t #ephemeral\n",
     b"E_BAD_CHANNEL UNREGISTER channel name '#ephemeral' is not valid"),
])
def test_register_errors_after_identify(lookupd, cmd, err):
    out = exchange(lookupd.tcp_port, IDENT + cmd)
    assert out == response(identify_reply(lookupd)) + response(err)


def test_identify_twice(lookupd):
    out = exchange(lookupd.tcp_port, IDENT + IDENT)
    assert out == response(identify_reply(lookupd)) + response("E_INVALID cannot IDENTIFY again")


def test_identify_short_size_and_body(lookupd):
    out = exchange(lookupd.tcp_port, b"IDENTIFY\n\x00\x00", shut_write=True)
    assert out == response("E_BAD_BODY IDENTIFY failed to read body size")
    out = exchange(lookupd.tcp_port, b"IDENTIFY\n" + struct.pack(">i", 100) + b"{}",
                   shut_write=True)
    assert out == response("E_BAD_BODY IDENTIFY failed to read body")


@ours_only
def test_identify_negative_size_is_rejected(lookupd):
    # The reference panics (make with a negative length) and the whole daemon dies.
    out = exchange(lookupd.tcp_port, b"IDENTIFY\n" + struct.pack(">i", -1))
    assert out == response("E_BAD_BODY IDENTIFY invalid body size -1")
    out = exchange(lookupd.tcp_port, b"IDENTIFY\n" + struct.pack(">i", -2147483648))
    assert out == response("E_BAD_BODY IDENTIFY invalid body size -2147483648")
    assert lookupd.get("/ping")[0] == 200


@ours_only
def test_identify_huge_size_is_rejected_without_waiting(lookupd):
    # The reference allocates the claimed size and waits for it to arrive.
    out = exchange(lookupd.tcp_port, b"IDENTIFY\n" + struct.pack(">i", 0x7FFFFFFF))
    assert out == response("E_BAD_BODY IDENTIFY body too big 2147483647 > 5242880")
    assert lookupd.get("/ping")[0] == 200


def test_register_unregister_ok(lookupd):
    with lookupd.v1() as c:
        assert c.call("REGISTER t") == b"OK"
        assert c.call("REGISTER t") == b"OK"
        assert c.call("REGISTER t c") == b"OK"
        assert c.call("REGISTER t#ephemeral c#ephemeral ignored") == b"OK"
        assert c.call("UNREGISTER t c") == b"OK"
        assert c.call("UNREGISTER never-registered") == b"OK"
        assert c.call("UNREGISTER t") == b"OK"
        assert c.call(" PING \r\n") == b"OK"


def test_unicode_whitespace_is_trimmed(lookupd):
    with lookupd.v1(identify=False) as c:
        assert c.call("\u00a0PING\u3000\n".encode()) == b"OK"


def test_partial_line_at_eof_is_ignored(lookupd):
    assert exchange(lookupd.tcp_port, b"PING", shut_write=True) == b""


def test_pipelined_commands(lookupd):
    data = IDENT + b"REGISTER a\nREGISTER b c\nPING\nBAD\nPING\n"
    out = exchange(lookupd.tcp_port, data)
    assert out == (response(identify_reply(lookupd)) + response("OK") * 3
                   + response("E_INVALID invalid command BAD"))


def test_error_closes_only_that_connection(lookupd):
    with lookupd.v1() as good:
        assert exchange(lookupd.tcp_port, b"NOPE\n") == response("E_INVALID invalid command NOPE")
        assert good.call("PING") == b"OK"


def test_disconnect_is_logged(lookupd):
    with lookupd.v1() as c:
        addr = c.local_addr
        assert c.call("REGISTER t c") == b"OK"
    lookupd.wait_log(rf"INFO: PROTOCOL\(V1\): \[{addr}\] exiting ioloop")
    lookupd.wait_log(rf"INFO: DB: client\({addr}\) UNREGISTER category:channel key:t subkey:c")
    lookupd.wait_log(rf"ERROR: client\({addr}\) - EOF")


def test_many_concurrent_clients(lookupd):
    clients = [lookupd.v1(identify=False) for _ in range(20)]
    try:
        for i, c in enumerate(clients):
            c.identify_ok(broadcast_address=f"n{i}", http_port=5000 + i)
            assert c.call(f"REGISTER t{i % 3}") == b"OK"
        assert len(lookupd.get_json("/nodes")["producers"]) == 20
        assert len(lookupd.get_json("/lookup?topic=t0")["producers"]) == 7
    finally:
        for c in clients:
            c.close()


def test_magic_read_has_no_deadline(lookupd):
    with V1Client(lookupd.tcp_port) as c:
        c.sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            c.sock.recv(1)
        c.sock.settimeout(5)
        c.send(MAGIC_V1 + b"PING\n")
        assert c.read_response() == b"OK"
