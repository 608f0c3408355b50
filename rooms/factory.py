"""Choosing the RoomStore once at start-up."""

from __future__ import annotations

from rooms.memory_store import MemoryStore
from rooms.models import DEFAULT_AUDIENCE_CAPACITY, DEFAULT_CAPACITY
from rooms.redis_store import RedisStore
from rooms.store import RoomStore


def open_store(
    redis_url: str | None,
    *,
    default_capacity: int = DEFAULT_CAPACITY,
    audience_capacity: int = DEFAULT_AUDIENCE_CAPACITY,
    node_id: str = "node",
    presence_lease: float = 8.0,
    retry_after: float = 1.0,
) -> RoomStore:
    """A RedisStore for ``redis_url`` (connecting lazily; its participants under ``node_id``'s
    presence lease of ``presence_lease`` seconds;
    live rooms' audiences of ``audience_capacity``; ``retry_after`` the hint of StoreUnavailable),
    or a MemoryStore when it is None."""
    if redis_url is None:
        return MemoryStore(default_capacity=default_capacity, audience_capacity=audience_capacity)
    return RedisStore(
        redis_url,
        default_capacity=default_capacity,
        audience_capacity=audience_capacity,
        node_id=node_id,
        presence_lease=presence_lease,
        retry_after=retry_after,
    )
