"""Hostile WebSocket input: every frame gets a documented ``error`` or close code, never a crash.

Each test covers a class of input (any depth, any string field, any token payload, any SDP), not
one sample, so a new message type or field is covered without a new test.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import jwt
import pytest

from rooms.models import Role
from signaling import protocol as wire
from signaling.auth import DEMO_SECRET, Grant, TokenAuthority
from signaling.node import Node
from signaling.untrusted_json import MAX_JSON_DEPTH
from tests.signaling.wsclient import WsClient

Connect = Callable[..., Awaitable[WsClient]]

LONE_SURROGATES = ("\ud800", "\udfff", "a\udc80b")


def _nested(depth: int, leaf: Any = 1) -> str:
    return "[" * depth + json.dumps(leaf) + "]" * depth


def _frames_nested_everywhere(depth: int) -> list[str]:
    """A too-deep value as the whole frame and as each field of each client message type."""
    deep = _nested(depth)
    frames = [deep, '{"type": "ping", "nonce": ' + deep + "}"]
    for kind in sorted(wire.CLIENT_TYPES):
        frames.append('{"type": "' + kind + '", "x": ' + deep + "}")
    return frames


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 1_000, 1_100, 50_000])
async def test_json_nested_too_deep_is_bad_message(connect: Connect, depth: int) -> None:
    a = await connect()
    for frame in _frames_nested_everywhere(depth):
        await a.send(frame)
        await a.expect_error("bad_message")
    await a.ping()


async def test_json_within_the_depth_limit_is_parsed() -> None:
    # MAX_JSON_DEPTH counts containers: the frame object is level 1.
    value = {"type": "ping", "nonce": json.loads(_nested(MAX_JSON_DEPTH - 2))}
    with pytest.raises(wire.ProtocolError, match="nonce"):  # deep enough, but not a nonce
        wire.parse_client_message(json.dumps(value))
    with pytest.raises(wire.ProtocolError, match="nested"):
        wire.parse_client_message(json.dumps({**value, "nonce": [value]}))


@pytest.mark.parametrize("bad", LONE_SURROGATES)
async def test_lone_surrogate_in_any_string_is_bad_message(connect: Connect, bad: str) -> None:
    a = await connect()
    escaped = json.dumps(bad)  # "\ud800": valid JSON text, not valid Unicode
    frames = ['{"type": ' + escaped + "}", '{"type": "ping", ' + escaped + ": 1}"]
    frames += ['{"type": "' + kind + '", "x": ' + escaped + "}" for kind in wire.CLIENT_TYPES]
    frames += [
        '{"type": "ping", "nonce": ' + escaped + "}",
        '{"type": "join", "room": "r", "name": ' + escaped + "}",
        '{"type": "join", "room": "r", "name": "n", "token": ' + escaped + "}",
    ]
    for frame in frames:
        await a.send(frame)
        await a.expect_error("bad_message")
    await a.ping()


@pytest.mark.parametrize(
    "sdp",
    [
        "m=audio 999",
        "v=0\r\nm=audio 999\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 999\r\n",
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111\r\n",
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF x\r\n",
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fmtp:111\r\na=ssrc-group:FID\r\n",
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1\r\n",
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256\r\n",
        "\x00" * 64,
    ],
)
async def test_malformed_answer_sdp_is_bad_sdp(connect: Connect, sdp: str) -> None:
    a = await connect()
    await a.join("shop1", "ann")
    await a.expect("offer")
    await a.send({"type": "answer", "sdp": sdp})
    await a.next_error("bad_sdp", "answer")
    await a.ping()


def _demo_token(payload: Any, *, raw: str | None = None) -> str:
    """A JWT signed with the (public) demo key: anyone can make one with any payload."""
    text = raw if raw is not None else json.dumps(payload)
    return jwt.api_jws.encode(
        text.encode("utf-8", "surrogatepass"), DEMO_SECRET, algorithm="HS256"
    )


_GOOD = {"sub": "u1", "name": "Ann", "room": "shop1", "role": "guest", "exp": 4e9}


@pytest.mark.parametrize(
    "token",
    [
        _demo_token(None, raw=_nested(900)),
        _demo_token(None, raw='{"room": "shop1", "x": ' + _nested(1_200) + "}"),
        _demo_token({**_GOOD, "exp": float("nan")}),
        _demo_token({**_GOOD, "exp": float("inf")}),
        _demo_token(None, raw=json.dumps(_GOOD).replace("4000000000.0", "1e999")),
        _demo_token({**_GOOD, "exp": "soon"}),
        _demo_token({**_GOOD, "exp": True}),
        _demo_token({**_GOOD, "sub": ""}),
        _demo_token({**_GOOD, "sub": "no spaces allowed"}),
        _demo_token({**_GOOD, "sub": ["u1"]}),
        _demo_token({k: v for k, v in _GOOD.items() if k != "room"}),
        _demo_token({**_GOOD, "nbf": 4e9}),
        _demo_token({**_GOOD, "canPublish": "yes"}),
        _demo_token({**_GOOD, "name": ""}),
        _demo_token({**_GOOD, "name": "x" * 65}),
        _demo_token({**_GOOD, "name": {"first": "Ann"}}),
        _demo_token({**_GOOD, "role": "root"}),
        _demo_token({**_GOOD, "surprise": 1}),
        _demo_token(None, raw=json.dumps(_GOOD).replace("Ann", "\\ud800")),
        _demo_token([_GOOD]),
        _demo_token("just a string"),
    ],
)
async def test_any_bad_demo_token_payload_is_unauthorized(connect: Connect, token: str) -> None:
    a = await connect()
    reply = await a.join("shop1", "ann", token=token)
    assert isinstance(reply, wire.Error) and reply.code == "unauthorized", reply
    await a.ping()
    # The same socket can still join.
    good = TokenAuthority(None).mint(Grant.of_role("shop1", "u1", "Ann", Role.GUEST, 4e9))
    assert isinstance(await a.join("shop1", "ann", token=good), wire.Joined)


async def test_oversize_message_is_closed_with_1009(connect: Connect, node: Node) -> None:
    a = await connect()
    await a.send({"type": "ping", "nonce": "x" * node.settings.max_message_bytes})
    frame = await a.ws.receive(timeout=5)
    assert frame.type is aiohttp.WSMsgType.CLOSE and frame.data == 1009, frame


async def test_invalid_utf8_text_frame_is_closed_with_1007(connect: Connect) -> None:
    a = await connect()
    await a.ws.send_frame(b'{"type": "ping", "nonce": "\xff"}', aiohttp.WSMsgType.TEXT)
    frame = await a.ws.receive(timeout=5)
    assert frame.type is aiohttp.WSMsgType.CLOSE and frame.data == 1007, frame
