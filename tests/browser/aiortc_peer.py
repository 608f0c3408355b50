"""An aiortc participant in the browser tests: tests.media.ClientPeer over a real WebSocket.

It speaks the protocol at the JSON level (no pydantic models), so shopping or other messages the
test does not care about are simply recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

from tests.helpers import wait_for
from tests.media import ClientPeer


class ProtocolPeer:
    """Joins a room, answers every offer, publishes synthetic audio/video, decodes what it gets."""

    def __init__(self, base_url: str, name: str, *, index: int, decode: bool = True) -> None:
        self.ws_url = base_url.replace("http://", "ws://") + "/ws"
        self.peer = ClientPeer(name, index=index, decode=decode)
        self.name = name
        self.id: str | None = None
        self.messages: list[dict[str, Any]] = []
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None

    async def join(self, room: str, **fields: Any) -> None:
        """Join ``room``; ``fields`` go into the join message too (a ``token``, a ``role``)."""
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self.ws_url)
        await self._ws.send_json({"type": "join", "room": room, "name": self.name, **fields})
        self._task = asyncio.create_task(self._run())
        joined = await wait_for(lambda: self.first("joined"), timeout=10, message="joined")
        self.id = joined["you"]["id"]

    async def send(self, message: dict[str, Any]) -> None:
        """Send one protocol message (a vote, a chat line...) as this participant."""
        assert self._ws is not None, "not joined"
        await self._ws.send_json(message)

    def first(self, type_: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["type"] == type_), None)

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == type_]

    async def _run(self) -> None:
        assert self._ws is not None
        async for frame in self._ws:
            if frame.type is not aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            self.messages.append(message)
            if message["type"] == "offer":
                sdp = await self.peer.answer(message["sdp"], message["slots"])
                await self._ws.send_json({"type": "answer", "sdp": sdp})
            elif message["type"] == "slots":
                self.peer.apply_slots(message["slots"])

    def frames_from(self, participant_id: str) -> int:
        return self.peer.video_from(participant_id).frames

    def audio_frames_from(self, participant_id: str) -> int:
        return self.peer.audio_from(participant_id).frames

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        await self.peer.close()
