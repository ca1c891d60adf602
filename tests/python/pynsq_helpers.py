"""Running pynsq (tornado) scenarios inside pytest with hard time bounds.

Each scenario is an `async def` run by `run_scenario` on a fresh asyncio loop (tornado's
IOLoop.current() wraps it), cancelled after `timeout` seconds. Readers and Writers created
through `Scenario` are closed when the scenario ends.
"""

from __future__ import annotations

import asyncio
import logging
import time

import nsq

logging.getLogger("nsq").setLevel(logging.WARNING)


class Scenario:
    def __init__(self):
        self.readers: list[nsq.Reader] = []
        self.writers: list[nsq.Writer] = []

    def reader(self, nsqd, topic: str, channel: str, handler, **kwargs) -> nsq.Reader:
        kwargs.setdefault("max_in_flight", 1)
        r = nsq.Reader(topic=topic, channel=channel, message_handler=handler,
                       nsqd_tcp_addresses=[nsqd.tcp_address], **kwargs)
        self.readers.append(r)
        return r

    async def writer(self, nsqd, timeout: float = 10.0, **kwargs) -> nsq.Writer:
        w = nsq.Writer([nsqd.tcp_address], **kwargs)
        self.writers.append(w)
        await wait_until(lambda: any(c.connected() for c in w.conns.values()), timeout,
                         "writer connected")
        # let IDENTIFY's response come back before the first publish
        await asyncio.sleep(0.2)
        return w

    def close(self) -> None:
        for r in self.readers:
            try:
                r.close()
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        for w in self.writers:
            for c in list(w.conns.values()):
                try:
                    c.close()
                except Exception:  # noqa: BLE001
                    pass


def run_scenario(fn, timeout: float = 60.0):
    """Run `await fn(scenario)` with a hard timeout; returns its result."""

    async def main():
        sc = Scenario()
        try:
            return await asyncio.wait_for(fn(sc), timeout)
        finally:
            sc.close()
            await asyncio.sleep(0.05)

    return asyncio.run(main())


async def wait_until(pred, timeout: float, what: str = "condition", interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


def _future_callback():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def cb(conn, data):
        if not fut.done():
            fut.set_result(data)

    return fut, cb


async def pub(w: nsq.Writer, topic: str, body: bytes, timeout: float = 10.0):
    fut, cb = _future_callback()
    w.pub(topic, body, callback=cb)
    return await asyncio.wait_for(fut, timeout)


async def mpub(w: nsq.Writer, topic: str, bodies: list[bytes], timeout: float = 10.0):
    fut, cb = _future_callback()
    w.mpub(topic, bodies, callback=cb)
    return await asyncio.wait_for(fut, timeout)


async def dpub(w: nsq.Writer, topic: str, delay_ms: int, body: bytes, timeout: float = 10.0):
    fut, cb = _future_callback()
    w.dpub(topic, delay_ms, body, callback=cb)
    return await asyncio.wait_for(fut, timeout)


def assert_ok(result) -> None:
    assert result == b"OK", f"publish failed: {result!r}"


async def pub_many(w: nsq.Writer, topic: str, bodies: list[bytes], window: int = 200,
                   timeout: float = 60.0) -> None:
    """Publish with up to `window` PUBs outstanding; every response must be OK."""
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future] = []
    for b in bodies:
        fut = loop.create_future()

        def cb(conn, data, fut=fut):
            if not fut.done():
                fut.set_result(data)

        w.pub(topic, b, callback=cb)
        pending.append(fut)
        if len(pending) >= window:
            for r in await asyncio.wait_for(asyncio.gather(*pending), timeout):
                assert_ok(r)
            pending = []
    for r in await asyncio.wait_for(asyncio.gather(*pending), timeout):
        assert_ok(r)
