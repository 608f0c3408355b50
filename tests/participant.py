"""A participant for end-to-end tests: a protocol socket plus a real aiortc peer."""

from __future__ import annotations

import asyncio

from signaling import protocol as wire
from tests.media import ClientPeer
from tests.signaling.wsclient import WsClient


class Participant:
    """A socket plus an aiortc peer; a task answers every offer and records the rest."""

    def __init__(self, ws: WsClient, peer: ClientPeer) -> None:
        self.ws = ws
        self.peer = peer
        self.joined: wire.Joined | None = None
        self.events: list[wire.ServerMessage] = []
        self.errors: list[wire.Error] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        assert self.joined is not None
        return self.joined.you.id

    async def join(self, room: str, role: str = "guest", **fields: str) -> None:
        reply = await self.ws.join(room, self.peer.name, role=role, **fields)
        assert isinstance(reply, wire.Joined), reply
        self.joined = reply
        self._task = asyncio.create_task(self._run())
        for offer in self.ws.offers:  # arrived while join() was waiting for joined
            await self._answer(offer)

    async def _answer(self, offer: wire.Offer) -> None:
        sdp = await self.peer.answer(offer.sdp, [s.model_dump() for s in offer.slots])
        await self.ws.send({"type": "answer", "sdp": sdp})

    async def _run(self) -> None:
        while True:
            message = await self.ws.recv(seconds=60)
            if isinstance(message, wire.Offer):
                await self._answer(message)
            elif isinstance(message, wire.Slots):
                self.peer.apply_slots([s.model_dump() for s in message.slots])
            elif isinstance(message, wire.Error):
                self.errors.append(message)
            else:
                self.events.append(message)

    def published(self) -> set[tuple[str, str]]:
        return {(m.participant_id, m.kind) for m in self.events
                if isinstance(m, wire.TrackPublished)}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        await self.ws.close()
        await self.peer.close()
