"""A cancellation a library swallowed is raised again (signaling.cancelling)."""

from __future__ import annotations

import asyncio

import pytest

from signaling.cancelling import raise_if_cancelling


async def test_a_swallowed_cancel_is_raised_again_so_the_loop_stops() -> None:
    started = asyncio.Event()
    turns = 0

    async def heartbeat() -> None:
        nonlocal turns
        while True:
            turns += 1
            try:
                started.set()
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                pass  # what a library that turns it into a connection error amounts to
            raise_if_cancelling()
            await asyncio.sleep(0)

    task = asyncio.create_task(heartbeat())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert turns == 1


async def test_nothing_happens_without_a_cancel_request() -> None:
    raise_if_cancelling()
