"""The one place where errors of rooms, sfu and signaling become wire error codes."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from rooms.catalog import CatalogError
from rooms.errors import (
    AlreadyJoined,
    AudienceFull,
    Banned,
    CheckoutUnavailable,
    Forbidden,
    NoNodeAvailable,
    NotInRoom,
    RoomClosed,
    RoomFull,
    SlowMode,
    StoreUnavailable,
)
from rooms.shopping import (
    InvalidChatMessage,
    InvalidReaction,
    InvalidVote,
    StaleVersion,
    UnknownProduct,
    VoteClosed,
)
from rooms.shopping.carousel import Carousel
from sfu.errors import InvalidSdp, NegotiationError, RecordingConflict
from signaling.auth import InvalidToken
from signaling.protocol import ErrorCode, ProtocolError, describe
from signaling.untrusted_json import InvalidJson


class SignalingError(Exception):
    """A request signaling refuses by itself (not joined, already joined, ...)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RateLimited(SignalingError):
    """A participant acts faster than their token bucket allows (rooms.shopping.limits)."""

    def __init__(self, what: str, retry_after: float) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, f"too many {what}; retry in {retry_after:.1f}s")
        self.retry_after = retry_after


# First match wins: InvalidSdp must precede its base class NegotiationError, AudienceFull
# its base class RoomFull.
_CODES: tuple[tuple[type[Exception], ErrorCode], ...] = (
    (StoreUnavailable, ErrorCode.UNAVAILABLE),
    (NoNodeAvailable, ErrorCode.UNAVAILABLE),
    (AudienceFull, ErrorCode.AUDIENCE_FULL),
    (RoomFull, ErrorCode.ROOM_FULL),
    (Banned, ErrorCode.BANNED),
    (SlowMode, ErrorCode.SLOW_MODE),
    (RoomClosed, ErrorCode.ROOM_CLOSED),
    (AlreadyJoined, ErrorCode.ALREADY_JOINED),
    (NotInRoom, ErrorCode.NOT_FOUND),
    (Forbidden, ErrorCode.FORBIDDEN),
    (UnknownProduct, ErrorCode.UNKNOWN_PRODUCT),
    (StaleVersion, ErrorCode.STALE_VERSION),
    (VoteClosed, ErrorCode.VOTE_CLOSED),
    (CheckoutUnavailable, ErrorCode.NO_CHECKOUT),
    (InvalidChatMessage, ErrorCode.BAD_CHAT),
    (InvalidReaction, ErrorCode.BAD_MESSAGE),
    (InvalidVote, ErrorCode.BAD_MESSAGE),
    (CatalogError, ErrorCode.BAD_MESSAGE),
    (InvalidToken, ErrorCode.UNAUTHORIZED),
    (InvalidJson, ErrorCode.BAD_MESSAGE),
    (ValidationError, ErrorCode.BAD_MESSAGE),
    (InvalidSdp, ErrorCode.BAD_SDP),
    (NegotiationError, ErrorCode.NEGOTIATION_FAILED),
    (RecordingConflict, ErrorCode.RECORDING),
)

_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_MESSAGE: 400,
    ErrorCode.UNKNOWN_TYPE: 400,
    ErrorCode.NOT_JOINED: 409,
    ErrorCode.ALREADY_JOINED: 409,
    ErrorCode.ROOM_FULL: 409,
    ErrorCode.AUDIENCE_FULL: 409,
    ErrorCode.BANNED: 403,
    ErrorCode.SLOW_MODE: 429,
    ErrorCode.ROOM_CLOSED: 410,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.BAD_SDP: 400,
    ErrorCode.NEGOTIATION_FAILED: 409,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNKNOWN_PRODUCT: 404,
    ErrorCode.STALE_VERSION: 409,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.BAD_CHAT: 400,
    ErrorCode.VOTE_CLOSED: 409,
    ErrorCode.NO_CHECKOUT: 409,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.RECORDING: 409,
    ErrorCode.INTERNAL: 500,
}


def error_code(exc: Exception) -> ErrorCode | None:
    """The wire code for an expected error, or None for a bug (sent as ``internal``)."""
    if isinstance(exc, SignalingError | ProtocolError):
        return exc.code
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return code
    return None


def error_message(exc: Exception) -> str:
    """The human-readable text sent with the code."""
    if isinstance(exc, SignalingError | ProtocolError):
        return exc.message
    if isinstance(exc, ValidationError):
        return describe(exc)
    return str(exc) or type(exc).__name__


def error_details(exc: Exception) -> dict[str, Any]:
    """The extra fields an ``error`` carries for ``exc``: the winning carousel of a
    StaleVersion, the wait of a RateLimited or StoreUnavailable; empty for the rest."""
    if isinstance(exc, StaleVersion):
        carousel = exc.carousel or Carousel(exc.current)
        return {"carousel": carousel.to_dict()}
    if isinstance(exc, RateLimited | StoreUnavailable | NoNodeAvailable | SlowMode):
        return {"retry_after": round(exc.retry_after, 3)}
    return {}


def http_status(code: ErrorCode) -> int:
    """The HTTP status the API answers with for ``code``."""
    return _HTTP_STATUS[code]


def http_error_code(status: int) -> ErrorCode:
    """The code for an HTTP-level refusal (no route, wrong method, body too large, no
    WebSocket upgrade ...): sent with that status."""
    if status in (404, 410):
        return ErrorCode.NOT_FOUND
    if status == 401:
        return ErrorCode.UNAUTHORIZED
    if 400 <= status < 500:
        return ErrorCode.BAD_MESSAGE
    return ErrorCode.INTERNAL
