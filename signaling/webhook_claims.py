"""Which node delivers a webhook event: the first to claim its id.

Every node with a participant in a room reads the room's events, so several may see one
event; each asks ``claim(event_id)`` and only the one that gets True delivers it (to every
endpoint). On Redis the claim is ``SET <CLAIM_KEY> <node> NX EX <ttl>``; in memory (one node)
a bounded set of recent ids. When Redis cannot answer the node delivers anyway: a duplicate
(same ``Coshop-Event-Id``) is what at-least-once allows, a lost event is not.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CLAIM_KEY = "{ns}:webhook:claim:{event_id}"
"""STRING: the node id that delivers the webhook event ``event_id``; expires after the claim
TTL (longer than any room lives, so a late duplicate is still refused)."""

DEFAULT_TTL = 7 * 86400
MEMORY_CLAIMS = 100_000
"""Event ids a memory claim set remembers (the oldest are forgotten first)."""


class EventClaims(Protocol):
    """First-come claims on webhook event ids."""

    async def claim(self, event_id: str) -> bool:
        """True once per id: the caller delivers the event."""
        ...

    async def close(self) -> None: ...


class MemoryClaims:
    """Claims of a single node (the memory store)."""

    def __init__(self, size: int = MEMORY_CLAIMS) -> None:
        self._size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def claim(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True

    async def close(self) -> None:
        self._seen.clear()


class RedisClaims:
    """Claims shared by every node on one Redis."""

    def __init__(self, url: str, *, namespace: str, node_id: str, ttl: int = DEFAULT_TTL) -> None:
        self._redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._namespace = namespace
        self._node_id = node_id
        self._ttl = ttl

    async def claim(self, event_id: str) -> bool:
        key = CLAIM_KEY.format(ns=self._namespace, event_id=event_id)
        try:
            return bool(await self._redis.set(key, self._node_id, nx=True, ex=self._ttl))
        except RedisError as exc:
            log.warning("webhook claim of %s failed (%s): delivering anyway", event_id, exc)
            return True

    async def close(self) -> None:
        await self._redis.aclose()
