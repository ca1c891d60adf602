"""pynsq (snappy, deflate, deflate_level) against the daemon under test."""

import pytest

from secure_helpers import pynsq_round_trip


@pytest.mark.not_reference("pynsq 0.9.1 on tornado 6 drops a deflate connection when a read "
                           "inflates to nothing; the reference's idle flush sends such lone "
                           "sync blocks (we never send an empty one)")
@pytest.mark.parametrize("level", [1, 6, 9])
def test_pynsq_deflate(nsqd, level):
    pynsq_round_trip(nsqd, f"py_deflate_{level}", deflate=True, deflate_level=level)


def test_pynsq_snappy(nsqd):
    pytest.importorskip("snappy", reason="pynsq's snappy support needs python-snappy")
    pynsq_round_trip(nsqd, "py_snappy", snappy=True)
