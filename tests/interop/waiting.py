"""Small waits the interop tests share: poll a condition, read a node's /healthz."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.interop.conftest import Server


async def until(
    predicate: Callable[[], object], within: float = 10, what: str = "", every: float = 0.05
) -> None:
    """Return once ``predicate()`` is true; fail naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(every)


async def health(server: Server) -> dict[str, Any]:
    """The node's /healthz body."""
    async with aiohttp.ClientSession() as http, http.get(server.url + "/healthz") as response:
        body: dict[str, Any] = await response.json()
        return body
