"""The JSON HTTP API under ``/api``: rooms and join tokens (documented in signaling/openapi.py)."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rooms.errors import NotInRoom, RoomClosed
from rooms.models import Role, RoomInfo
from signaling.auth import Grant
from signaling.errors import error_code, error_message, http_status
from signaling.keys import NODE
from signaling.openapi import OPENAPI
from signaling.protocol import ROOM_ID_PATTERN, ErrorCode, describe, is_room_id

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

PUBLIC_PATHS = frozenset({"/api/openapi.json"})
MAX_TOKEN_TTL = 7 * 24 * 3600.0


class CreateRoom(BaseModel):
    """Body of ``POST /api/rooms``."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, pattern=ROOM_ID_PATTERN)
    capacity: int | None = Field(None, ge=1, le=100)


class TokenRequest(BaseModel):
    """Body of ``POST /api/rooms/{id}/tokens``."""

    model_config = ConfigDict(extra="forbid")
    identity: str | None = Field(None, pattern=ROOM_ID_PATTERN)
    name: str = Field(min_length=1, max_length=64)
    role: Role = Role.GUEST
    ttl: float | None = Field(None, gt=0, le=MAX_TOKEN_TTL)


def api_error(code: ErrorCode, message: str) -> web.Response:
    """The JSON error body every API failure uses."""
    response = web.json_response(
        {"error": {"code": str(code), "message": message}}, status=http_status(code)
    )
    if code is ErrorCode.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = 'Bearer realm="coshop"'  # RFC 6750 §3
    return response


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """For ``/api/*``: check the bearer key (production mode) and turn errors into JSON."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    secret = request.app[NODE].settings.secret
    if secret is not None and request.path not in PUBLIC_PATHS:
        presented = request.headers.get("Authorization", "")
        if not hmac.compare_digest(presented.encode(), f"Bearer {secret}".encode()):
            return api_error(ErrorCode.UNAUTHORIZED, "Authorization: Bearer <secret> required")
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except ValidationError as exc:
        return api_error(ErrorCode.BAD_MESSAGE, describe(exc))
    except json.JSONDecodeError as exc:
        return api_error(ErrorCode.BAD_MESSAGE, f"body is not JSON: {exc}")
    except Exception as exc:
        code = error_code(exc)
        if code is None:
            log.exception("%s %s failed", request.method, request.path)
            return api_error(ErrorCode.INTERNAL, "internal error")
        return api_error(code, error_message(exc))


def room_json(info: RoomInfo) -> dict[str, Any]:
    """A RoomInfo as the API shows it."""
    return {
        "id": info.id,
        "capacity": info.capacity,
        "closed": info.closed,
        "created_at": info.created_at,
        "participant_count": info.participant_count,
    }


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    return await request.json(loads=json.loads)


def _room_id(request: web.Request) -> str:
    room_id = request.match_info["room_id"]
    if not is_room_id(room_id):
        raise NotInRoom(f"no room {room_id!r}")
    return room_id


@routes.post("/api/rooms")
async def create_room(request: web.Request) -> web.Response:
    """Create a room (idempotent for an existing id)."""
    body = CreateRoom.model_validate(await _body(request))
    room_id = body.id or secrets.token_urlsafe(8).replace("-", "_")
    info = await request.app[NODE].store.create_room(room_id, capacity=body.capacity)
    return web.json_response(room_json(info), status=201)


@routes.get("/api/rooms")
async def list_rooms(request: web.Request) -> web.Response:
    """Every room the store knows."""
    rooms = await request.app[NODE].store.list_rooms()
    return web.json_response({"rooms": [room_json(r) for r in rooms]})


@routes.get("/api/rooms/{room_id}")
async def get_room(request: web.Request) -> web.Response:
    """One room with its participants."""
    store = request.app[NODE].store
    room_id = _room_id(request)
    info = await store.get_room(room_id)
    if info is None:
        raise NotInRoom(f"no room {room_id}")
    if info.closed:
        return web.json_response(dict(room_json(info), seq=None, participants=[]))
    snap = await store.snapshot(room_id)
    return web.json_response(
        dict(
            room_json(snap.room),
            seq=snap.seq,
            participants=[p.to_dict() for p in snap.participants],
        )
    )


@routes.delete("/api/rooms/{room_id}")
async def close_room(request: web.Request) -> web.Response:
    """Close a room: everyone in it gets ``room_closed`` and leaves; it cannot be rejoined."""
    event = await request.app[NODE].store.close_room(_room_id(request))
    return web.json_response({"id": event.room_id, "closed": True, "seq": event.seq})


@routes.post("/api/rooms/{room_id}/tokens")
async def mint_token(request: web.Request) -> web.Response:
    """Mint a join token for the room (which need not exist yet)."""
    node = request.app[NODE]
    room_id = _room_id(request)
    body = TokenRequest.model_validate(await _body(request))
    info = await node.store.get_room(room_id)
    if info is not None and info.closed:
        raise RoomClosed(f"room {room_id} is closed")
    grant = Grant(
        room=room_id,
        identity=body.identity or secrets.token_hex(6),
        name=body.name,
        role=body.role,
        exp=time.time() + (body.ttl or node.settings.token_ttl),
    )
    base = node.settings.base_url
    ws_base = "ws" + base.removeprefix("http") if base.startswith("http") else base
    return web.json_response(
        {
            "token": node.auth.mint(grant),
            "room": grant.room,
            "identity": grant.identity,
            "name": grant.name,
            "role": str(grant.role),
            "expires_at": grant.exp,
            "ws_url": f"{ws_base}/rooms/{room_id}/ws",
        },
        status=201,
    )


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of this API."""
    return web.json_response(OPENAPI)
