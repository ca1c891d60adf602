"""nsqlookupd HTTP API: every route's status, headers and exact body, argument handling,
and the httprouter behaviours (404/405/OPTIONS/redirects) shared by all NSQ daemons.
"""

from __future__ import annotations

import pytest

from lookupd_fixtures import (  # noqa: F401
    compact,
    lookupd,
    lookupd_factory,
    raw_http,
    split_raw_response,
    v1_error_body,
)

JSON_CT = "application/json; charset=utf-8"
V1_MARK = "nsq; version=1.0"


def assert_v1_json(resp, status: int, body: bytes):
    st, headers, data = resp
    assert (st, data) == (status, body)
    assert headers["Content-Type"] == JSON_CT
    assert headers["X-NSQ-Content-Type"] == V1_MARK


def assert_v1_empty(resp):
    st, headers, data = resp
    assert (st, data) == (200, b"")
    assert headers["Content-Length"] == "0"
    assert headers["Content-Type"] is None
    assert headers["X-NSQ-Content-Type"] == V1_MARK


def assert_error(resp, status: int, code: str):
    assert_v1_json(resp, status, v1_error_body(code))


# --- simple routes ----------------------------------------------------------------------


def test_ping(lookupd):
    st, headers, body = lookupd.get("/ping")
    assert (st, body) == (200, b"OK")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["X-NSQ-Content-Type"] is None


def test_info(lookupd):
    assert_v1_json(lookupd.get("/info"), 200, b'{"version":"1.3.0"}')


def test_empty_listings(lookupd):
    assert_v1_json(lookupd.get("/topics"), 200, b'{"topics":[]}')
    assert_v1_json(lookupd.get("/nodes"), 200, b'{"producers":[]}')
    assert_v1_json(lookupd.get("/debug"), 200, b"{}")
    assert_v1_json(lookupd.get("/channels?topic=nope"), 200, b'{"channels":[]}')
    assert_v1_json(lookupd.get("/channels?topic="), 200, b'{"channels":[]}')


def test_wire_header_spelling(lookupd):
    raw = raw_http(lookupd.http_port,
                   b"GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = split_raw_response(raw)
    assert status == "HTTP/1.1 200 OK"
    names = [h[0] for h in headers]
    assert ("X-Nsq-Content-Type", V1_MARK) in headers
    assert ("Content-Type", JSON_CT) in headers
    assert ("Content-Length", "19") in headers
    assert "Date" in names
    assert body == b'{"version":"1.3.0"}'


# --- /lookup and /channels --------------------------------------------------------------


def test_lookup_errors(lookupd):
    assert_error(lookupd.get("/lookup"), 400, "MISSING_ARG_TOPIC")
    assert_error(lookupd.get("/lookup?topic=%zz"), 400, "INVALID_REQUEST")
    assert_error(lookupd.get("/lookup?topic=a;b"), 400, "INVALID_REQUEST")
    assert_error(lookupd.get("/lookup?x=%&topic=a"), 400, "INVALID_REQUEST")
    assert_error(lookupd.get("/lookup?topic=nope"), 404, "TOPIC_NOT_FOUND")
    assert_error(lookupd.get("/lookup?topic="), 404, "TOPIC_NOT_FOUND")
    assert_error(lookupd.get("/lookup?Topic=nope"), 400, "MISSING_ARG_TOPIC")


def test_channels_errors(lookupd):
    assert_error(lookupd.get("/channels"), 400, "MISSING_ARG_TOPIC")
    assert_error(lookupd.get("/channels?topic=%g0"), 400, "INVALID_REQUEST")


def test_lookup_created_topic_without_producers(lookupd):
    assert_v1_empty(lookupd.post("/topic/create?topic=t1"))
    assert_v1_json(lookupd.get("/lookup?topic=t1"), 200, b'{"channels":[],"producers":[]}')


def test_accept_header_is_ignored(lookupd):
    lookupd.post("/topic/create?topic=t1")
    st, headers, body = lookupd.get("/lookup?topic=t1",
                                    headers={"Accept": "application/vnd.nsq; version=1.0"})
    assert (st, body) == (200, b'{"channels":[],"producers":[]}')
    assert headers["X-NSQ-Content-Type"] == V1_MARK


def test_query_first_value_wins_and_decoding(lookupd):
    lookupd.post("/topic/create?topic=a&topic=b")
    lookupd.post("/topic/create?topic=x%2Ey")
    assert sorted(lookupd.get_json("/topics")["topics"]) == ["a", "x.y"]
    # '+' is a space, so this name is invalid
    assert_error(lookupd.post("/topic/create?topic=a+b"), 400, "INVALID_ARG_TOPIC")
    # a key without '=' is present with an empty value
    assert_error(lookupd.post("/topic/create?topic"), 400, "INVALID_ARG_TOPIC")


def test_request_body_is_ignored(lookupd):
    resp = lookupd.post("/topic/create", body=b"topic=fromform",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(resp, 400, "MISSING_ARG_TOPIC")


def test_routes_without_arguments_ignore_bad_queries(lookupd):
    assert_v1_json(lookupd.get("/topics?%zz"), 200, b'{"topics":[]}')
    assert_v1_json(lookupd.get("/info?a;b"), 200, b'{"version":"1.3.0"}')


# --- administration ---------------------------------------------------------------------


def test_create_topic(lookupd):
    assert_error(lookupd.post("/topic/create"), 400, "MISSING_ARG_TOPIC")
    assert_error(lookupd.post("/topic/create?topic=%zz"), 400, "INVALID_REQUEST")
    assert_error(lookupd.post("/topic/create?topic="), 400, "INVALID_ARG_TOPIC")
    assert_error(lookupd.post("/topic/create?topic=a$"), 400, "INVALID_ARG_TOPIC")
    assert_error(lookupd.post("/topic/create?topic=" + "a" * 65), 400, "INVALID_ARG_TOPIC")
    assert_v1_empty(lookupd.post("/topic/create?topic=" + "a" * 64))
    assert_v1_empty(lookupd.post("/topic/create?topic=e%23ephemeral"))
    assert_v1_empty(lookupd.post("/topic/create?topic=e%23ephemeral"))
    assert sorted(lookupd.get_json("/topics")["topics"]) == ["a" * 64, "e#ephemeral"]
    lookupd.wait_log(r"INFO: DB: adding topic\(e#ephemeral\)")


def test_delete_topic(lookupd):
    assert_error(lookupd.post("/topic/delete"), 400, "MISSING_ARG_TOPIC")
    assert_v1_empty(lookupd.post("/topic/delete?topic=never-existed"))
    assert_v1_empty(lookupd.post("/topic/delete?topic=bad$name"))
    lookupd.post("/channel/create?topic=t&channel=c1")
    lookupd.post("/channel/create?topic=t&channel=c2")
    lookupd.post("/topic/create?topic=other")
    assert_v1_empty(lookupd.post("/topic/delete?topic=t"))
    assert lookupd.get_json("/topics") == {"topics": ["other"]}
    assert lookupd.get_json("/channels?topic=t") == {"channels": []}
    assert_error(lookupd.get("/lookup?topic=t"), 404, "TOPIC_NOT_FOUND")
    lookupd.wait_log(r"INFO: DB: removing channel\(c[12]\) from topic\(t\)")
    lookupd.wait_log(r"INFO: DB: removing topic\(t\)")


def test_delete_topic_wildcard_deletes_everything(lookupd):
    # The name is not validated and '*' is a wildcard in the registration DB.
    lookupd.post("/channel/create?topic=t&channel=c")
    lookupd.post("/topic/create?topic=u")
    assert_v1_empty(lookupd.post("/topic/delete?topic=*"))
    assert lookupd.get_json("/topics") == {"topics": []}
    assert lookupd.get_json("/channels?topic=t") == {"channels": []}


def test_channels_wildcard_topic(lookupd):
    lookupd.post("/channel/create?topic=t&channel=c1")
    lookupd.post("/channel/create?topic=u&channel=c2")
    assert sorted(lookupd.get_json("/channels?topic=*")["channels"]) == ["c1", "c2"]
    st, _, body = lookupd.get("/lookup?topic=*")
    assert st == 200
    assert sorted(__import__("json").loads(body)["channels"]) == ["c1", "c2"]


@pytest.mark.parametrize("route", ["/channel/create", "/channel/delete"])
def test_channel_argument_validation_order(lookupd, route):
    assert_error(lookupd.post(route), 400, "MISSING_ARG_TOPIC")
    assert_error(lookupd.post(route + "?channel=c"), 400, "MISSING_ARG_TOPIC")
    assert_error(lookupd.post(route + "?topic=a$&channel=c$"), 400, "INVALID_ARG_TOPIC")
    assert_error(lookupd.post(route + "?topic=t"), 400, "MISSING_ARG_CHANNEL")
    assert_error(lookupd.post(route + "?topic=t&channel="), 400, "INVALID_ARG_CHANNEL")
    assert_error(lookupd.post(route + "?topic=t&channel=c$"), 400, "INVALID_ARG_CHANNEL")
    assert_error(lookupd.post(route + "?topic=t&channel=c;"), 400, "INVALID_REQUEST")


def test_create_and_delete_channel(lookupd):
    assert_v1_empty(lookupd.post("/channel/create?topic=t&channel=c"))
    assert_v1_empty(lookupd.post("/channel/create?topic=t&channel=c"))
    assert lookupd.get_json("/topics") == {"topics": ["t"]}
    assert_v1_json(lookupd.get("/channels?topic=t"), 200, b'{"channels":["c"]}')
    assert_v1_json(lookupd.get("/lookup?topic=t"), 200, b'{"channels":["c"],"producers":[]}')
    lookupd.wait_log(r"INFO: DB: adding channel\(c\) in topic\(t\)")

    assert_error(lookupd.post("/channel/delete?topic=t&channel=nope"), 404, "CHANNEL_NOT_FOUND")
    assert_error(lookupd.post("/channel/delete?topic=x&channel=c"), 404, "CHANNEL_NOT_FOUND")
    assert_v1_empty(lookupd.post("/channel/delete?topic=t&channel=c"))
    assert_error(lookupd.post("/channel/delete?topic=t&channel=c"), 404, "CHANNEL_NOT_FOUND")
    assert_v1_json(lookupd.get("/channels?topic=t"), 200, b'{"channels":[]}')
    assert lookupd.get_json("/topics") == {"topics": ["t"]}
    lookupd.wait_log(r"INFO: DB: removing channel\(c\) from topic\(t\)")


def test_tombstone_arguments(lookupd):
    assert_error(lookupd.post("/topic/tombstone"), 400, "MISSING_ARG_TOPIC")
    assert_error(lookupd.post("/topic/tombstone?node=n:1"), 400, "MISSING_ARG_TOPIC")
    assert_error(lookupd.post("/topic/tombstone?topic=t"), 400, "MISSING_ARG_NODE")
    assert_error(lookupd.post("/topic/tombstone?topic=t&node=%"), 400, "INVALID_REQUEST")
    assert_v1_empty(lookupd.post("/topic/tombstone?topic=t&node=nobody:1"))
    assert_v1_empty(lookupd.post("/topic/tombstone?topic=&node="))
    lookupd.wait_log(r"INFO: DB: setting tombstone for producer@nobody:1 of topic\(t\)")


@pytest.mark.parametrize("path", ["/create_topic", "/delete_topic", "/create_channel",
                                  "/delete_channel", "/tombstone_topic_producer"])
def test_removed_pre_1_0_endpoints(lookupd, path):
    assert_error(lookupd.get(path + "?topic=t&channel=c"), 404, "NOT_FOUND")
    assert_error(lookupd.post(path + "?topic=t&channel=c"), 404, "NOT_FOUND")


# --- router behaviour -------------------------------------------------------------------


def test_not_found(lookupd):
    assert_error(lookupd.get("/nope"), 404, "NOT_FOUND")
    assert_error(lookupd.get("/"), 404, "NOT_FOUND")
    assert_error(lookupd.post("/nope"), 404, "NOT_FOUND")
    assert_error(http_method(lookupd, "DELETE", "/Ping"), 404, "NOT_FOUND")
    assert_error(http_method(lookupd, "PUT", "/topics/"), 404, "NOT_FOUND")
    assert_error(lookupd.post("/ping/"), 404, "NOT_FOUND")


def http_method(d, method, path, **kw):
    from lookupd_fixtures import http_request
    return http_request(d.http_port, method, path, **kw)


@pytest.mark.parametrize("method,path,allow", [
    ("POST", "/info", "GET, OPTIONS"),
    ("POST", "/ping", "GET, OPTIONS"),
    ("PUT", "/topics", "GET, OPTIONS"),
    ("DELETE", "/lookup", "GET, OPTIONS"),
    ("GET", "/topic/create", "OPTIONS, POST"),
    ("GET", "/topic/tombstone", "OPTIONS, POST"),
    ("PUT", "/channel/delete", "OPTIONS, POST"),
])
def test_method_not_allowed(lookupd, method, path, allow):
    st, headers, body = http_method(lookupd, method, path)
    assert (st, body) == (405, b'{"message":"METHOD_NOT_ALLOWED"}')
    assert headers["Allow"] == allow
    assert headers["X-NSQ-Content-Type"] == V1_MARK
    assert headers["Content-Type"] == JSON_CT


def test_head_is_not_special(lookupd):
    st, headers, body = http_method(lookupd, "HEAD", "/ping")
    assert (st, body) == (405, b"")
    assert headers["Allow"] == "GET, OPTIONS"
    assert headers["Content-Length"] == "32"
    st, _, _ = http_method(lookupd, "HEAD", "/ping/")
    assert st == 404


@pytest.mark.parametrize("path,allow", [("/ping", "GET, OPTIONS"),
                                        ("/topic/create", "OPTIONS, POST")])
def test_options(lookupd, path, allow):
    st, headers, body = http_method(lookupd, "OPTIONS", path)
    assert (st, body) == (200, b"")
    assert headers["Allow"] == allow
    assert headers["Content-Length"] == "0"
    assert headers["X-NSQ-Content-Type"] is None
    assert headers["Content-Type"] is None


def test_options_unknown_path_and_star(lookupd):
    assert_error(http_method(lookupd, "OPTIONS", "/nope"), 404, "NOT_FOUND")
    raw = raw_http(lookupd.http_port,
                   b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = split_raw_response(raw)
    assert status == "HTTP/1.1 200 OK"
    assert ("Content-Length", "0") in headers
    assert "Allow" not in [h[0] for h in headers]
    assert body == b""


@pytest.mark.parametrize("path,location", [
    ("/ping/", "/ping"),
    ("/PING", "/ping"),
    ("/Topics/", "/topics"),
    ("//ping", "/ping"),
    ("/./ping", "/ping"),
    ("/x/../ping", "/ping"),
    ("/debug/", "/debug"),
    ("/LOOKUP/?topic=a", "/lookup?topic=a"),
    ("/topics/?a=b&c=%3C", "/topics?a=b&c=%3C"),
])
def test_get_redirects_301(lookupd, path, location):
    raw = raw_http(lookupd.http_port,
                   f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    status, headers, body = split_raw_response(raw)
    assert status == "HTTP/1.1 301 Moved Permanently"
    hd = dict(headers)
    assert hd["Location"] == location
    assert hd["Content-Type"] == "text/html; charset=utf-8"
    href = location.replace("&", "&amp;")
    assert body == f'<a href="{href}">Moved Permanently</a>.\n\n'.encode()
    assert "X-Nsq-Content-Type" not in hd


@pytest.mark.parametrize("path,location", [
    ("/topic/create/", "/topic/create"),
    ("/Topic/Create?topic=a", "/topic/create?topic=a"),
    ("/channel//delete", "/channel/delete"),
])
def test_post_redirects_307(lookupd, path, location):
    st, headers, body = lookupd.post(path)
    assert (st, body) == (307, b"")
    assert headers["Location"] == location
    assert headers["Content-Type"] is None


def test_escaped_path_is_routed_decoded(lookupd):
    st, _, body = lookupd.get("/pi%6Eg")
    assert (st, body) == (200, b"OK")
    assert_v1_empty(lookupd.post("/topic%2Fcreate?topic=t"))


def test_malformed_path_escape(lookupd):
    raw = raw_http(lookupd.http_port,
                   b"GET /pi%zzg HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = split_raw_response(raw)
    assert status == "HTTP/1.1 400 Bad Request"
    assert body == b"400 Bad Request"


def test_keep_alive_across_requests(lookupd):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", lookupd.http_port, timeout=5)
    try:
        for path in ["/ping", "/info", "/nope", "/topics"]:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status in (200, 404)
    finally:
        conn.close()


def test_access_log(lookupd):
    lookupd.get("/lookup?topic=foo")
    lookupd.get("/nope")
    lookupd.post("/info")
    elapsed = r"[0-9.]+(ns|µs|ms|s)$"
    lookupd.wait_log(r"INFO: 404 GET /lookup\?topic=foo \(127\.0\.0\.1:\d+\) " + elapsed)
    lookupd.wait_log(r"INFO: 404 GET /nope \(127\.0\.0\.1:\d+\) " + elapsed)
    lookupd.wait_log(r"INFO: 405 POST /info \(127\.0\.0\.1:\d+\) " + elapsed)
