"""End-to-end fixtures: a real node (signaling + SFU + in-memory store) and participants
that join through its WebSocket with real aiortc peers over loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

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
MakeParticipant = Callable[..., Awaitable[Participant]]


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[Client]]) -> Client:
    return await aiohttp_client(
        create_app(Settings(port=0, node_id="e2e", ws_heartbeat=30.0, ws_timeout=60.0))
    )


@pytest.fixture
def node(client: Client) -> Node:
    return client.app[NODE]


@pytest.fixture
async def participants(client: Client) -> AsyncIterator[MakeParticipant]:
    made: list[Participant] = []

    async def make(
        name: str, index: int, *, publish: bool = True, decode: bool = True
    ) -> Participant:
        ws = WsClient(await client.ws_connect("/ws"))
        p = Participant(ws, ClientPeer(name, index=index, publish=publish, decode=decode))
        made.append(p)
        return p

    yield make
    for p in made:
        with contextlib.suppress(ConnectionError):
            await p.close()
