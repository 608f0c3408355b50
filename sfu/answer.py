"""The participant's SDP answer, parsed before aiortc applies it.

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
