"""Session internals that sockets cannot easily provoke: a client that stops reading."""

from __future__ import annotations

import asyncio

import pytest

from rooms.events import ParticipantLeft
from rooms.models import RoomEvent
from signaling import Settings
from signaling.node import Node
from signaling.session import Session, SessionState
from tests.helpers import wait_for


class StuckTransport:
    """A socket whose peer stopped reading: sends block until the connection is aborted."""

    def __init__(self) -> None:
        self.aborted = asyncio.Event()
        self.sent: list[str] = []
        self.closed_with: tuple[int, bytes] | None = None

    async def send_str(self, data: str, compress: int | None = None) -> None:
        await self.aborted.wait()
        raise ConnectionResetError("connection aborted")

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed_with = (code, message)
        return True

    def abort(self) -> None:
        self.aborted.set()


@pytest.fixture
def settings() -> Settings:
    return Settings(port=0, node_id="test-node", max_pending=10)


async def test_slow_consumer_is_dropped(node: Node) -> None:
    transport = StuckTransport()
    session = Session(node, transport, abort=transport.abort, remote="test")
    session.start()
    session.receive('{"type": "ping"}')  # The pong send blocks forever.
    await wait_for(lambda: session._inbox.empty())
    for seq in range(1, 12):
        left = ParticipantLeft(participant_id=f"p{seq}", reason="left")
        session.deliver(RoomEvent("r", seq, left))
    await wait_for(lambda: session.state is SessionState.CLOSED)
    assert transport.aborted.is_set()
    assert transport.closed_with == (1013, b"slow consumer")
    assert session not in node.sessions
    await session.close("again")  # idempotent
