"""Webhook event claims: once per id, in memory and on a real Redis; an unreachable Redis
lets the node deliver (a duplicate rather than a loss)."""

from __future__ import annotations

import uuid

import pytest

from signaling.webhook_claims import MemoryClaims, RedisClaims
from tests.browser.server import free_port


async def test_memory_claims_once_per_id_and_forget_the_oldest() -> None:
    claims = MemoryClaims(size=2)
    assert await claims.claim("a") and await claims.claim("b")
    assert not await claims.claim("a")
    assert await claims.claim("c")  # "a" is forgotten now
    assert await claims.claim("a")
    await claims.close()


@pytest.mark.redis
async def test_redis_claims_once_across_nodes(redis_url: str) -> None:
    namespace = f"claims-{uuid.uuid4().hex[:8]}"
    a = RedisClaims(redis_url, namespace=namespace, node_id="A", ttl=60)
    b = RedisClaims(redis_url, namespace=namespace, node_id="B", ttl=60)
    try:
        assert await a.claim("r:1")
        assert not await b.claim("r:1")
        assert not await a.claim("r:1")
        assert await b.claim("r:2")
    finally:
        await a.close()
        await b.close()


async def test_an_unreachable_redis_claims_for_us() -> None:
    claims = RedisClaims(f"redis://127.0.0.1:{free_port()}/0", namespace="x", node_id="A")
    try:
        assert await claims.claim("r:1")
        assert await claims.claim("r:1")
    finally:
        await claims.close()
