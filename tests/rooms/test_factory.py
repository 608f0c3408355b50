"""open_store: the one place the store kind is chosen."""

from __future__ import annotations

import pytest

from rooms import MemoryStore, Participant, RedisStore, open_store


async def test_no_url_gives_a_memory_store() -> None:
    store = open_store(None, default_capacity=4)
    try:
        assert isinstance(store, MemoryStore)
        snapshot, _ = await store.join("r", Participant(id="a", name="a"))
        assert snapshot.room.capacity == 4
    finally:
        await store.close()


@pytest.mark.redis
async def test_a_url_gives_a_redis_store(redis_url: str) -> None:
    store = open_store(redis_url, default_capacity=4)
    try:
        assert isinstance(store, RedisStore)
        assert store.default_capacity == 4
        assert store.namespace == "coshop"
    finally:
        await store.close()
