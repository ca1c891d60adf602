"""nsqadmin's command line and config file: --version, the startup failures with the
reference's exact messages and exit status, config keys that differ from flag names, and
flag-over-config precedence."""

from __future__ import annotations

import re
import socket

from admin_fixtures import cluster, cluster_factory, run_admin  # noqa: F401

FATAL = re.compile(r"^\[nsqadmin\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} FATAL: "
                   r"failed to instantiate nsqadmin - (.*)$", re.M)


def fatal(args: list[str]) -> str:
    p = run_admin(["--http-address=127.0.0.1:0", *args])
    assert p.returncode == 1, (p.returncode, p.stderr)
    m = FATAL.search(p.stderr.decode())
    assert m, p.stderr
    return m.group(1)


def test_version():
    p = run_admin(["--version"])
    assert p.returncode == 0
    assert re.fullmatch(r"nsqadmin v1\.3\.0 \(built w/\S+\)\n", p.stdout.decode())


def test_startup_failures_in_reference_order(tmp_path):
    lk = "--lookupd-http-address=127.0.0.1:4161"
    assert fatal([]) == "--nsqd-http-address or --lookupd-http-address required"
    assert fatal([lk, "--nsqd-http-address=127.0.0.1:4151"]) == \
        "use --nsqd-http-address or --lookupd-http-address not both"
    assert fatal([lk, "--http-client-tls-cert=c.pem"]) == \
        "--http-client-tls-key must be specified with --http-client-tls-cert"
    assert fatal([lk, "--http-client-tls-key=k.pem"]) == \
        "--http-client-tls-cert must be specified with --http-client-tls-key"
    assert fatal([lk, "--http-client-tls-cert=/nonexistent/c.pem", "--http-client-tls-key=/nonexistent/k.pem"]) == \
        "failed to LoadX509KeyPair /nonexistent/c.pem, /nonexistent/k.pem - open /nonexistent/c.pem: no such file or directory"
    assert fatal([lk, "--http-client-tls-root-ca-file=/nonexistent/ca.pem"]) == \
        "failed to read TLS root CA file /nonexistent/ca.pem - open /nonexistent/ca.pem: no such file or directory"
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate")
    assert fatal([lk, f"--http-client-tls-root-ca-file={junk}"]) == f"failed to AppendCertsFromPEM {junk}"
    assert fatal(["--lookupd-http-address=127.0.0.1"]) == \
        "failed to resolve --lookupd-http-address (127.0.0.1) - address 127.0.0.1: missing port in address"
    assert fatal(["--nsqd-http-address=localhost"]) == \
        "failed to resolve --nsqd-http-address (localhost) - address localhost: missing port in address"
    assert fatal([lk, "--allow-config-from-cidr=bogus"]) == \
        "failed to parse --allow-config-from-cidr (bogus) - invalid CIDR address: bogus"


def test_listen_failure():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        p = run_admin([f"--http-address=127.0.0.1:{port}", "--lookupd-http-address=127.0.0.1:4161"])
        assert p.returncode == 1
        m = FATAL.search(p.stderr.decode())
        assert m and m.group(1) == (f"listen (127.0.0.1:{port}) failed - "
                                    f"listen tcp 127.0.0.1:{port}: bind: address already in use")
    finally:
        s.close()


def test_bad_flags_exit_2():
    p = run_admin(["--no-such-flag"])
    assert p.returncode == 2
    assert b"flag provided but not defined: -no-such-flag" in p.stderr
    p = run_admin(["--log-level=loud"])
    assert p.returncode == 2


def test_contrib_example_sets_both_lists(tmp_path):
    cfg = tmp_path / "nsqadmin.cfg"
    cfg.write_text('nsqlookupd_http_addresses = ["127.0.0.1:4161"]\n'
                   'nsqd_http_addresses = ["127.0.0.1:4151"]\n')
    assert fatal([f"--config={cfg}"]) == "use --nsqd-http-address or --lookupd-http-address not both"


def test_config_file_keys(cluster, tmp_path):
    lk = cluster.lookupd.http_addr
    cfg = tmp_path / "nsqadmin.cfg"
    cfg.write_text(f'nsqlookupd_http_addresses = ["{lk}"]\n'
                   'admin_users = ["alice", "bob"]\n'
                   'log_level = "debug"\n'
                   'statsd_interval = 30000\n'
                   'acl_http_header = "X-User"\n'
                   'no_such_key = "ignored"\n')
    admin = cluster.admin(f"--config={cfg}", mode="none")
    assert admin.get("/config/nsqlookupd_http_addresses").body == f'["{lk}"]'.encode()
    assert admin.get("/config/admin_users").body == b'["alice","bob"]'
    assert admin.get("/config/log_level").body == b"1"
    assert admin.get("/config/statsd_interval").body == b"30000000000"
    assert admin.post("/api/topics", {"topic": "t"}, headers={"X-User": "bob"}).status == 200
    # a flag beats the config file
    admin2 = cluster.admin(f"--config={cfg}", "--log-level=error", "--admin-user=carol", mode="none")
    assert admin2.get("/config/log_level").body == b"4"
    assert admin2.get("/config/admin_users").body == b'["carol"]'


def test_shutdown_is_clean(cluster):
    admin = cluster.admin()
    assert admin.stop() == 0
    assert "HTTP: closing" in admin.log()
