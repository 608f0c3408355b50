"""The coshop HTTP API, as the browser tests use it (rooms, tokens)."""

from __future__ import annotations

from typing import Any

import aiohttp


async def call(base_url: str, method: str, path: str, body: Any = None) -> Any:
    async with aiohttp.ClientSession() as session, session.request(
        method, base_url + path, json=body
    ) as response:
        data = await response.json()
        assert response.status < 300, (method, path, response.status, data)
        return data


async def mint_token(base_url: str, room: str, name: str, role: str = "guest") -> str:
    """A join token for ``name`` in ``room`` (demo mode: the API is open)."""
    data = await call(base_url, "POST", f"/api/rooms/{room}/tokens", {"name": name, "role": role})
    token: str = data["token"]
    return token


async def create_room(base_url: str, room: str, **fields: Any) -> dict[str, Any]:
    """Create ``room`` (the page only joins rooms that exist; "New room" creates its own)."""
    data: dict[str, Any] = await call(base_url, "POST", "/api/rooms", {"id": room, **fields})
    return data
