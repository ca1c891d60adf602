"""nsqlookupd command line, config file, logging and process lifecycle."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time

from lookupd_fixtures import (  # noqa: F401
    HOSTNAME,
    LOOKUPD_BIN,
    free_port,
    lookupd,
    lookupd_factory,
    poll,
)

TS = r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6}"


def run(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    return subprocess.run([LOOKUPD_BIN, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, text=True)


def test_version():
    p = run("--version")
    assert p.returncode == 0
    assert re.fullmatch(r"nsqlookupd v1\.3\.0 \(built w/\S+\)\n", p.stdout)
    assert run("-version").returncode == 0


def test_bad_log_level_flag():
    p = run("--log-level=warning")
    assert p.returncode == 2
    assert p.stderr.startswith(
        "invalid value \"warning\" for flag -log-level: invalid log level 'warning' "
        "(debug, info, warn, error, fatal)\nUsage of nsqlookupd:\n")


def test_unknown_flag():
    p = run("--bogus")
    assert p.returncode == 2
    assert p.stderr.startswith("flag provided but not defined: -bogus\nUsage of nsqlookupd:\n")


def test_help_lists_flags():
    p = run("--help")
    assert p.returncode == 0
    for flag in ["-broadcast-address string", "-config string", "-http-address string",
                 "-inactive-producer-timeout duration", "-log-level value",
                 "-log-prefix string", "-tcp-address string", "-tombstone-lifetime duration",
                 "-verbose", "-version"]:
        assert f"  {flag}\n" in p.stderr
    assert '(default "0.0.0.0:4160")' in p.stderr
    assert "(default 5m0s)" in p.stderr
    assert "(default 45s)" in p.stderr
    assert "(default INFO)" in p.stderr
    assert f'(default to the OS hostname) (default "{HOSTNAME}")' in p.stderr


def test_startup_log_lines(lookupd):
    log = lookupd.log()
    assert re.search(rf"^\[nsqlookupd\] {TS} INFO: nsqlookupd v1\.3\.0 \(built w/\S+\)$", log,
                     re.M)
    assert re.search(rf"^\[nsqlookupd\] {TS} INFO: TCP: listening on 127\.0\.0\.1:"
                     rf"{lookupd.tcp_port}$", log, re.M)
    assert re.search(rf"^\[nsqlookupd\] {TS} INFO: HTTP: listening on 127\.0\.0\.1:"
                     rf"{lookupd.http_port}$", log, re.M)


def test_log_prefix_and_level(lookupd_factory):
    d = lookupd_factory("--log-prefix=[LK] ", "--log-level=warn")
    d.get("/ping")
    with d.v1() as c:
        c.call("REGISTER t c")
        c.call("UNREGISTER t")
    d.wait_log(rf"^\[LK\] {TS} WARNING: client\(127\.0\.0\.1:\d+\) unexpected UNREGISTER")
    assert "INFO:" not in d.log()


def test_listen_failure(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        p = run(f"--tcp-address=127.0.0.1:{port}", f"--http-address=127.0.0.1:{free_port()}")
    finally:
        holder.close()
    assert p.returncode == 1
    assert re.search(
        rf"^\[nsqlookupd\] {TS} FATAL: failed to instantiate nsqlookupd%!\(EXTRA "
        rf"\*errors\.errorString=listen \(127\.0\.0\.1:{port}\) failed - listen tcp "
        rf"127\.0\.0\.1:{port}: bind: address already in use\)$", p.stderr, re.M), p.stderr


def test_listen_address_without_port():
    p = run("--tcp-address=/tmp/lookupd.sock", f"--http-address=127.0.0.1:{free_port()}")
    assert p.returncode == 1
    assert ("failed - listen tcp: address /tmp/lookupd.sock: missing port in address)"
            in p.stderr), p.stderr


def test_config_file(tmp_path, lookupd_factory):
    tcp, http = free_port(), free_port()
    cfg = tmp_path / "nsqlookupd.cfg"
    cfg.write_text(
        f'tcp_address = "127.0.0.1:{tcp}"\n'
        f'http_address = "127.0.0.1:{http}"\n'
        'broadcast_address = "from-config"\n'
        'log_prefix = "[cfg] "\n'
        'tombstone_lifetime = 300\n'  # integer = milliseconds
        'inactive_producer_timeout = "300s"\n'
        'unknown_key = "ignored"\n')
    d = lookupd_factory(f"--config={cfg}", start=False, ports=False)
    d.tcp_port, d.http_port = tcp, http
    with open(d.log_path, "ab") as log:
        d.proc = subprocess.Popen(d.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    d.wait_ready()
    with d.v1(identify=False) as c:
        reply = c.identify_ok(broadcast_address="node", http_port=4242)
        assert reply["broadcast_address"] == "from-config"
        assert reply["tcp_port"] == tcp and reply["http_port"] == http
        c.call("REGISTER t")
        d.post("/topic/tombstone?topic=t&node=node:4242")
        assert d.get_json("/lookup?topic=t")["producers"] == []
        assert poll(lambda: d.get_json("/lookup?topic=t")["producers"] != [], deadline=5)
    assert re.search(rf"^\[cfg\] {TS} INFO: ", d.log(), re.M)


def test_flag_overrides_config(tmp_path, lookupd_factory):
    cfg = tmp_path / "c.cfg"
    cfg.write_text('broadcast_address = "from-config"\n')
    d = lookupd_factory(f"--config={cfg}", "--broadcast-address=from-flag")
    with d.v1(identify=False) as c:
        assert c.identify_ok()["broadcast_address"] == "from-flag"


def test_bad_config_log_level(tmp_path):
    cfg = tmp_path / "c.cfg"
    cfg.write_text('log_level = "bogus"\n')
    p = run(f"--config={cfg}")
    assert p.returncode == 1
    assert re.search(rf"^\[nsqlookupd\] {TS} FATAL: failed parsing log_level bogus$", p.stderr,
                     re.M), p.stderr


def test_missing_config_file(tmp_path):
    p = run(f"--config={tmp_path}/nope.cfg")
    assert p.returncode == 1
    assert re.search(rf"^\[nsqlookupd\] {TS} FATAL: failed to load config file "
                     rf"{re.escape(str(tmp_path))}/nope\.cfg - ", p.stderr, re.M), p.stderr


def test_config_debug_level(tmp_path, lookupd_factory):
    cfg = tmp_path / "c.cfg"
    cfg.write_text('log_level = "debug"\n')
    d = lookupd_factory(f"--config={cfg}")
    assert "INFO: nsqlookupd v1.3.0" in d.log()


def test_sigint_and_sigterm_exit_cleanly(lookupd_factory):
    for sig in (signal.SIGINT, signal.SIGTERM):
        d = lookupd_factory()
        with d.v1() as c:
            c.call("REGISTER t")
            start = time.monotonic()
            assert d.stop(sig) == 0
            assert time.monotonic() - start < 5
            assert c.read_until_close() == b""
        d.wait_log(r"INFO: TCP: closing")
