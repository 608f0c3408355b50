"""Store fixtures for the rooms tests: every contract test runs on MemoryStore and RedisStore."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from rooms import MemoryStore, RedisStore, RoomStore

SMALL_BUFFER = 8
"""Subscription buffer of the stores under test, small so overflow is cheap to provoke."""

DEFAULT_CAPACITY = 3


class Clock:
    """Wall-clock time that a test can move forward (vote round deadlines)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_redis_store(redis_url: str, namespace: str, clock: Clock | None = None) -> RedisStore:
    """A RedisStore configured like the MemoryStore of the contract suite."""
    return RedisStore(
        redis_url,
        namespace=namespace,
        default_capacity=DEFAULT_CAPACITY,
        subscription_buffer=SMALL_BUFFER,
        clock=clock or time.time,
    )


@pytest.fixture
async def redis_store(redis_url: str, redis_namespace: str) -> AsyncIterator[RedisStore]:
    store = make_redis_store(redis_url, redis_namespace)
    yield store
    await store.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[RoomStore]:
    made: RoomStore
    if request.param == "memory":
        made = MemoryStore(
            default_capacity=DEFAULT_CAPACITY, subscription_buffer=SMALL_BUFFER, clock=clock
        )
    else:
        # Looked up only here, so memory-only runs need no redis-server.
        made = make_redis_store(
            request.getfixturevalue("redis_url"),
            request.getfixturevalue("redis_namespace"),
            clock,
        )
    yield made
    await made.close()
