"""Mixed clusters with the reference binaries (bench/reference.sh builds them into
bench/.build/bin/): the reference nsqd registers with our nsqlookupd, our nsqd registers with
the reference nsqlookupd, channel pre-creation works across implementations, and consumers
discover nsqds of both kinds through lookupds of both kinds.

Skipped when the reference binaries are absent (run `make reference`).
"""

from __future__ import annotations

import socket

import pytest

from cluster_fixtures import (
    REF_LOOKUPD,
    REF_NSQD,
    Cluster,
    bodies,
    consume_via_lookupds,
    have_reference,
    lookup_producers,
    poll,
    ref_version,
    wait_identified,
    wait_registered,
)
from lookupd_fixtures import LOOKUPD_BIN
from nsqlib import NSQD_BIN, publish, subscribe

pytestmark = pytest.mark.skipif(
    not have_reference(),
    reason=f"reference binaries not built ({REF_NSQD}, {REF_LOOKUPD}); run `make reference`")

PAIRS = {
    "reference-nsqd+our-lookupd": (str(REF_NSQD), LOOKUPD_BIN),
    "our-nsqd+reference-lookupd": (NSQD_BIN, str(REF_LOOKUPD)),
}


@pytest.fixture
def cluster(tmp_path, request):
    c = Cluster(tmp_path)
    yield c
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(f"reference: {ref_version()}\n{c.logs()}")
    c.stop()


@pytest.mark.parametrize("pair", list(PAIRS), ids=list(PAIRS))
def test_registration_across_implementations(cluster, pair):
    nsqd_bin, lookupd_bin = PAIRS[pair]
    d = cluster.lookupd(binary=lookupd_bin)
    n = cluster.nsqd(lookupds=[d], binary=nsqd_bin)
    wait_identified([d], [n])
    (node,) = d.get_json("/nodes")["producers"]
    assert (node["broadcast_address"], node["tcp_port"], node["http_port"]) == (
        "127.0.0.1", n.tcp_port, n.http_port)
    assert (node["hostname"], node["version"]) == (socket.gethostname(), "1.3.0")

    # Registrations follow topics and channels.
    publish(n, "mx", b"x")
    subscribe(n, "mx", "c1").close()
    wait_registered([d], "mx", [n])
    assert poll(lambda: d.get_json("/lookup?topic=mx")["channels"] == ["c1"])
    eph = subscribe(n, "mx", "e#ephemeral")
    assert poll(lambda: "e#ephemeral" in d.get_json("/channels?topic=mx")["channels"])
    eph.close()
    assert poll(lambda: d.get_json("/channels?topic=mx")["channels"] == ["c1"])

    # Pre-creation: the nsqd learned the lookupd's HTTP address from its IDENTIFY answer.
    for ch in ("p1", "p2"):
        assert d.post(f"/channel/create?topic=mxpre&channel={ch}")[0] == 200
    publish(n, "mxpre", b"for both")
    for ch in ("p1", "p2"):
        with subscribe(n, "mxpre", ch, rdy=1) as s:
            assert s.read_message().body == b"for both"

    n.stop()
    assert poll(lambda: d.get_json("/nodes")["producers"] == [])
    assert lookup_producers(d, "mx") == []


def test_consumers_discover_both_kinds_through_both_kinds(cluster):
    ours_l = cluster.lookupd(binary=LOOKUPD_BIN)
    ref_l = cluster.lookupd(binary=str(REF_LOOKUPD))
    lookupds = [ours_l, ref_l]
    ours_n = cluster.nsqd(lookupds=lookupds, binary=NSQD_BIN)
    ref_n = cluster.nsqd(lookupds=lookupds, binary=str(REF_NSQD))
    expected = set(bodies("ours", 30)) | set(bodies("ref", 30))
    # One channel per lookupd, on both nsqds, before publishing: each gets every message.
    for n in (ours_n, ref_n):
        for d in lookupds:
            subscribe(n, "mixed", f"via-{d.tcp_port}").close()
    publish(ours_n, "mixed", *bodies("ours", 30))
    publish(ref_n, "mixed", *bodies("ref", 30))
    wait_registered(lookupds, "mixed", [ours_n, ref_n])
    # Each lookupd alone is enough to find both nsqds.
    for d in lookupds:
        got = consume_via_lookupds([d], "mixed", f"via-{d.tcp_port}", expected)
        assert got == expected
