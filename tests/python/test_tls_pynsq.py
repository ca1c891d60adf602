"""pynsq (tls_v1, tls_options) against the daemon under test, alone and combined with
compression and client certificates."""

import pytest

from secure_helpers import certs, pynsq_round_trip, pynsq_tls_options, tls_args  # noqa: F401


def test_pynsq_tls(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    pynsq_round_trip(nsqd, "py_tls", tls_v1=True, tls_options=pynsq_tls_options(certs))


@pytest.mark.not_reference("pynsq 0.9.1 on tornado 6 drops a deflate connection when a read "
                           "inflates to nothing; the reference's idle flush sends such lone "
                           "sync blocks (we never send an empty one)")
def test_pynsq_tls_deflate(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs))
    pynsq_round_trip(nsqd, "py_tls_deflate", tls_v1=True, tls_options=pynsq_tls_options(certs),
                     deflate=True, deflate_level=3)


def test_pynsq_tls_snappy(nsqd_factory, certs):
    pytest.importorskip("snappy", reason="pynsq's snappy support needs python-snappy")
    nsqd = nsqd_factory(*tls_args(certs))
    pynsq_round_trip(nsqd, "py_tls_snappy", tls_v1=True, tls_options=pynsq_tls_options(certs),
                     snappy=True)


def test_pynsq_tls_client_cert_require_verify(nsqd_factory, certs):
    nsqd = nsqd_factory(*tls_args(certs, "--tls-client-auth-policy=require-verify",
                                  f"--tls-root-ca-file={certs.ca_pem}"))
    pynsq_round_trip(nsqd, "py_tls_rv", tls_v1=True,
                     tls_options=pynsq_tls_options(certs, cert="client"))
