"""pytest fixtures: an nsqd from $NSQD_BIN per test, on free 127.0.0.1 ports and a fresh
--data-path, killed by PID on teardown.

Extra flags for the `nsqd` fixture come from the marker::

    @pytest.mark.nsqd_args("--max-msg-size=100", "--max-body-size=1000")

`nsqd_factory(*args)` starts further daemons (all stopped at teardown).

Environment:
  NSQD_BIN            daemon under test (default <repo>/target/debug/nsqd)
  NSQD_IS_REFERENCE=1 the daemon is the reference Go nsqd (tests that document a reference
                      bug we deliberately fix are skipped)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nsqlib import IS_REFERENCE, NSQD_BIN, REF_VERSION, Nsqd  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "nsqd_args(*flags): extra flags for the nsqd fixture")
    config.addinivalue_line(
        "markers", "not_reference(reason): checks our sane behaviour where the reference has "
        "a bug; skipped when NSQD_IS_REFERENCE=1")


def pytest_report_header(config):
    ref = f"yes, {REF_VERSION or 'unknown version'}" if IS_REFERENCE else "no"
    return [f"nsqd under test: {NSQD_BIN} (reference: {ref})"]


def pytest_collection_modifyitems(config, items):
    if not IS_REFERENCE:
        return
    for item in items:
        m = item.get_closest_marker("not_reference")
        if m is not None:
            reason = m.args[0] if m.args else "reference bug"
            item.add_marker(pytest.mark.skip(reason=f"reference nsqd: {reason}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _attach_logs(request, daemons):
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for d in daemons:
            sys.stderr.write(f"\n--- nsqd log ({d.log_path}) ---\n{d.log_tail()}\n")


@pytest.fixture
def nsqd_factory(tmp_path, request):
    started: list[Nsqd] = []

    def make(*args: str, data_path: Path | None = None, start: bool = True) -> Nsqd:
        dp = data_path or (tmp_path / f"data{len(started)}")
        d = Nsqd(dp, args)
        started.append(d)
        if start:
            d.start()
        return d

    yield make
    _attach_logs(request, started)
    for d in started:
        d.stop()


@pytest.fixture
def nsqd(nsqd_factory, request) -> Nsqd:
    args: list[str] = []
    for m in request.node.iter_markers("nsqd_args"):
        args.extend(m.args)
    return nsqd_factory(*args)
