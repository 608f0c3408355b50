"""Event-loop lag: how late a periodic sleep wakes up, measured by one owned task."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

#: How often the loop is probed. A probe costs one timer wake-up (a few microseconds).
LAG_INTERVAL = 0.1


class LoopLagMonitor:
    """Sleeps ``interval`` again and again; the overshoot of each wake-up is the lag.

    Everything that runs between two probes without yielding (a slow callback, a big
    JSON dump, a GC pause) delays the wake-up, and so every socket and RTP packet as well.
    """

    def __init__(self, observe: Callable[[float], None], interval: float = LAG_INTERVAL) -> None:
        self.interval = interval
        #: The latest lag in seconds (0 until the first probe).
        self.last = 0.0
        self._observe = observe
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start probing on the running loop (owned: ``close`` cancels and awaits it)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.interval)
            self.last = max(0.0, loop.time() - started - self.interval)
            self._observe(self.last)

    async def close(self) -> None:
        """Stop probing (idempotent)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
