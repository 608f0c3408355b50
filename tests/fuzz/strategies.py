"""Hypothesis strategies for hostile client input: JSON values, protocol-shaped messages, raw
text mutations of real messages, and HTTP requests."""

from __future__ import annotations

import json
from typing import Any, get_args

from hypothesis import strategies as st

from signaling import protocol as wire

#: Every field name the client messages have, so generated objects hit real validators.
FIELD_NAMES = sorted(
    {name for model in get_args(get_args(wire.ClientMessage)[0]) for name in model.model_fields}
    - {"type"}
)
ROOMS = ["fuzz1", "fuzz2"]

# Text of any code point, surrogates included (json.dumps escapes them as \ud800).
any_text = st.text(st.characters(codec=None), max_size=20)
short_text = st.one_of(
    st.sampled_from(["", "yes", "no", "next", "goto", "viewer", "host", "everyone", "👍", "x"]),
    any_text,
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), short_text,
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(short_text, inner,
                                                                         max_size=4),
    max_leaves=12,
)


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    """An object shaped like a client message: a known (or odd) type, known and odd fields."""
    kind = draw(st.sampled_from(sorted(wire.CLIENT_TYPES)) | short_text)
    body: dict[str, Any] = {"type": kind}
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=4, unique=True)):
        body[name] = draw(json_values | st.sampled_from(ROOMS))
    if kind == "join" and draw(st.booleans()):
        body.update(room=draw(st.sampled_from(ROOMS)), name=draw(short_text))
    return body


VALID = [
    {"type": "ping", "nonce": "n"},
    {"type": "join", "room": "fuzz1", "name": "ann"},
    {"type": "chat", "text": "hello"},
    {"type": "vote", "product_id": "tee", "value": 5},
    {"type": "carousel_move", "action": "goto", "product_id": "tee", "version": 0},
    {"type": "answer", "sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"},
]


@st.composite
def mutated_frames(draw: st.DrawFn) -> str:
    """A real message's JSON text with characters inserted, deleted or replaced."""
    text = json.dumps(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(['"', "{", "[", "]", "}", ",", ":", "\\", "\\u", "\\ud800",
                                      "0", "-", "1e999", "NaN", "null", " "]) | any_text)
        piece = piece.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        if how == "insert":
            text = text[:i] + piece + text[i:]
        elif how == "delete":
            text = text[:i] + text[i + len(piece):]
        else:
            text = text[:i] + piece + text[i + 1:]
    return text


deep_frames = st.builds(
    lambda depth, bracket, wrap: (
        ('{"type": "ping", "nonce": ' if wrap else "")
        + bracket[0] * depth + bracket[1] * depth + ("}" if wrap else "")
    ),
    st.integers(1, 3000), st.sampled_from([("[", "]"), ('{"a":', "}")]), st.booleans(),
).map(lambda t: t.replace('{"a":}', '{"a":1}'))

frames = st.one_of(
    messages().map(json.dumps),
    mutated_frames(),
    deep_frames,
    json_values.map(json.dumps),
)

# --- HTTP ----------------------------------------------------------------------------------------

room_segments = st.one_of(st.sampled_from([*ROOMS, "", "..", "bad id", "%FF", "x" * 300]),
                          any_text.map(lambda t: t.encode("utf-8", "surrogatepass")
                                       .decode("utf-8", "replace")))
PATHS = [
    "/api/rooms", "/api/rooms/{r}", "/api/rooms/{r}/tokens", "/api/rooms/{r}/catalog",
    "/api/rooms/{r}/carousel", "/api/rooms/{r}/vote-round", "/api/rooms/{r}/tallies",
    "/api/rooms/{r}/recap", "/api/openapi.json", "/rooms/{r}/ws", "/ws", "/static/{r}",
    "/catalog/sample/images/{r}", "/healthz", "/metrics", "/r/{r}", "/{r}",
]
bodies = st.one_of(
    st.just(b""),
    json_values.map(lambda v: json.dumps(v).encode()),
    messages().map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
    deep_frames.map(str.encode),
    mutated_frames().map(lambda t: t.encode("utf-8", "surrogatepass")),
)
http_requests = st.tuples(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
    st.sampled_from(PATHS),
    room_segments,
    bodies,
    st.sampled_from([None, "Bearer x", "bearer", "Basic Zm9v", "Bearer " + "a" * 300]),
)
