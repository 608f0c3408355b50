"""Property-based fuzzing of a real ``coshop serve`` over real WebSocket and HTTP.

Thousands of generated and mutated messages (tests/fuzz/strategies.py). Each must get documented
replies only: an ``error`` with a documented code other than ``internal``, or a normal message;
each HTTP failure the JSON error body. The server's log must stay free of tracebacks (checked at
teardown in conftest.py) and a normal client must still join and ping afterwards. The examples
are the same on every run (the "coshop" Hypothesis profile in tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling import protocol as wire
from tests.browser.server import CoshopServer
from tests.fuzz import strategies as fuzz

DOCUMENTED = {c.value for c in wire.ErrorCode} - {"internal"}
TIMEOUT = aiohttp.ClientTimeout(total=20)
_nonces = itertools.count()
FUZZ = settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])


async def _exchange(url: str, frames: list[str]) -> list[wire.ServerMessage]:
    """Send ``frames`` then a ping; every reply up to its pong, all checked."""
    sentinel = f"end-{next(_nonces)}"
    replies: list[wire.ServerMessage] = []
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.ws_connect(
        url + "/ws"
    ) as ws:
        for frame in frames:
            await ws.send_str(frame)
        await ws.send_str(json.dumps({"type": "ping", "nonce": sentinel}))
        while True:
            frame = await ws.receive(timeout=20)
            assert frame.type is aiohttp.WSMsgType.TEXT, (frame, frames)
            message = wire.parse_server_message(frame.data)
            replies.append(message)
            if isinstance(message, wire.Error):
                assert message.code in DOCUMENTED, (message, frames)
            if isinstance(message, wire.Pong) and message.nonce == sentinel:
                return replies


@FUZZ
@given(st.lists(fuzz.frames, min_size=1, max_size=12))
def test_any_frames_get_documented_replies(
    loop: asyncio.AbstractEventLoop, server: CoshopServer, frames: list[str]
) -> None:
    loop.run_until_complete(_exchange(server.url, frames))


@FUZZ
@given(st.lists(fuzz.messages().map(json.dumps), min_size=1, max_size=20))
def test_protocol_shaped_messages_get_documented_replies(
    loop: asyncio.AbstractEventLoop, server: CoshopServer, frames: list[str]
) -> None:
    loop.run_until_complete(_exchange(server.url, frames))


async def _request(url: str, method: str, path: str, segment: str, body: bytes,
                   authorization: str | None) -> None:
    target = url + path.replace("{r}", quote(segment, safe=""))
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.request(
        method, target, data=body, headers=headers
    ) as response:
        text = await response.text(errors="replace")
        assert response.status < 500, (response.status, method, target, text)
        if response.status >= 400 and method != "HEAD":
            assert response.content_type == "application/json", (method, target, text)
            error = json.loads(text)["error"]
            assert error["code"] in DOCUMENTED and isinstance(error["message"], str), text


@FUZZ
@given(fuzz.http_requests)
def test_any_http_request_gets_a_documented_answer(
    loop: asyncio.AbstractEventLoop,
    server: CoshopServer,
    request: tuple[str, str, str, bytes, str | None],
) -> None:
    loop.run_until_complete(_request(server.url, *request))


def test_a_normal_client_still_works_afterwards(
    loop: asyncio.AbstractEventLoop, server: CoshopServer
) -> None:
    async def check() -> None:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            async with session.ws_connect(server.url + "/ws") as ws:
                await ws.send_json({"type": "join", "room": "after-fuzz", "name": "ann"})
                joined = wire.parse_server_message((await ws.receive(timeout=10)).data)
                assert isinstance(joined, wire.Joined), joined
                await ws.send_json({"type": "ping", "nonce": "still-here"})
                while not isinstance(
                    message := wire.parse_server_message((await ws.receive(timeout=10)).data),
                    wire.Pong,
                ):
                    assert not isinstance(message, wire.Error), message
                assert message.nonce == "still-here"
            async with session.get(server.url + "/metrics") as response:
                metrics = await response.text()
        # No "internal" error was ever sent on a socket.
        assert not re.search(r'coshop_ws_errors_total\{[^}]*code="internal"', metrics), metrics

    loop.run_until_complete(check())


@pytest.mark.parametrize("size_over", [1, 10_000])
def test_oversize_frame_gets_close_1009(
    loop: asyncio.AbstractEventLoop, server: CoshopServer, size_over: int
) -> None:
    async def check() -> None:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.ws_connect(
            server.url + "/ws", max_msg_size=0
        ) as ws:
            await ws.send_str("x" * (256 * 1024 + size_over))
            frame = await ws.receive(timeout=10)
            assert frame.type is aiohttp.WSMsgType.CLOSE and frame.data == 1009, frame

    loop.run_until_complete(check())
