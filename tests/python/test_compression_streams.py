"""Spec §2.3/§2.4: snappy framing and raw deflate streams in both directions, beyond the
basic negotiation covered in test_protocol_identify.py: chunking, big messages, the 16 KiB
line limit on decompressed data, corrupt input, and isolation of bad clients."""

import struct
import zlib

import pytest

from nsqlib import (SNAPPY_STREAM_ID, DeflateStreamDecoder, DeflateStreamEncoder,
                    SnappyStreamDecoder, SnappyStreamEncoder, publish, snappy_masked_crc)
from secure_helpers import identify_json


def snappy_conn(nsqd, **identify):
    c = nsqd.conn()
    resp = identify_json(c, {"snappy": True, **identify})
    assert resp["snappy"] is True
    dec = SnappyStreamDecoder()
    c.set_codec(dec, SnappyStreamEncoder())
    c.expect_ok()
    return c


def deflate_conn(nsqd, level=6, **identify):
    c = nsqd.conn()
    resp = identify_json(c, {"deflate": True, "deflate_level": level, **identify})
    assert resp["deflate"] is True
    c.set_codec(DeflateStreamDecoder(), DeflateStreamEncoder(resp["deflate_level"]))
    c.expect_ok()
    return c


def snappy_literal_chunk(data: bytes) -> bytes:
    """A *compressed* (type 0x00) framing chunk whose snappy block is one long literal."""
    assert 0 < len(data) <= 65536
    varint = b""
    n = len(data)
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            varint += bytes([b | 0x80])
        else:
            varint += bytes([b])
            break
    lit_len = len(data) - 1
    if lit_len < 60:
        tag = bytes([lit_len << 2])
    elif lit_len < 256:
        tag = bytes([60 << 2, lit_len])
    else:
        tag = bytes([61 << 2]) + struct.pack("<H", lit_len)
    block = varint + tag + data
    body = struct.pack("<I", snappy_masked_crc(data)) + block
    return bytes([0x00]) + len(body).to_bytes(3, "little") + body


def snappy_uncompressed_chunk(data: bytes, crc: int | None = None) -> bytes:
    crc = snappy_masked_crc(data) if crc is None else crc
    body = struct.pack("<I", crc) + data
    return bytes([0x01]) + len(body).to_bytes(3, "little") + body


# -- snappy ---------------------------------------------------------------------------------

def test_snappy_compressed_chunks_from_client(nsqd):
    c = nsqd.conn()
    identify_json(c, {"snappy": True})
    c.set_codec(SnappyStreamDecoder(), None)
    c.expect_ok()
    # two commands in one compressed chunk, then one command split over three chunks
    cmds = b"PUB sc\n" + struct.pack(">i", 3) + b"one" + b"PUB sc\n" + struct.pack(">i", 3) + b"two"
    c.sock.sendall(SNAPPY_STREAM_ID + snappy_literal_chunk(cmds))
    c.expect_ok()
    c.expect_ok()
    third = b"PUB sc\n" + struct.pack(">i", 5) + b"three"
    c.sock.sendall(snappy_literal_chunk(third[:3]) + snappy_uncompressed_chunk(third[3:9]))
    c.sock.sendall(b"\xfe\x02\x00\x00\x00\x00")  # padding chunk
    c.sock.sendall(snappy_literal_chunk(third[9:]))
    c.expect_ok()
    assert nsqd_depth(nsqd, "sc") == 3


def nsqd_depth(nsqd, topic):
    # count by consuming: independent of the HTTP API
    c = nsqd.conn()
    c.cmd(f"SUB {topic} depth_probe")
    c.expect_ok()
    c.cmd("RDY 100")
    n = 0
    try:
        while True:
            m = c.read_message(timeout=0.5)
            c.cmd(b"FIN " + m.id)
            n += 1
    except TimeoutError:
        return n


def test_snappy_big_messages_both_ways(nsqd):
    big = bytes(range(256)) * 4000  # 1 MiB - 24 KiB, many chunks each way
    c = snappy_conn(nsqd)
    c.pub("sbig", big)
    c.expect_ok()
    c.mpub("sbig", [big[:300_000], big[300_000:]])
    c.expect_ok()
    c.cmd("SUB sbig ch")
    c.expect_ok()
    c.cmd("RDY 3")
    got = sorted(c.read_message().body for _ in range(3))
    assert got == sorted([big, big[:300_000], big[300_000:]])


def test_snappy_bad_checksum_closes_only_that_client(nsqd):
    bystander = snappy_conn(nsqd)
    c = nsqd.conn()
    identify_json(c, {"snappy": True})
    c.set_codec(SnappyStreamDecoder(), None)
    c.expect_ok()
    c.sock.sendall(SNAPPY_STREAM_ID + snappy_uncompressed_chunk(b"NOP\n", crc=1234))
    c.expect_closed()
    bystander.pub("ok", b"x")
    bystander.expect_ok()


def test_snappy_missing_stream_identifier(nsqd):
    c = nsqd.conn()
    identify_json(c, {"snappy": True})
    c.set_codec(SnappyStreamDecoder(), None)
    c.expect_ok()
    c.sock.sendall(snappy_uncompressed_chunk(b"NOP\n"))
    c.expect_closed()


def test_snappy_truncated_frame_then_eof(nsqd):
    c = nsqd.conn()
    identify_json(c, {"snappy": True})
    c.set_codec(SnappyStreamDecoder(), None)
    c.expect_ok()
    chunk = snappy_literal_chunk(b"PUB t\n")
    c.sock.sendall(SNAPPY_STREAM_ID + chunk[:-3])
    c.shutdown_write()
    c.expect_closed()
    publish(nsqd, "after_truncated", b"x")


def test_snappy_reserved_chunk_type(nsqd):
    c = nsqd.conn()
    identify_json(c, {"snappy": True})
    c.set_codec(SnappyStreamDecoder(), None)
    c.expect_ok()
    c.sock.sendall(SNAPPY_STREAM_ID + b"\x02\x01\x00\x00x")
    c.expect_closed()


def test_snappy_line_limit_applies_to_decompressed_data(nsqd):
    c = snappy_conn(nsqd)
    # 20 KiB without a newline, well compressible: small on the wire, too long decompressed
    c.send(b"A" * 20_000)
    c.expect_closed()


# -- deflate ----------------------------------------------------------------------------------

@pytest.mark.parametrize("level", [1, 6])
def test_deflate_big_messages_both_ways(nsqd, level):
    big = bytes(range(256)) * 4000
    c = deflate_conn(nsqd, level)
    c.pub("dbig", big)
    c.expect_ok()
    c.mpub("dbig", [big[:300_000], big[300_000:]])
    c.expect_ok()
    c.cmd("SUB dbig ch")
    c.expect_ok()
    c.cmd("RDY 3")
    got = sorted(c.read_message().body for _ in range(3))
    assert got == sorted([big, big[:300_000], big[300_000:]])


def test_deflate_byte_at_a_time(nsqd):
    c = nsqd.conn()
    identify_json(c, {"deflate": True})
    c.set_codec(DeflateStreamDecoder(), None)
    c.expect_ok()
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = comp.compress(b"PUB dt\n" + struct.pack(">i", 4) + b"abcd") + comp.flush(zlib.Z_SYNC_FLUSH)
    for b in data:
        c.sock.sendall(bytes([b]))
    c.expect_ok()


def test_deflate_garbage_closes_only_that_client(nsqd):
    bystander = deflate_conn(nsqd)
    c = nsqd.conn()
    identify_json(c, {"deflate": True})
    c.set_codec(DeflateStreamDecoder(), None)
    c.expect_ok()
    c.sock.sendall(b"\xff" * 64)
    c.expect_closed()
    bystander.pub("ok", b"x")
    bystander.expect_ok()


def test_deflate_truncated_then_eof(nsqd):
    c = nsqd.conn()
    identify_json(c, {"deflate": True})
    c.set_codec(DeflateStreamDecoder(), None)
    c.expect_ok()
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = comp.compress(b"PUB t\n" + struct.pack(">i", 100)) + comp.flush(zlib.Z_SYNC_FLUSH)
    c.sock.sendall(data[:-2])
    c.shutdown_write()
    # the header made it; the body cannot: the error frame goes out deflated
    c.expect_fatal("E_BAD_MESSAGE PUB failed to read message body")
    publish(nsqd, "after_truncated", b"x")


def test_deflate_final_block_is_eof(nsqd):
    c = nsqd.conn()
    identify_json(c, {"deflate": True})
    c.set_codec(DeflateStreamDecoder(), None)
    c.expect_ok()
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    c.sock.sendall(comp.compress(b"PUB fin\n" + struct.pack(">i", 1) + b"x") + comp.flush())
    c.expect_ok()
    c.expect_closed()


def test_deflate_line_limit_applies_to_decompressed_data(nsqd):
    c = deflate_conn(nsqd)
    c.send(b"A" * 20_000)
    c.expect_closed()


def test_deflate_server_output_is_raw_deflate_with_sync_flush(nsqd):
    c = nsqd.conn()
    identify_json(c, {"deflate": True})
    raw, c.buf = c.buf, b""
    while not raw.endswith(b"\x00\x00\xff\xff"):
        raw += c.sock.recv(4096)
    # no zlib header: a raw inflater decodes exactly the OK frame
    assert zlib.decompressobj(-15).decompress(raw) == b"\x00\x00\x00\x06\x00\x00\x00\x00OK"


def test_snappy_server_output_starts_with_stream_identifier(nsqd):
    c = nsqd.conn()
    identify_json(c, {"snappy": True})
    raw, c.buf = c.buf, b""
    while len(raw) < 10 + 4 + 4 + 10:
        raw += c.sock.recv(4096)
    assert raw.startswith(SNAPPY_STREAM_ID)
    assert SnappyStreamDecoder()(raw) == b"\x00\x00\x00\x06\x00\x00\x00\x00OK"


def test_heartbeats_are_compressed(nsqd):
    c = snappy_conn(nsqd, heartbeat_interval=1000)
    ftype, data = c.read_frame(timeout=3)
    assert data == b"_heartbeat_"
    c.cmd("NOP")
    d = deflate_conn(nsqd, heartbeat_interval=1000)
    ftype, data = d.read_frame(timeout=3)
    assert data == b"_heartbeat_"


@pytest.mark.nsqd_args("--max-deflate-level=9")
def test_deflate_level_9(nsqd):
    c = deflate_conn(nsqd, 9)
    c.pub("l9", b"z" * 10_000)
    c.expect_ok()


def test_second_identify_after_upgrade(nsqd):
    # A repeated IDENTIFY without upgrades is fine on a compressed stream
    c = snappy_conn(nsqd)
    c.identify({"client_id": "again"})
    c.expect_ok()
    c.assert_alive_init()
