"""The one place where errors of rooms, sfu and signaling become wire error codes."""

from __future__ import annotations

from rooms.errors import AlreadyJoined, NotInRoom, RoomClosed, RoomFull
from sfu.errors import InvalidSdp, NegotiationError
from signaling.auth import InvalidToken
from signaling.protocol import ErrorCode, ProtocolError


class SignalingError(Exception):
    """A request signaling refuses by itself (not joined, already joined, ...)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# First match wins: InvalidSdp must precede its base class NegotiationError.
_CODES: tuple[tuple[type[Exception], ErrorCode], ...] = (
    (RoomFull, ErrorCode.ROOM_FULL),
    (RoomClosed, ErrorCode.ROOM_CLOSED),
    (AlreadyJoined, ErrorCode.ALREADY_JOINED),
    (NotInRoom, ErrorCode.NOT_FOUND),
    (InvalidToken, ErrorCode.UNAUTHORIZED),
    (InvalidSdp, ErrorCode.BAD_SDP),
    (NegotiationError, ErrorCode.NEGOTIATION_FAILED),
)

_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_MESSAGE: 400,
    ErrorCode.UNKNOWN_TYPE: 400,
    ErrorCode.NOT_JOINED: 409,
    ErrorCode.ALREADY_JOINED: 409,
    ErrorCode.ROOM_FULL: 409,
    ErrorCode.ROOM_CLOSED: 410,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.BAD_SDP: 400,
    ErrorCode.NEGOTIATION_FAILED: 409,
    ErrorCode.NOT_FOUND: 404,
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
    return str(exc) or type(exc).__name__


def http_status(code: ErrorCode) -> int:
    """The HTTP status the API answers with for ``code``."""
    return _HTTP_STATUS[code]
