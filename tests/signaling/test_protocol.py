"""The wire protocol as data: round trips, validation, and agreement with docs/PROTOCOL.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from signaling import protocol as wire

DOC = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"

P = wire.ParticipantInfo(id="p1", name="Ann", role="guest", joined_at=12.5)
ROOM = wire.RoomRef(id="r1", capacity=10)

CLIENT_MESSAGES: list[wire.ClientMessage] = [
    wire.Join(room="r1", name="Ann"),
    wire.Join(room="r-_9", name="Vic", role="viewer", token="abc.def"),
    wire.Join(name="Ann"),
    wire.Answer(sdp="v=0\r\n"),
    wire.Leave(),
    wire.Resync(),
    wire.Ping(),
    wire.Ping(nonce="x"),
    wire.Ping(nonce=42),
]

SERVER_MESSAGES: list[wire.ServerMessage] = [
    wire.Joined(seq=1, room=ROOM, you=P, participants=[P]),
    wire.Snapshot(seq=9, room=ROOM, you=P, participants=[]),
    wire.Offer(
        sdp="v=0\r\n",
        slots=[
            wire.Slot(mid="0", kind="audio", direction="recvonly"),
            wire.Slot(mid="2", kind="video", direction="sendonly", source="p2"),
            wire.Slot(mid="3", kind="video", direction="inactive", source=None),
        ],
    ),
    wire.ParticipantJoined(seq=2, participant=P),
    wire.ParticipantLeft(seq=3, participant_id="p1", reason="left"),
    wire.TrackPublished(seq=4, participant_id="p1", kind="video"),
    wire.RoomClosed(seq=5, room="r1"),
    wire.Left(reason="left"),
    wire.Error(code=wire.ErrorCode.ROOM_FULL, message="full", ref="join"),
    wire.Error(code=wire.ErrorCode.BAD_MESSAGE, message="not JSON"),
    wire.Pong(nonce=7),
]


@pytest.mark.parametrize("message", CLIENT_MESSAGES, ids=lambda m: m.type)
def test_client_round_trip(message: wire.ClientMessage) -> None:
    assert wire.parse_client_message(wire.dump(message)) == message


@pytest.mark.parametrize("message", SERVER_MESSAGES, ids=lambda m: m.type)
def test_server_round_trip(message: wire.ServerMessage) -> None:
    text = wire.dump(message)
    assert json.loads(text)["type"] == message.type
    assert wire.parse_server_message(text) == message


def test_every_message_type_has_a_round_trip_case() -> None:
    assert {m.type for m in CLIENT_MESSAGES} == wire.CLIENT_TYPES
    assert {m.type for m in SERVER_MESSAGES} == wire.SERVER_TYPES


def test_defaults_on_the_wire() -> None:
    join = wire.parse_client_message('{"type":"join","room":"r","name":"n"}')
    assert join == wire.Join(room="r", name="n", role="guest", token=None)
    assert json.loads(wire.dump(wire.Error(code=wire.ErrorCode.INTERNAL, message="m"))) == {
        "type": "error",
        "code": "internal",
        "message": "m",
        "ref": None,
    }


@pytest.mark.parametrize(
    ("raw", "code", "ref"),
    [
        ("", "bad_message", None),
        ("{", "bad_message", None),
        (b"\xff\xfe", "bad_message", None),
        ("null", "bad_message", None),
        ('"join"', "bad_message", None),
        ("{}", "bad_message", None),
        ('{"type": 3}', "bad_message", None),
        ('{"type": "offer", "sdp": "x"}', "unknown_type", "offer"),
        ('{"type": "JOIN"}', "unknown_type", "JOIN"),
        ('{"type": "join", "room": "", "name": "n"}', "bad_message", "join"),
        ('{"type": "join", "room": "x" , "name": "n", "role": "host"}', "bad_message", "join"),
        ('{"type": "join", "room": "' + "r" * 65 + '", "name": "n"}', "bad_message", "join"),
        ('{"type": "join", "room": "r", "name": "' + "n" * 65 + '"}', "bad_message", "join"),
        ('{"type": "join", "room": "r/../x", "name": "n"}', "bad_message", "join"),
        ('{"type": "join", "room": "r\\n", "name": "n"}', "bad_message", "join"),
        ('{"type": "answer"}', "bad_message", "answer"),
        ('{"type": "answer", "sdp": ""}', "bad_message", "answer"),
        ('{"type": "answer", "sdp": 5}', "bad_message", "answer"),
        ('{"type": "leave", "now": true}', "bad_message", "leave"),
        ('{"type": "ping", "nonce": [1]}', "bad_message", "ping"),
    ],
)
def test_invalid_client_frames(raw: str | bytes, code: str, ref: str | None) -> None:
    with pytest.raises(wire.ProtocolError) as info:
        wire.parse_client_message(raw)
    assert info.value.code == code
    assert info.value.ref == ref
    assert info.value.message


def test_validation_message_names_the_field() -> None:
    with pytest.raises(wire.ProtocolError, match=r"^sdp: Field required$"):
        wire.parse_client_message('{"type": "answer"}')


def test_server_messages_are_validated_too() -> None:
    with pytest.raises(ValidationError):
        wire.parse_server_message('{"type": "pong", "nonce": 1, "extra": 2}')
    with pytest.raises(ValidationError):
        wire.parse_server_message('{"type": "error", "code": "no_such_code", "message": ""}')


def _doc_table(heading: str) -> list[str]:
    """First-column backticked names of the markdown table under ``heading``."""
    text = DOC.read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


def test_protocol_doc_lists_every_message_and_code() -> None:
    assert set(_doc_table("## Client → server")) == wire.CLIENT_TYPES
    assert set(_doc_table("## Server → client")) == wire.SERVER_TYPES
    assert set(_doc_table("## Error codes")) == {str(c) for c in wire.ErrorCode}
