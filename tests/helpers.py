"""Test helpers shared by every test package: poll for a condition instead of sleeping."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def wait_for(
    predicate: Callable[[], Awaitable[T]],
    timeout: float = ...,  # noqa: ASYNC109
    *,
    interval: float = ...,
    message: str = ...,
) -> T: ...


@overload
async def wait_for(
    predicate: Callable[[], T],
    timeout: float = ...,  # noqa: ASYNC109
    *,
    interval: float = ...,
    message: str = ...,
) -> T: ...


async def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 5.0,  # noqa: ASYNC109  # a poller's deadline, not a cancellation scope
    *,
    interval: float = 0.01,
    message: str = "",
) -> Any:
    """Poll ``predicate`` (sync or async) until it returns a truthy value, and return that value.

    Raises AssertionError after ``timeout`` seconds, naming ``message`` and the last value seen.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {message or predicate!r}; last: {value!r}"
            )
        await asyncio.sleep(interval)


async def take(
    source: AsyncIterable[T],
    count: int,
    timeout: float = 5.0,  # noqa: ASYNC109  # turned into an AssertionError, unlike asyncio.timeout
) -> list[T]:
    """The next ``count`` items of ``source``; AssertionError if they do not all come in time."""
    items: list[T] = []
    iterator = aiter(source)
    try:
        async with asyncio.timeout(timeout):
            while len(items) < count:
                items.append(await anext(iterator))
    except TimeoutError:
        got = f"got {len(items)} of {count} items in {timeout}s: {items!r}"
        raise AssertionError(got) from None
    return items
