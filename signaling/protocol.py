"""The signaling wire protocol (docs/PROTOCOL.md) as data: one pydantic model per message.

Parsing and dumping only; no I/O. ``parse_client_message`` turns one WebSocket text frame into a
``ClientMessage`` or raises ``ProtocolError`` with the stable wire code.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from rooms import validation

#: A room id on the wire: exactly what the RoomStore accepts (anchored for pydantic).
ROOM_ID_PATTERN = f"^{validation.ROOM_ID_PATTERN.pattern}$"

RoomId = Annotated[str, Field(pattern=ROOM_ID_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=64)]


class ErrorCode(StrEnum):
    """Stable error codes sent in ``error`` messages (and HTTP API error bodies)."""

    BAD_MESSAGE = "bad_message"
    UNKNOWN_TYPE = "unknown_type"
    NOT_JOINED = "not_joined"
    ALREADY_JOINED = "already_joined"
    ROOM_FULL = "room_full"
    ROOM_CLOSED = "room_closed"
    UNAUTHORIZED = "unauthorized"
    BAD_SDP = "bad_sdp"
    NEGOTIATION_FAILED = "negotiation_failed"
    NOT_FOUND = "not_found"
    INTERNAL = "internal"


class ProtocolError(Exception):
    """A client frame that is not a valid client message."""

    def __init__(self, code: ErrorCode, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- shared shapes -------------------------------------------------------------------------------


class ParticipantInfo(_Message):
    """A participant as the wire shows it."""

    id: str
    name: str
    role: Literal["viewer", "guest", "host", "admin"]
    joined_at: float


class RoomRef(_Message):
    """The room fields a client needs."""

    id: str
    capacity: int


class Slot(_Message):
    """One m-line of an offer: ``recvonly`` = the client publishes, ``sendonly`` = it receives."""

    mid: str
    kind: Literal["audio", "video"]
    direction: Literal["recvonly", "sendonly", "sendrecv", "inactive"]
    source: str | None = None


# --- client -> server ----------------------------------------------------------------------------


class Join(_Message):
    """Enter a room (``room`` is optional on ``/rooms/{room_id}/ws``); a token's name/role win."""

    type: Literal["join"] = "join"
    room: RoomId | None = None
    name: Name | None = None
    role: Literal["guest", "viewer"] = "guest"
    token: str | None = Field(None, max_length=4096)


class Answer(_Message):
    """The client's SDP answer to the latest ``offer``."""

    type: Literal["answer"] = "answer"
    sdp: str = Field(min_length=1)


class Leave(_Message):
    """Leave the room but keep the socket (a later ``join`` is allowed)."""

    type: Literal["leave"] = "leave"


class Resync(_Message):
    """Ask for a fresh ``snapshot`` (after a ``seq`` gap)."""

    type: Literal["resync"] = "resync"


class Ping(_Message):
    """Liveness check; answered by ``pong`` with the same nonce."""

    type: Literal["ping"] = "ping"
    nonce: str | int | None = None


ClientMessage = Annotated[Join | Answer | Leave | Resync | Ping, Field(discriminator="type")]


# --- server -> client ----------------------------------------------------------------------------


class Joined(_Message):
    """Reply to ``join``: the room as of event ``seq`` (the join itself)."""

    type: Literal["joined"] = "joined"
    seq: int
    room: RoomRef
    you: ParticipantInfo
    participants: list[ParticipantInfo]


class Snapshot(_Message):
    """Reply to ``resync``: same shape as ``joined``."""

    type: Literal["snapshot"] = "snapshot"
    seq: int
    room: RoomRef
    you: ParticipantInfo
    participants: list[ParticipantInfo]


class Offer(_Message):
    """A server SDP offer; the client answers with ``answer``."""

    type: Literal["offer"] = "offer"
    sdp: str
    slots: list[Slot]


class ParticipantJoined(_Message):
    """Somebody entered the room."""

    type: Literal["participant_joined"] = "participant_joined"
    seq: int
    participant: ParticipantInfo


class ParticipantLeft(_Message):
    """Somebody left: ``left``, ``disconnected`` or ``removed``."""

    type: Literal["participant_left"] = "participant_left"
    seq: int
    participant_id: str
    reason: str


class TrackPublished(_Message):
    """A participant's audio or video reached the server and is being forwarded."""

    type: Literal["track_published"] = "track_published"
    seq: int
    participant_id: str
    kind: Literal["audio", "video"]


class RoomClosed(_Message):
    """The room was closed (HTTP API); a ``left`` with reason ``room_closed`` follows."""

    type: Literal["room_closed"] = "room_closed"
    seq: int
    room: str


class Left(_Message):
    """You are no longer in the room; the socket stays open for another ``join``."""

    type: Literal["left"] = "left"
    reason: str


class Error(_Message):
    """A request failed; the socket and the room carry on."""

    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    ref: str | None = None


class Pong(_Message):
    """Reply to ``ping``."""

    type: Literal["pong"] = "pong"
    nonce: str | int | None = None


ServerMessage = Annotated[
    Joined
    | Snapshot
    | Offer
    | ParticipantJoined
    | ParticipantLeft
    | TrackPublished
    | RoomClosed
    | Left
    | Error
    | Pong,
    Field(discriminator="type"),
]

_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def _types_of(union: Any) -> frozenset[str]:
    members = get_args(get_args(union)[0])
    return frozenset(get_args(m.model_fields["type"].annotation)[0] for m in members)


CLIENT_TYPES = _types_of(ClientMessage)
SERVER_TYPES = _types_of(ServerMessage)


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Validate one client frame. Raises ProtocolError (bad_message / unknown_type)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "a message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "missing string field 'type'")
    if kind not in CLIENT_TYPES:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}", ref=kind)
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        # The first location part is the union tag ("join"); the field path follows.
        raise ProtocolError(ErrorCode.BAD_MESSAGE, describe(exc, skip=1), ref=kind) from None


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """Validate one server frame (for clients and tests). Raises ValidationError."""
    return _server_adapter.validate_json(raw)


def dump(message: ClientMessage | ServerMessage) -> str:
    """Serialise a message to the JSON text sent on the socket."""
    return message.model_dump_json()


def is_room_id(text: str) -> bool:
    """True if ``text`` is a valid room id."""
    return validation.ROOM_ID_PATTERN.fullmatch(text) is not None


def describe(exc: ValidationError, *, skip: int = 0) -> str:
    """A one-line ``field: problem; ...`` summary (``skip`` leading location parts)."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"][skip:]) or "body"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
