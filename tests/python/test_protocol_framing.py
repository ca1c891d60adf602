"""Spec §1.1-§1.3, §1.6: magic, command line framing, frame layout, fatal vs. non-fatal."""

import socket
import struct
import time

import pytest

from nsqlib import OK_FRAME, error_frame, publish


def test_bad_magic_v1_exact_bytes(nsqd):
    c = nsqd.conn(magic=b"  V1")
    c.expect(bytes.fromhex("00000012 00000001 455f4241445f50524f544f434f4c"))
    c.expect_closed()


@pytest.mark.parametrize("magic", [b"GET ", b"V2  ", b"  v2", b"\x00\x00\x00\x00"])
def test_bad_magic_is_fatal(nsqd, magic):
    c = nsqd.conn(magic=magic)
    c.expect(error_frame("E_BAD_PROTOCOL"))
    c.expect_closed()


def test_magic_split_across_writes(nsqd):
    c = nsqd.conn(magic=None)
    c.send(b"  ")
    time.sleep(0.1)
    c.send(b"V2")
    c.assert_alive_init()


def test_magic_then_nothing_keeps_connection(nsqd):
    c = nsqd.conn(magic=None)
    c.expect_nothing(0.5)
    c.send(b"  V2")
    c.assert_alive_init()


def test_ok_frame_exact_bytes(nsqd):
    c = nsqd.conn()
    c.pub("t", b"hello")
    c.expect(bytes.fromhex("00000006 00000000 4f4b"))
    assert OK_FRAME == bytes.fromhex("00000006000000004f4b")


def test_pipelined_commands_answered_in_order(nsqd):
    c = nsqd.conn()
    # several commands in one write: NOP (no response), PUB, NOP, MPUB, PUB
    data = b"NOP\nPUB t\n\x00\x00\x00\x01a" + b"NOP\n"
    data += b"MPUB t\n\x00\x00\x00\x0e\x00\x00\x00\x02\x00\x00\x00\x01b\x00\x00\x00\x01c"
    data += b"PUB t\n\x00\x00\x00\x01d"
    c.send(data)
    c.expect(OK_FRAME * 3)
    c.expect_nothing(0.2)


def test_line_of_16384_bytes_is_accepted(nsqd):
    c = nsqd.conn()
    line = b"NOP " + b"x" * (16384 - 5) + b"\n"
    assert len(line) == 16384
    c.send(line)
    c.assert_alive_init()


def test_line_of_16385_bytes_closes_without_frame(nsqd):
    c = nsqd.conn()
    line = b"NOP " + b"x" * (16385 - 5) + b"\n"
    assert len(line) == 16385
    c.send(line)
    c.expect_closed()


def test_line_limit_applies_to_pub_topic(nsqd):
    c = nsqd.conn()
    c.send(b"PUB " + b"t" * 20000 + b"\n")
    c.expect_closed()


def test_crlf_line_ending(nsqd):
    c = nsqd.conn()
    c.send(b"NOP\r\n")
    c.send(b"PUB t\r\n\x00\x00\x00\x02hi")
    c.expect_ok()
    c.send(b"SUB t c\r\nRDY 1\r\n")
    c.expect_ok()
    m = c.read_message()
    assert m.body == b"hi"


def test_only_one_trailing_cr_removed(nsqd):
    c = nsqd.conn()
    c.send(b"NOP\r\r\n")
    c.expect_fatal("E_INVALID invalid command NOP\r")


def test_cr_in_middle_is_not_stripped(nsqd):
    c = nsqd.conn()
    c.send(b"PUB t\rx\n\x00\x00\x00\x01a")
    c.expect_fatal('E_BAD_TOPIC PUB topic name "t\\rx" is not valid')


def test_empty_line_is_fatal_invalid_command(nsqd):
    c = nsqd.conn()
    c.send(b"\n")
    c.expect(error_frame("E_INVALID invalid command "))
    c.expect_closed()


def test_double_empty_line_does_not_hurt_server(nsqd):
    # TestEmptyCommand: "\n\n" on a fresh connection must not crash the server
    c = nsqd.conn()
    c.send(b"\n\n")
    c.expect_fatal("E_INVALID invalid command ")
    c2 = nsqd.conn()
    c2.assert_alive_init()


def test_split_on_every_single_space(nsqd):
    c = nsqd.conn()
    c.cmd("SUB  t c")
    c.expect_fatal('E_BAD_TOPIC SUB topic name "" is not valid')


def test_tab_is_not_a_separator(nsqd):
    c = nsqd.conn()
    c.cmd("NOP\tx")
    c.expect_fatal("E_INVALID invalid command NOP\tx")


def test_leading_space_gives_empty_command(nsqd):
    c = nsqd.conn()
    c.cmd(" NOP")
    c.expect_fatal("E_INVALID invalid command ")


@pytest.mark.parametrize("name", ["nop", "Nop", "pub", "sub", "identify", "Fin", "cls"])
def test_command_names_are_case_sensitive(nsqd, name):
    c = nsqd.conn()
    c.cmd(name)
    c.expect_fatal(f"E_INVALID invalid command {name}")


def test_unknown_command_is_fatal(nsqd):
    # TestFatalError
    c = nsqd.conn()
    c.cmd("ASDF")
    c.expect(bytes.fromhex("00000022 00000001") + b"E_INVALID invalid command ASDF")
    c.expect_closed()


def test_unknown_command_with_params(nsqd):
    c = nsqd.conn()
    c.cmd("INVALID_COMMAND a b")
    c.expect_fatal("E_INVALID invalid command INVALID_COMMAND")


def test_nop_has_no_response(nsqd):
    c = nsqd.conn()
    c.cmd("NOP")
    c.cmd("NOP x y")
    c.expect_nothing(0.3)
    c.assert_alive_init()


def test_nop_in_every_state(nsqd):
    c = nsqd.conn()
    c.cmd("NOP")
    c.cmd("SUB t c")
    c.expect_ok()
    c.cmd("NOP")
    c.cmd("CLS")
    c.expect_response("CLOSE_WAIT")
    c.cmd("NOP")
    c.expect_nothing(0.2)
    c.assert_alive_subscribed()


def test_no_identify_needed_before_pub_or_sub(nsqd):
    publish(nsqd, "t", b"m1")
    c = nsqd.conn()
    c.cmd("SUB t c")
    c.expect_ok()
    c.cmd("RDY 1")
    assert c.read_message().body == b"m1"


def test_client_eof_mid_command_does_not_hurt_server(nsqd):
    c = nsqd.conn()
    c.send(b"PUB t\n\x00\x00")
    c.close()
    c = nsqd.conn()
    c.send(b"SUB t c")  # no newline
    c.close()
    nsqd.conn().assert_alive_init()


def test_many_connections_then_reset(nsqd):
    conns = [nsqd.conn() for _ in range(50)]
    for c in conns:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    nsqd.conn().assert_alive_init()
