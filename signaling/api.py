"""The JSON HTTP API under ``/api``: rooms and join tokens (documented in signaling/openapi.py)."""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import time
from dataclasses import replace
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

from rooms.catalog import import_coshop_json, sample_catalog
from rooms.catalog.report import problem_lines
from rooms.errors import NotInRoom, RoomClosed
from rooms.models import Role, RoomInfo
from rooms.shopping import Move, VoteClosed
from signaling import ratings, untrusted_json
from signaling.auth import Grant, InvalidToken, Permissions
from signaling.checkout import hand_out
from signaling.errors import (
    error_code,
    error_details,
    error_message,
    http_error_code,
    http_status,
)
from signaling.http_models import (
    ApiError,
    BanRequest,
    CarouselMoved,
    CatalogLoaded,
    CatalogSummary,
    CheckoutLink,
    CheckoutRequest,
    ClosedRoom,
    CreateRoom,
    Drain,
    Moderated,
    MoveCarousel,
    MuteRequest,
    OfferRequest,
    OfferSet,
    OpenRound,
    Rated,
    RatingRequest,
    Recap,
    RoleRequest,
    Room,
    RoomDetail,
    RoomList,
    RoomStatus,
    RoundChange,
    SlowModeRequest,
    Tallies,
    Token,
    TokenRequest,
)
from signaling.keys import NODE
from signaling.node import SAMPLE_IMAGE_BASE
from signaling.openapi import OPENAPI
from signaling.protocol import (
    CatalogInfo,
    ErrorCode,
    ParticipantInfo,
    RatingInfo,
    is_room_id,
)

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

PUBLIC_PATHS = frozenset({"/api/openapi.json"})
#: Routes of one room that its host may call too, with a join token of the room that grants
#: ``canModerate`` (a host's) instead of the node's key.
HOST_PATHS = frozenset({"/api/rooms/{room_id}/recording"})

PARTICIPANT_ROUTES = frozenset({"/api/rooms/{room_id}/ratings"})
"""Routes a participant's own credential (a resume credential or join token of the room) may
use instead of the secret: the handler checks it."""


def api_error(
    code: ErrorCode, message: str, *, status: int | None = None, **details: Any
) -> web.Response:
    """The JSON error body every HTTP failure uses (``details``: e.g. a stale carousel;
    ``status``: for HTTP-level refusals such as 405, instead of the code's own)."""
    body = ApiError.model_validate({"error": {"code": code, "message": message}, **details})
    response = respond(body, status=http_status(code) if status is None else status)
    if code is ErrorCode.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = 'Bearer realm="coshop"'  # RFC 6750 §3
    if code is ErrorCode.UNAVAILABLE and "retry_after" in details:
        # Delay-seconds, a whole number (RFC 9110 §10.2.3).
        response.headers["Retry-After"] = str(math.ceil(details["retry_after"]))
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route: failures become the JSON error body. ``/api/*`` also checks the bearer key
    (production mode)."""
    secret = request.app[NODE].settings.secret
    if (
        secret is not None
        and request.path.startswith("/api/")
        and request.path not in PUBLIC_PATHS
        and not _participant_route(request)
        and not _bearer_matches(request.headers.get("Authorization", ""), secret)
        and not _host_may(request)
    ):
        return api_error(ErrorCode.UNAUTHORIZED, "Authorization: Bearer <secret> required")
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = api_error(http_error_code(exc.status), exc.reason, status=exc.status)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]  # 405: RFC 9110 §15.5.6
        return response
    except Exception as exc:
        code = error_code(exc)
        if code is None:
            log.exception("%s %s failed", request.method, request.path)
            return api_error(ErrorCode.INTERNAL, "internal error")
        return api_error(code, error_message(exc), **error_details(exc))


def _participant_route(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    return resource is not None and resource.canonical in PARTICIPANT_ROUTES


def _host_may(request: web.Request) -> bool:
    """A HOST_PATHS route called with a moderator's join token for the room in its path."""
    resource = request.match_info.route.resource
    if resource is None or resource.canonical not in HOST_PATHS:
        return False
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    room_id = request.match_info.get("room_id", "")
    if scheme.lower() != "bearer" or not token.strip() or not is_room_id(room_id):
        return False
    try:
        grant = request.app[NODE].auth.verify(token.strip(), room=room_id)
    except InvalidToken:
        return False
    return grant.permissions.can_moderate


def _bearer_matches(header: str, secret: str) -> bool:
    """``Authorization: Bearer <secret>``; the scheme is case-insensitive (RFC 9110 §11.1)."""
    scheme, _, credentials = header.strip().partition(" ")
    # aiohttp decodes header bytes with surrogateescape: encode them back the same way.
    presented = credentials.strip().encode("utf-8", "surrogateescape")
    same = hmac.compare_digest(presented, secret.encode())
    return scheme.lower() == "bearer" and same


def respond(body: BaseModel, *, status: int = 200) -> web.Response:
    """``body`` as the JSON response (unset optional fields, such as an error's retry_after,
    left out)."""
    return web.json_response(body.model_dump(mode="json", exclude_unset=True), status=status)


def room_model(info: RoomInfo) -> Room:
    """A RoomInfo as the API shows it."""
    return Room(
        id=info.id,
        capacity=info.capacity,
        closed=info.closed,
        created_at=info.created_at,
        participant_count=info.participant_count,
        kind=info.kind,
        audience_capacity=info.audience_capacity,
        audience_count=info.audience_count,
    )


async def _body(request: web.Request) -> Any:
    """The request's JSON body ({} when empty). Raises InvalidJson (bad_message)."""
    raw = await request.read()
    return untrusted_json.loads(raw) if raw else {}


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
    info = await request.app[NODE].create_room(
        room_id, capacity=body.capacity, kind=body.kind, audience_capacity=body.audience_capacity
    )
    return respond(room_model(info), status=201)


@routes.get("/api/rooms")
async def list_rooms(request: web.Request) -> web.Response:
    """Every room the store knows."""
    rooms = await request.app[NODE].store.list_rooms()
    return respond(RoomList(rooms=[room_model(r) for r in rooms]))


@routes.get("/api/rooms/{room_id}")
async def get_room(request: web.Request) -> web.Response:
    """One room with its participants."""
    store = request.app[NODE].store
    room_id = _room_id(request)
    info = await store.get_room(room_id)
    if info is None:
        raise NotInRoom(f"no room {room_id}")
    if info.closed:
        return respond(RoomDetail(**room_model(info).model_dump(), seq=None, participants=[]))
    snap = await store.snapshot(room_id)
    return respond(
        RoomDetail(
            **room_model(snap.room).model_dump(),
            seq=snap.seq,
            participants=[ParticipantInfo.model_validate(p.to_dict()) for p in snap.participants],
        )
    )


@routes.get("/api/rooms/{room_id}/status")
async def room_status(request: web.Request) -> web.Response:
    """Whether the room exists (and is closed): the web client asks before joining from a link,
    so a mistyped link opens no room."""
    room_id = _room_id(request)
    info = await request.app[NODE].store.get_room(room_id)
    closed = info is not None and info.closed
    return respond(RoomStatus(id=room_id, exists=info is not None, closed=closed))


@routes.delete("/api/rooms/{room_id}")
async def close_room(request: web.Request) -> web.Response:
    """Close a room: everyone in it gets ``room_closed`` and leaves; it cannot be rejoined."""
    event = await request.app[NODE].store.close_room(_room_id(request))
    request.app[NODE].webhooks.observe(event)  # the room may have nobody here to see it
    return respond(ClosedRoom(id=event.room_id, closed=True, seq=event.seq))


@routes.post("/api/rooms/{room_id}/tokens")
async def mint_token(request: web.Request) -> web.Response:
    """Mint a join token for the room (which need not exist yet)."""
    node = request.app[NODE]
    room_id = _room_id(request)
    body = TokenRequest.model_validate(await _body(request))
    info = await node.store.get_room(room_id)
    if info is not None and info.closed:
        raise RoomClosed(f"room {room_id} is closed")
    permissions = Permissions.of_role(body.role)
    if body.can_publish is not None:
        permissions = replace(permissions, can_publish=body.can_publish)
    grant = Grant(
        room=room_id,
        identity=body.identity or secrets.token_hex(6),
        name=body.name,
        role=body.role,
        exp=time.time() + (body.ttl or node.settings.token_ttl),
        permissions=permissions,
    )
    base = node.settings.base_url
    ws_base = "ws" + base.removeprefix("http") if base.startswith("http") else base
    token = Token(
        token=node.auth.mint(grant),
        room=grant.room,
        identity=grant.identity,
        name=grant.name,
        role=grant.role,
        expires_at=grant.exp,
        ws_url=f"{ws_base}/rooms/{room_id}/ws",
    )
    return respond(token, status=201)


@routes.put("/api/rooms/{room_id}/catalog")
async def load_catalog(request: web.Request) -> web.Response:
    """Replace the room's catalog: coshop catalog JSON, or ``?sample=1`` for the sample."""
    store = request.app[NODE].store
    room_id = _room_id(request)
    if request.query.get("sample") in ("1", "true"):
        catalog, image_base = sample_catalog(), SAMPLE_IMAGE_BASE
    else:
        raw = await request.read()
        # Checked strictly first (UTF-8, no lone surrogates, depth): the catalog parser keeps
        # prices exact with Decimal, which orjson cannot.
        untrusted_json.loads(raw)
        result = import_coshop_json(raw.decode())
        if result.problems:
            lines = "; ".join(problem_lines(result))
            return api_error(ErrorCode.BAD_MESSAGE, f"catalog has problems: {lines}")
        catalog, image_base = result.catalog, None
    if not catalog.products:
        return api_error(ErrorCode.BAD_MESSAGE, "a catalog needs at least one product")
    event = await store.load_catalog(room_id, catalog, image_base=image_base)
    summary = CatalogSummary(
        revision=event.body.revision,
        currency=catalog.currency,
        product_count=len(catalog.products),
    )
    return respond(CatalogLoaded(catalog=summary, carousel=event.body.carousel, seq=event.seq))


@routes.get("/api/rooms/{room_id}/catalog")
async def get_catalog(request: web.Request) -> web.Response:
    """The room's catalog, products in carousel order."""
    catalog = await request.app[NODE].store.room_catalog(_room_id(request))
    return respond(CatalogInfo.model_validate(catalog.to_dict()))


@routes.post("/api/rooms/{room_id}/carousel")
async def move_carousel(request: web.Request) -> web.Response:
    """Move the carousel for everyone in the room (as the HTTP API, which may always)."""
    room_id = _room_id(request)
    body = MoveCarousel.model_validate(await _body(request))
    if (body.action is Move.GOTO) != (body.product_id is not None):
        return api_error(ErrorCode.BAD_MESSAGE, "product_id goes with action goto, only")
    event = await request.app[NODE].store.move_carousel(
        room_id, body.action, by=None, product_id=body.product_id, expected_version=body.version
    )
    return respond(CarouselMoved(carousel=event.body.carousel, seq=event.seq))


@routes.post("/api/rooms/{room_id}/vote-round")
async def open_vote_round(request: web.Request) -> web.Response:
    """Open a timed vote round (replacing one still open)."""
    room_id = _room_id(request)
    body = OpenRound.model_validate(await _body(request))
    event = await request.app[NODE].store.open_vote_round(
        room_id, by=None, duration=body.duration, product_ids=body.product_ids
    )
    return respond(RoundChange(round=event.body.round, seq=event.seq), status=201)


@routes.delete("/api/rooms/{room_id}/vote-round")
async def close_vote_round(request: web.Request) -> web.Response:
    """Close the open vote round."""
    room_id = _room_id(request)
    event = await request.app[NODE].store.close_vote_round(room_id, by=None)
    if event is None:
        raise VoteClosed(f"no vote round is open in room {room_id}")
    return respond(RoundChange(round=event.body.round, seq=event.seq))


@routes.get("/api/rooms/{room_id}/tallies")
async def tallies(request: web.Request) -> web.Response:
    """Live vote results: tallies, ranked shortlist, the round, every vote."""
    snap = await request.app[NODE].store.snapshot(_room_id(request))
    shopping = snap.shopping.to_dict()
    return respond(Tallies.model_validate({
        "seq": snap.seq,
        "tallies": shopping["tallies"],
        "shortlist": shopping["shortlist"],
        "round": shopping["round"],
        "votes": shopping["votes"],
    }))


@routes.get("/api/rooms/{room_id}/recap")
async def recap(request: web.Request) -> web.Response:
    """The session recap: products shown, votes, shortlist, cart, reactions."""
    result = await request.app[NODE].store.recap(_room_id(request))
    return respond(Recap.model_validate(result.to_dict()))


@routes.post("/api/rooms/{room_id}/checkout")
async def checkout(request: web.Request) -> web.Response:
    """A checkout link for one participant's cart lines or the whole cart (signaling.checkout)."""
    room_id = _room_id(request)
    body = CheckoutRequest.model_validate(await _body(request))
    link, seq = await hand_out(
        request.app[NODE].store, room_id, by=None, participant_id=body.participant_id
    )
    return respond(CheckoutLink(**link.model_dump(exclude={"type"}), seq=seq))


@routes.put("/api/rooms/{room_id}/offer")
async def set_offer(request: web.Request) -> web.Response:
    """A brand sets the room's group offer (as the HTTP API, which may; rooms.offers)."""
    room_id = _room_id(request)
    body = OfferRequest.model_validate(await _body(request))
    event = await request.app[NODE].store.set_offer(room_id, by=None, **body.model_dump())
    return respond(OfferSet(**event.body.to_data(), seq=event.seq))


@routes.post("/api/rooms/{room_id}/ratings")
async def rate(request: web.Request) -> web.Response:
    """A participant's rating of a product the room's cart held (signaling.ratings): as the
    API for ``participant_id``, or as the participant its bearer credential names."""
    node = request.app[NODE]
    room_id = _room_id(request)
    body = RatingRequest.model_validate(await _body(request))
    secret = node.settings.secret
    header = request.headers.get("Authorization", "").strip()
    if (not header and secret is None) or (secret is not None and _bearer_matches(header, secret)):
        if body.participant_id is None:
            return api_error(ErrorCode.BAD_MESSAGE, "participant_id: field required")
        participant_id, name = body.participant_id, body.name or body.participant_id
    else:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer":
            return api_error(ErrorCode.UNAUTHORIZED, "Authorization: Bearer required")
        grant = node.auth.verify(credential.strip(), room=room_id)
        if body.participant_id not in (None, grant.identity):
            return api_error(ErrorCode.FORBIDDEN, "a participant rates as itself only")
        participant_id, name = grant.identity, grant.name
    rating, seq = await ratings.rate(
        node.store, room_id, participant_id=participant_id, name=name,
        product_id=body.product_id, stars=body.stars,
    )
    return respond(Rated(rating=RatingInfo.of(rating), seq=seq))


# --- host controls (the HTTP API acts as an admin; rooms.moderation) -----------------------------


def _participant_id(request: web.Request) -> str:
    participant_id = request.match_info["participant_id"]
    if not is_room_id(participant_id):  # the same pattern as room ids
        raise NotInRoom(f"no participant {participant_id!r}")
    return participant_id


@routes.post("/api/rooms/{room_id}/participants/{participant_id}/mute")
async def mute(request: web.Request) -> web.Response:
    """Mute a participant's microphone or camera."""
    room_id, participant_id = _room_id(request), _participant_id(request)
    body = MuteRequest.model_validate(await _body(request))
    event = await request.app[NODE].store.mute(room_id, participant_id, body.kind, by=None)
    return respond(Moderated(seq=event.seq))


@routes.delete("/api/rooms/{room_id}/participants/{participant_id}")
async def remove_participant(request: web.Request) -> web.Response:
    """Take a participant out of the room (they may come back)."""
    room_id, participant_id = _room_id(request), _participant_id(request)
    event = await request.app[NODE].store.remove_participant(room_id, participant_id, by=None)
    return respond(Moderated(seq=event.seq))


@routes.put("/api/rooms/{room_id}/participants/{participant_id}/role")
async def set_role(request: web.Request) -> web.Response:
    """Bring a live room's viewer up to the stage, or a guest back to the audience."""
    room_id, participant_id = _room_id(request), _participant_id(request)
    body = RoleRequest.model_validate(await _body(request))
    store = request.app[NODE].store
    event = await store.set_role(room_id, participant_id, Role(body.role), by=None)
    return respond(Moderated(seq=event.seq))


@routes.post("/api/rooms/{room_id}/bans")
async def ban(request: web.Request) -> web.Response:
    """Bar an identity from the room for its life (taking it out if it is in)."""
    room_id = _room_id(request)
    body = BanRequest.model_validate(await _body(request))
    event = await request.app[NODE].store.ban(room_id, body.participant_id, by=None)
    return respond(Moderated(seq=event.seq), status=201)


@routes.put("/api/rooms/{room_id}/slow-mode")
async def slow_mode(request: web.Request) -> web.Response:
    """Set the chat's slow mode (0: off)."""
    room_id = _room_id(request)
    body = SlowModeRequest.model_validate(await _body(request))
    event = await request.app[NODE].store.set_slow_mode(room_id, body.seconds, by=None)
    return respond(Moderated(seq=event.seq))


@routes.delete("/api/rooms/{room_id}/chat/{seq}")
async def hide_chat(request: web.Request) -> web.Response:
    """Hide one chat message (by its seq) from everyone."""
    room_id = _room_id(request)
    raw = request.match_info["seq"]
    if not raw.isdecimal() or len(raw) > 18:
        raise NotInRoom(f"no chat message {raw!r}")
    event = await request.app[NODE].store.hide_chat(room_id, int(raw), by=None)
    if event is None:
        raise NotInRoom(f"the chat history of room {room_id} holds no message {raw}")
    return respond(Moderated(seq=event.seq))


@routes.post("/api/node/drain")
async def drain_node(request: web.Request) -> web.Response:
    """Drain this node, then exit (as SIGTERM does)."""
    node = request.app[NODE]
    node.request_drain()
    body = Drain(status="draining", node_id=node.settings.node_id)
    return web.json_response(body.model_dump(mode="json"), status=202)


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of this API."""
    return web.json_response(OPENAPI)
