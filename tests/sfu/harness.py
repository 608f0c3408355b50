"""Drive the SFU directly (no signaling): each ClientPeer answers through a queue."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import asdict

from sfu import SFU, MediaRoom, Offer, Peer, SFUConfig, Slot
from tests.helpers import wait_for
from tests.media import ClientPeer


class DirectParticipant:
    """Connects one ClientPeer to one SFU Peer the way signaling would."""

    def __init__(self, client: ClientPeer) -> None:
        self.client = client
        self.peer: Peer | None = None
        self.published: list[str] = []
        self.closed_reason: str | None = None
        self._offers: asyncio.Queue[Offer] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def on_offer(self, offer: Offer) -> None:
        await self._offers.put(offer)

    async def on_slots(self, slots: list[Slot]) -> None:
        self.client.apply_slots([asdict(s) for s in slots])

    async def on_track_published(self, peer_id: str, kind: str) -> None:
        self.published.append(kind)

    async def on_closed(self, peer_id: str, reason: str) -> None:
        self.closed_reason = reason

    async def join(
        self, room: MediaRoom, *, publish: bool = True, max_bundle: bool = False
    ) -> None:
        self.peer = await room.add_peer(
            self.client.name, publish=publish, listener=self, max_bundle=max_bundle
        )
        self._task = asyncio.ensure_future(self._answer_loop())

    async def _answer_loop(self) -> None:
        while True:
            offer = await self._offers.get()
            sdp = await self.client.answer(offer.sdp, [asdict(s) for s in offer.slots])
            assert self.peer is not None
            await self.peer.set_answer(sdp)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        await self.client.close()


@contextlib.asynccontextmanager
async def sfu_room(
    room_id: str = "r1", config: SFUConfig | None = None
) -> AsyncIterator[tuple[SFU, MediaRoom]]:
    sfu = SFU(config)
    try:
        yield sfu, sfu.room(room_id)
    finally:
        await sfu.close()


@contextlib.asynccontextmanager
async def publisher_and_viewer(
    room: MediaRoom, *, frames: int = 10
) -> AsyncIterator[tuple[DirectParticipant, DirectParticipant]]:
    """Publisher "a" and receive-only viewer "b" in ``room``, once b has decoded ``frames``
    of a's video; both are closed on the way out."""
    a = DirectParticipant(ClientPeer("a", index=0))
    b = DirectParticipant(ClientPeer("b", index=1, publish=False))
    try:
        await a.join(room)
        await b.join(room, publish=False)
        await wait_for(lambda: b.client.video_from("a").frames >= frames, timeout=15)
        yield a, b
    finally:
        await a.close()
        await b.close()
