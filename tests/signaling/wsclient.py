"""A protocol-speaking WebSocket test client for signaling tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from signaling import protocol as wire

TIMEOUT = 5.0


class WsClient:
    """One participant's socket: send dicts, receive parsed server messages."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.received: list[wire.ServerMessage] = []
        self.offers: list[wire.Offer] = []
        self.slot_maps: list[wire.Slots] = []

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, seconds: float = TIMEOUT) -> wire.ServerMessage:
        frame = await asyncio.wait_for(self.ws.receive(), seconds)
        assert frame.type is aiohttp.WSMsgType.TEXT, f"expected a text frame, got {frame!r}"
        message = wire.parse_server_message(frame.data)
        self.received.append(message)
        return message

    async def expect(self, type_: str, *, seconds: float = TIMEOUT) -> Any:
        """The next message but offers (kept in ``offers``); it must be a ``type_``."""
        while True:
            message = await self.recv(seconds)
            if isinstance(message, wire.Offer) and type_ != "offer":
                self.offers.append(message)
                continue
            if isinstance(message, wire.Slots) and type_ != "slots":
                self.slot_maps.append(message)
                continue
            assert message.type == type_, f"expected {type_}, got {message!r}"
            return message

    async def until(self, type_: str, *, seconds: float = TIMEOUT) -> Any:
        """Skip messages until one of ``type_`` arrives; an unexpected error fails."""
        while (message := await self.recv(seconds)).type != type_:
            assert not isinstance(message, wire.Error), f"waiting for {type_}: {message!r}"
        return message

    async def join(self, room: str | None, name: str = "ann", **fields: Any) -> Any:
        """Send join and return the reply (joined, error or redirect)."""
        body: dict[str, Any] = {"type": "join", "name": name, **fields}
        if room is not None:
            body["room"] = room
        await self.send(body)
        while True:
            message = await self.recv()
            if isinstance(message, wire.Offer):
                self.offers.append(message)
                continue
            assert message.type in ("joined", "error", "redirect"), message
            return message

    async def expect_error(self, code: str, ref: str | None = None) -> wire.Error:
        message: wire.Error = await self.expect("error")
        assert message.code == code, message
        if ref is not None:
            assert message.ref == ref, message
        return message

    async def next_error(self, code: str, ref: str | None = None) -> wire.Error:
        """Skip room events until an ``error`` comes; it must have ``code`` (and ``ref``)."""
        while not isinstance(message := await self.recv(), wire.Error):
            pass
        assert message.code == code, message
        if ref is not None:
            assert message.ref == ref, message
        return message

    async def ping(self, nonce: str = "n") -> None:
        """Prove the socket still works."""
        await self.send({"type": "ping", "nonce": nonce})
        pong = await self.until("pong")
        assert pong.nonce == nonce

    async def close(self) -> None:
        await self.ws.close()
