"""POST /topic/* and /channel/* (spec §4.2, §3.12, §3.13; §9.2 TestHTTPV1TopicChannel,
TestDeleteTopic, TestEmptyTopic, TestEmptyChannel): per-route argument checks and their
different error codes, effects visible in /stats and on consumers, metadata persistence."""

from __future__ import annotations

import json

import pytest

from httplib import assert_v1_error, assert_v1_ok_empty, get, post, stats_json
from nsqlib import subscribe, wait_for


def topics(nsqd) -> dict:
    return {t["topic_name"]: t for t in stats_json(nsqd)["topics"]}


def channel(nsqd, topic: str, name: str) -> dict | None:
    t = topics(nsqd).get(topic)
    if t is None:
        return None
    return next((c for c in t["channels"] if c["channel_name"] == name), None)


# -- topics ---------------------------------------------------------------------------------

def test_topic_create(nsqd):
    assert_v1_ok_empty(post(nsqd, "/topic/create?topic=tc"))
    assert_v1_ok_empty(post(nsqd, "/topic/create?topic=tc"))
    assert_v1_ok_empty(post(nsqd, "/topic/create?topic=tc2%23ephemeral"))
    assert set(topics(nsqd)) == {"tc", "tc2#ephemeral"}
    assert topics(nsqd)["tc"]["channels"] == []
    assert_v1_error(post(nsqd, "/topic/create"), 400, "MISSING_ARG_TOPIC")
    assert_v1_error(post(nsqd, "/topic/create?topic=a:b"), 400, "INVALID_TOPIC")
    assert_v1_error(post(nsqd, "/topic/create?topic="), 400, "INVALID_TOPIC")


def test_topic_delete(nsqd):
    assert_v1_error(post(nsqd, "/topic/delete"), 400, "MISSING_ARG_TOPIC")
    assert_v1_error(post(nsqd, "/topic/delete?topic=nope"), 404, "TOPIC_NOT_FOUND")
    # Not validated: an invalid name is simply not found.
    assert_v1_error(post(nsqd, "/topic/delete?topic=bad$"), 404, "TOPIC_NOT_FOUND")
    assert post(nsqd, "/pub?topic=td", b"m").status == 200
    assert post(nsqd, "/channel/create?topic=td&channel=c").status == 200
    c = subscribe(nsqd, "td", "c2")
    assert_v1_ok_empty(post(nsqd, "/topic/delete?topic=td"))
    assert "td" not in topics(nsqd)
    c.expect_closed()
    assert_v1_error(post(nsqd, "/topic/delete?topic=td"), 404, "TOPIC_NOT_FOUND")


def test_topic_empty(nsqd):
    assert_v1_error(post(nsqd, "/topic/empty"), 400, "MISSING_ARG_TOPIC")
    assert_v1_error(post(nsqd, "/topic/empty?topic=name$"), 400, "INVALID_TOPIC")
    assert_v1_error(post(nsqd, "/topic/empty?topic=nope"), 404, "TOPIC_NOT_FOUND")
    assert post(nsqd, "/mpub?topic=te", b"a\nb\nc").status == 200
    assert topics(nsqd)["te"]["depth"] == 3
    assert_v1_ok_empty(post(nsqd, "/topic/empty?topic=te"))
    t = topics(nsqd)["te"]
    assert t["depth"] == 0 and t["message_count"] == 3


def test_topic_pause_unpause(nsqd):
    for route in ("pause", "unpause"):
        assert_v1_error(post(nsqd, f"/topic/{route}"), 400, "MISSING_ARG_TOPIC")
        assert_v1_error(post(nsqd, f"/topic/{route}?topic=nope"), 404, "TOPIC_NOT_FOUND")
        assert_v1_error(post(nsqd, f"/topic/{route}?topic=bad$"), 404, "TOPIC_NOT_FOUND")
    assert post(nsqd, "/topic/create?topic=tp").status == 200
    assert post(nsqd, "/channel/create?topic=tp&channel=ch").status == 200
    assert_v1_ok_empty(post(nsqd, "/topic/pause?topic=tp", b"ignored body"))
    assert_v1_ok_empty(post(nsqd, "/topic/pause?topic=tp"))
    assert topics(nsqd)["tp"]["paused"] is True
    assert post(nsqd, "/pub?topic=tp", b"m").status == 200
    t = topics(nsqd)["tp"]
    assert (t["depth"], t["channels"][0]["depth"]) == (1, 0)
    assert_v1_ok_empty(post(nsqd, "/topic/unpause?topic=tp"))
    wait_for(lambda: channel(nsqd, "tp", "ch")["depth"] == 1, what="backlog moved")
    t = topics(nsqd)["tp"]
    assert (t["paused"], t["depth"]) == (False, 0)


def _metadata(nsqd) -> dict:
    return json.loads((nsqd.data_path / "nsqd.dat").read_text())


def test_pause_is_persisted_at_once(nsqd):
    assert post(nsqd, "/topic/create?topic=pm").status == 200
    assert post(nsqd, "/channel/create?topic=pm&channel=ch").status == 200
    assert post(nsqd, "/topic/pause?topic=pm").status == 200
    assert post(nsqd, "/channel/pause?topic=pm&channel=ch").status == 200
    meta = _metadata(nsqd)
    t = next(t for t in meta["topics"] if t["name"] == "pm")
    assert t["paused"] is True
    assert t["channels"] == [{"name": "ch", "paused": True}]
    assert post(nsqd, "/channel/unpause?topic=pm&channel=ch").status == 200
    t = next(t for t in _metadata(nsqd)["topics"] if t["name"] == "pm")
    assert t["channels"] == [{"name": "ch", "paused": False}]


# -- channels -------------------------------------------------------------------------------

ROUTES = ["create", "delete", "empty", "pause", "unpause"]


@pytest.mark.parametrize("route", ROUTES)
def test_channel_argument_errors(nsqd, route):
    p = f"/channel/{route}"
    assert_v1_error(post(nsqd, p), 400, "MISSING_ARG_TOPIC")
    assert_v1_error(post(nsqd, p + "?channel=c"), 400, "MISSING_ARG_TOPIC")
    assert_v1_error(post(nsqd, p + "?topic=a$&channel=c"), 400, "INVALID_ARG_TOPIC")
    assert_v1_error(post(nsqd, p + "?topic=t"), 400, "MISSING_ARG_CHANNEL")
    assert_v1_error(post(nsqd, p + "?topic=t&channel=a$"), 400, "INVALID_ARG_CHANNEL")
    assert_v1_error(post(nsqd, p + "?topic=nope&channel=c"), 404, "TOPIC_NOT_FOUND")
    # channel routes never create the topic
    assert stats_json(nsqd)["topics"] == []
    if route != "create":
        assert post(nsqd, "/topic/create?topic=exists").status == 200
        assert_v1_error(post(nsqd, p + "?topic=exists&channel=c"), 404, "CHANNEL_NOT_FOUND")


def test_channel_create(nsqd):
    assert post(nsqd, "/topic/create?topic=cc").status == 200
    assert_v1_ok_empty(post(nsqd, "/channel/create?topic=cc&channel=ch"))
    assert_v1_ok_empty(post(nsqd, "/channel/create?topic=cc&channel=ch"))
    assert_v1_ok_empty(post(nsqd, "/channel/create?topic=cc&channel=e%23ephemeral"))
    assert [c["channel_name"] for c in topics(nsqd)["cc"]["channels"]] == ["ch", "e#ephemeral"]
    # The new channel receives what is published afterwards.
    assert post(nsqd, "/pub?topic=cc", b"m").status == 200
    wait_for(lambda: channel(nsqd, "cc", "ch")["depth"] == 1, what="message in channel")


def test_channel_delete_disconnects_consumers(nsqd):
    c = subscribe(nsqd, "cd", "ch")
    assert_v1_ok_empty(post(nsqd, "/channel/delete?topic=cd&channel=ch"))
    c.expect_closed()
    assert topics(nsqd)["cd"]["channels"] == []
    assert_v1_error(post(nsqd, "/channel/delete?topic=cd&channel=ch"), 404, "CHANNEL_NOT_FOUND")


def test_channel_empty(nsqd):
    c = subscribe(nsqd, "ce", "ch", rdy=1)
    assert post(nsqd, "/mpub?topic=ce", b"a\nb\nc").status == 200
    m = c.read_message()
    assert post(nsqd, "/pub?topic=ce&defer=60000", b"d").status == 200
    wait_for(lambda: channel(nsqd, "ce", "ch")["deferred_count"] == 1, what="deferred")
    ch = channel(nsqd, "ce", "ch")
    assert (ch["depth"], ch["in_flight_count"]) == (2, 1)
    assert_v1_ok_empty(post(nsqd, "/channel/empty?topic=ce&channel=ch"))
    ch = channel(nsqd, "ce", "ch")
    assert (ch["depth"], ch["in_flight_count"], ch["deferred_count"]) == (0, 0, 0)
    assert ch["clients"][0]["in_flight_count"] == 0
    c.cmd(b"FIN " + m.id)
    c.expect_error(b"E_FIN_FAILED FIN " + m.id + b" failed ID not in flight")
    c.close()


def test_channel_pause_unpause(nsqd):
    c = subscribe(nsqd, "cpu", "ch", rdy=10)
    assert_v1_ok_empty(post(nsqd, "/channel/pause?topic=cpu&channel=ch"))
    assert channel(nsqd, "cpu", "ch")["paused"] is True
    assert post(nsqd, "/pub?topic=cpu", b"held").status == 200
    c.expect_nothing(0.3)
    assert channel(nsqd, "cpu", "ch")["depth"] == 1
    assert_v1_ok_empty(post(nsqd, "/channel/unpause?topic=cpu&channel=ch"))
    assert c.read_message().body == b"held"
    assert channel(nsqd, "cpu", "ch")["paused"] is False
    c.close()


def test_admin_routes_are_post_only(nsqd):
    for path in ["/topic/create", "/topic/delete", "/channel/pause", "/channel/empty"]:
        r = get(nsqd, path + "?topic=t")
        assert_v1_error(r, 405, "METHOD_NOT_ALLOWED")
        assert r.header("Allow") == "OPTIONS, POST"
