"""The worker's media clock: one grid of ticks on which its peers send and read media.

Each synthetic publisher produces a frame every 1/fps s and each receiver ticks its repair
model every 20 ms; each at its own instant, a worker of 20 peers woke its event loop about
3,300 times a second, and on a small virtual machine a wake-up (``epoll_pwait``, the context
switch back) cost more than the work it did. With a pacing period (scenario key
``pacing_ms``, 5 ms by default), a frame goes out at the first tick of the grid at or after
its due time, repair ticks fall on the grid, and the ICE sockets taken over by
``loadtest.batched_socket`` are read on the grid too (``SocketDrain``) instead of on each
readiness: a tick serves every peer at once. Browsers send this way too: libwebrtc's paced
sender releases packets in bursts every 5 ms. What changes for the figures:

- RTP timestamps do not move (they follow the frame count); a frame leaves up to one period
  after its due time, as from a browser's pacer, so latency figures include that wait.
- Arrival times come from the kernel (``SO_TIMESTAMPNS``, the time the datagram reached the
  socket), not from when it was read, so latency, jitter and the playout model's times are
  those of the arrival; what the receiver sends back (NACK, PLI, reports) leaves at the next
  tick after the loss is seen, up to one period later than a browser might.

``pacing_ms = 0`` sends every frame at its own time and reads the sockets on readiness.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)

DEFAULT_PACING_MS = 5.0

__all__ = ["DEFAULT_PACING_MS", "SocketDrain", "Ticker", "next_tick", "sleep_to_tick"]


def next_tick(now: float, period: float) -> float:
    """The first point of the grid of ``period`` (on the clock ``now`` is read from) at or
    after ``now``; ``now`` itself when ``period`` is 0 (no grid)."""
    if period <= 0:
        return now
    return math.ceil(now / period) * period


async def sleep_to_tick(due: float, period: float) -> None:
    """Sleep until ``due`` (``time.monotonic()`` seconds), put off to the grid's next tick."""
    wait = next_tick(due, period) - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


class Drainable(Protocol):
    """What a ``SocketDrain`` reads: ``loadtest._compiled_receive.SocketReader``."""

    def read_ready(self) -> object: ...


Ticker = Callable[[float], None]
"""Called at each tick with the tick's time (``time.monotonic()``)."""


class SocketDrain:
    """Reads every registered socket reader once per tick of ``period`` s (``run``), then
    calls every registered ticker (the publishers' send loops: ``loadtest.lean_sender``).

    A reader's or ticker's exception is logged (with its traceback) and the others still
    run, as an event loop does with a failing callback.
    """

    def __init__(self, period: float) -> None:
        if period <= 0:
            raise ValueError("a socket drain needs a period above 0")
        self.period = period
        self._readers: dict[int, Drainable] = {}  # insertion-ordered, by identity
        self._tickers: dict[int, Ticker] = {}
        self.ticks = 0

    def add(self, reader: Drainable) -> None:
        self._readers[id(reader)] = reader

    def discard(self, reader: Drainable) -> None:
        self._readers.pop(id(reader), None)

    def __len__(self) -> int:
        return len(self._readers)

    def add_ticker(self, ticker: Ticker) -> None:
        self._tickers[id(ticker)] = ticker

    def discard_ticker(self, ticker: Ticker) -> None:
        self._tickers.pop(id(ticker), None)

    @property
    def tickers(self) -> int:
        return len(self._tickers)

    def drain(self) -> None:
        """Read each registered socket now."""
        self.ticks += 1
        for reader in list(self._readers.values()):
            try:
                reader.read_ready()
            except Exception:
                logger.exception("reading a paced ICE socket failed")
        now = time.monotonic()
        for ticker in list(self._tickers.values()):
            try:
                ticker(now)
            except Exception:
                logger.exception("a ticker of the worker's clock failed")

    async def run(self) -> None:
        """Drain on every tick until cancelled."""
        while True:
            await sleep_to_tick(time.monotonic() + self.period / 2, self.period)
            self.drain()
