"""nsqd's command line and config file, driven through the real binary: Go flag forms,
list flags, integer base prefixes, Go durations, TOML config with go-options coercion
(integer durations are milliseconds), precedence flag > config > default, --version, bad
flags, and startup validation messages (spec §5)."""

import json
import subprocess

from nsqlib import IS_REFERENCE, NSQD_BIN, Nsqd


def identify_response(d: Nsqd) -> dict:
    with d.conn() as c:
        c.identify({"feature_negotiation": True})
        _ftype, data = c.read_frame()
    return json.loads(data)


def config_value(d: Nsqd, opt: str):
    status, body = d.http("GET", f"/config/{opt}")
    assert status == 200, (opt, status, body)
    return json.loads(body)


def run_nsqd(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    return subprocess.run([NSQD_BIN, *args], capture_output=True, text=True, timeout=timeout)


def test_go_flag_forms(tmp_path):
    d = Nsqd(tmp_path / "data", [
        "-max-rdy-count", "010",            # single dash, space, octal like Go's ParseInt(s, 0)
        "--mem-queue-size=0x10",             # double dash, '=', hex
        "--msg-timeout", "1m30s",            # Go duration
        "-max-msg-timeout=20m",
        "--e2e-processing-latency-percentile=0.5",
        "--e2e-processing-latency-percentile", "0.99,0.9",  # repeatable and comma-split
        "--lookupd-tcp-address=127.0.0.1:1", "-lookupd-tcp-address", "127.0.0.1:2",
        "--snappy=false",                    # bare booleans only take '='
    ]).start()
    try:
        r = identify_response(d)
        assert r["max_rdy_count"] == 8
        assert r["msg_timeout"] == 90_000
        assert r["max_msg_timeout"] == 1_200_000
        assert r["snappy"] is False
        assert config_value(d, "mem_queue_size") == 16
        assert config_value(d, "e2e_processing_latency_percentiles") == [0.99, 0.9, 0.5]
        assert config_value(d, "nsqlookupd_tcp_addresses") == ["127.0.0.1:1", "127.0.0.1:2"]
    finally:
        d.stop()


def test_config_file_and_precedence(tmp_path):
    cfg = tmp_path / "nsqd.cfg"
    cfg.write_text(
        "max_rdy_count = 77\n"
        "max_req_timeout = 5000\n"          # integer durations are milliseconds
        "msg_timeout = \"2m\"\n"
        "mem_queue_size = \"20\"\n"         # numeric strings coerce to ints
        "nsqlookupd_tcp_addresses = [\"127.0.0.1:3\"]\n"
        "id = 5\n"                          # node-id's config key is `id`
        "unknown_key_is_ignored = true\n"
    )
    d = Nsqd(tmp_path / "data", [f"--config={cfg}", "--msg-timeout=45s"]).start()
    try:
        r = identify_response(d)
        assert r["max_rdy_count"] == 77, "config value applies"
        assert r["msg_timeout"] == 45_000, "an explicit flag beats the config file"
        assert config_value(d, "max_req_timeout") == 5_000_000_000
        assert config_value(d, "mem_queue_size") == 20
        assert config_value(d, "nsqlookupd_tcp_addresses") == ["127.0.0.1:3"]
        assert config_value(d, "id") == 5
    finally:
        d.stop()


def test_version():
    p = run_nsqd("--version")
    assert p.returncode == 0
    assert p.stdout.startswith("nsqd v1.3.0 (built w/"), p.stdout


def test_unknown_flag_exits_2():
    p = run_nsqd("--bogus")
    assert p.returncode == 2
    assert "flag provided but not defined: -bogus" in p.stderr


def test_help_exits_0():
    p = run_nsqd("-h")
    assert p.returncode == 0
    assert "Usage of" in p.stderr and "-tcp-address" in p.stderr


def test_startup_validation_is_fatal(tmp_path):
    p = run_nsqd("--node-id=1024", f"--data-path={tmp_path}", "--tcp-address=127.0.0.1:0",
                 "--http-address=127.0.0.1:0")
    assert p.returncode == 1
    assert "FATAL: failed to instantiate nsqd - --node-id must be [0,1024)" in p.stderr, p.stderr


def test_bad_config_file_is_fatal(tmp_path):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("max_rdy_count = = 1\n")
    p = run_nsqd(f"--config={cfg}")
    assert p.returncode == 1
    assert f"failed to load config file {cfg}" in p.stderr, p.stderr
    if not IS_REFERENCE:
        assert "FATAL:" in p.stderr
