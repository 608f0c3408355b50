"""The participant's SDP answer (or an ingest client's offer), parsed before aiortc applies it.

aiortc's SDP parser trusts its input: on malformed text it fails with whatever its code trips
on (``assert`` on an m-line, tuple unpacking, ``int()``, ``next()``, dict and list
lookups). Every such
failure is the client's bad SDP, so the lot becomes InvalidSdp here (fuzzed in
tests/sfu/test_answer.py) and signaling answers ``bad_sdp``.
"""

from __future__ import annotations

from aiortc import sdp as aiortc_sdp
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError

from sfu.errors import InvalidSdp

#: What aiortc raises on SDP it cannot parse or apply (UnicodeError is a ValueError,
#: KeyError/IndexError are LookupErrors).
SDP_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    ArithmeticError,
    AssertionError,
    StopIteration,  # next() on a codec list: an fmtp for a payload type with no rtpmap
    InternalError,
    InvalidAccessError,
    InvalidStateError,
    OperationError,
)


def parse_answer(text: str) -> aiortc_sdp.SessionDescription:
    """Parse an answer's SDP. Raises InvalidSdp if it does not parse or has no media."""
    try:
        parsed = aiortc_sdp.SessionDescription.parse(text)
    except SDP_ERRORS as exc:
        raise InvalidSdp(f"answer SDP does not parse: {exc!r}") from exc
    if not parsed.media:
        raise InvalidSdp("answer SDP has no media sections")
    return parsed


#: What an ingest offer may carry: one audio and one video m-line at most (RFC 9725 §4.2).
INGEST_KINDS = ("audio", "video")


def parse_ingest_offer(text: str) -> aiortc_sdp.SessionDescription:
    """Parse a WHIP client's offer: audio and/or video m-lines, at most one of each, each
    sending (RFC 9725 §4.2: the client only sends). Raises InvalidSdp."""
    try:
        parsed = aiortc_sdp.SessionDescription.parse(text)
    except SDP_ERRORS as exc:
        raise InvalidSdp(f"offer SDP does not parse: {exc!r}") from exc
    if not parsed.media:
        raise InvalidSdp("offer SDP has no media sections")
    kinds = [m.kind for m in parsed.media]
    for kind in kinds:
        if kind not in INGEST_KINDS:
            raise InvalidSdp(f"offer has a {kind!r} m-line; only audio and video are ingested")
        if kinds.count(kind) > 1:
            raise InvalidSdp(f"offer has more than one {kind} m-line")
    for media in parsed.media:
        if media.direction not in (None, "sendonly", "sendrecv"):  # absent: sendrecv
            raise InvalidSdp(f"the {media.kind} m-line is {media.direction}: nothing to ingest")
    return parsed
