"""Fixtures for signaling tests: a node (real SFU, in-memory store) and socket clients."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from signaling import Settings, create_app
from signaling.keys import NODE
from signaling.node import Node
from tests.media import ClientPeer
from tests.participant import Participant
from tests.signaling.wsclient import WsClient

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(port=0, node_id="test-node", ws_heartbeat=30.0, ws_timeout=60.0,
                    recording_dir=tmp_path / "recordings")


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> Callable[[Settings], Awaitable[Client]]:
    """Start a node with the given settings and return a client for it."""

    async def make(settings: Settings) -> Client:
        client = await aiohttp_client(create_app(settings))
        if not client.app[NODE].placement.url:
            # Port 0: bound now, so tell the node its URL as `coshop serve` does after binding
            # (until then a node stays out of the registry, and Redis placement finds no node).
            client.app[NODE].placement.set_url(str(client.make_url("")))
        return client

    return make


@pytest.fixture
async def client(
    make_client: Callable[[Settings], Awaitable[Client]], settings: Settings
) -> Client:
    return await make_client(settings)


@pytest.fixture
def node(client: Client) -> Node:
    return client.app[NODE]


@pytest.fixture
async def connect(client: Client) -> AsyncIterator[Callable[..., Awaitable[WsClient]]]:
    """Open sockets to ``/ws`` (or another path); closed after the test."""
    opened: list[WsClient] = []

    async def open_socket(path: str = "/ws", **kwargs: Any) -> WsClient:
        ws = WsClient(await client.ws_connect(path, **kwargs))
        opened.append(ws)
        return ws

    yield open_socket
    for ws in opened:
        await ws.close()


@pytest.fixture
async def participants(
    connect: Callable[..., Awaitable[WsClient]],
) -> AsyncIterator[Callable[..., Awaitable[Participant]]]:
    """Make participants (a socket plus a real aiortc peer that answers every offer)."""
    made: list[Participant] = []

    async def make(name: str, index: int, *, publish: bool = True) -> Participant:
        p = Participant(await connect(), ClientPeer(name, index=index, publish=publish))
        made.append(p)
        return p

    yield make
    for p in made:
        with contextlib.suppress(ConnectionError):
            await p.close()
