"""Hostile HTTP input: every refusal is the JSON error body with a stable code, never a 500."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from signaling import Settings
from signaling.protocol import ErrorCode
from signaling.untrusted_json import MAX_JSON_DEPTH

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[Settings], Awaitable[Client]]

#: Every route that reads a request body.
BODY_ROUTES = [
    ("POST", "/api/rooms"),
    ("POST", "/api/rooms/shop1/tokens"),
    ("PUT", "/api/rooms/shop1/catalog"),
    ("POST", "/api/rooms/shop1/carousel"),
    ("POST", "/api/rooms/shop1/vote-round"),
]
JSON = {"Content-Type": "application/json"}


async def _error(response: Any, status: int) -> str:
    """The code of a JSON error body (and the body must be exactly that shape)."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/json", text
    body = await response.json()
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str), body
    code: str = body["error"]["code"]
    assert code in {c.value for c in ErrorCode} and code != "internal", body
    return code


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\xff\xfe"}',  # not UTF-8
        b"\xef\xbb\xbf{}\xc3",  # BOM, then a broken sequence
        b'{"name": "\\ud800"}',  # a lone surrogate: JSON, but not Unicode text
        b"[" * 5_000 + b"]" * 5_000,  # nested past the recursion limit
        b'{"name": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}",
        b"NaN",
        b'{"duration": 1e999}',
    ],
)
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_undecodable_body_is_bad_message(
    client: Client, method: str, path: str, body: bytes
) -> None:
    response = await client.request(method, path, data=body, headers=JSON)
    assert await _error(response, 400) == "bad_message"


@pytest.mark.parametrize(
    "path",
    [
        "/static/" + "a" * 300,
        "/static/" + "a" * 300 + ".js",
        "/catalog/sample/images/" + "b" * 300 + ".svg",
        "/catalog/sample/images/" + "x/" * 200 + "y",
        "/static/%00",
        "/nope",
        "/api/nope",
        "/api/rooms/bad%20id",
        "/api/rooms/" + "r" * 65,
        "/api/rooms/bad%20id/catalog",
        "/api/rooms/%FF/tallies",
        "/rooms/bad%20id/ws",
        "/rooms/" + "r" * 300 + "/ws",
    ],
)
async def test_not_found_is_a_json_error(client: Client, path: str) -> None:
    assert await _error(await client.get(path), 404) == "not_found"


async def test_other_http_refusals_are_json_errors(client: Client) -> None:
    assert await _error(await client.patch("/api/rooms"), 405) == "bad_message"
    too_big = io.BytesIO(b"{" + b" " * (1024**2 + 1) + b"}")
    assert await _error(await client.post("/api/rooms", data=too_big, headers=JSON), 413) == (
        "bad_message"
    )
    # A plain GET of the WebSocket endpoint (no upgrade).
    assert await _error(await client.get("/ws"), 400) == "bad_message"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
async def test_bearer_scheme_is_case_insensitive(make_client: MakeClient, scheme: str) -> None:
    # RFC 9110 §11.1: the auth-scheme is a case-insensitive token.
    client = await make_client(Settings(port=0, node_id="prod", secret="s3cret"))
    response = await client.get("/api/rooms", headers={"Authorization": f"{scheme} s3cret"})
    assert response.status == 200, await response.text()


@pytest.mark.parametrize(
    "header",
    ["s3cret", "Basic s3cret", "Bearer", "Bearer ", "Bearer s3cre", "Bearer s3cret2",
     "Bearer \u00e9", "Bearers3cret"],
)
async def test_wrong_authorization_is_unauthorized(make_client: MakeClient, header: str) -> None:
    client = await make_client(Settings(port=0, node_id="prod", secret="s3cret"))
    response = await client.get("/api/rooms", headers={"Authorization": header})
    assert await _error(response, 401) == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
