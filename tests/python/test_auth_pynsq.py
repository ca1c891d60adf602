"""pynsq (auth_secret) against the daemon under test with an auth server."""

import asyncio

from pynsq_helpers import run_scenario, wait_until
from secure_helpers import (auth_server_factory, certs, grant, pynsq_round_trip,  # noqa: F401
                            pynsq_tls_options, tls_args)


def test_pynsq_auth_secret(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"py": grant("^py_auth$", identity="py")})
    nsqd = nsqd_factory(f"--auth-http-address={s.address}")
    pynsq_round_trip(nsqd, "py_auth", auth_secret="py")
    assert {r.query["secret"][0] for r in s.requests} == {"py"}


def test_pynsq_auth_over_tls_with_client_cert(nsqd_factory, auth_server_factory, certs):
    s = auth_server_factory(by_secret={"py": grant("py_auth_tls")})
    nsqd = nsqd_factory(*tls_args(certs, "--tls-client-auth-policy=require"),
                        f"--auth-http-address={s.address}")
    pynsq_round_trip(nsqd, "py_auth_tls", auth_secret="py", tls_v1=True,
                     tls_options=pynsq_tls_options(certs, cert="client"))
    assert {(r.query["tls"][0], r.query["common_name"][0]) for r in s.requests} == {
        ("true", "test.local")}


def test_pynsq_refused_topic(nsqd_factory, auth_server_factory):
    s = auth_server_factory(by_secret={"py": grant("^allowed$")})
    nsqd = nsqd_factory(f"--auth-http-address={s.address}")
    result = {}

    async def scenario(sc):
        w = await sc.writer(nsqd, auth_secret="py")
        fut = asyncio.get_running_loop().create_future()
        w.pub("denied", b"x", callback=lambda conn, data: fut.done() or fut.set_result(data))
        result["data"] = await asyncio.wait_for(fut, 10)
        await wait_until(lambda: True, 1)

    run_scenario(scenario, timeout=30)
    assert 'E_UNAUTHORIZED AUTH failed for PUB on "denied" ""' in str(result["data"])
