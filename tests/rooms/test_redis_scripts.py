"""The seq splice the Lua scripts rely on, and the scripts' documented contracts."""

from __future__ import annotations

from typing import Any

import pytest

from rooms.models import RoomEvent
from rooms.redis_scripts import event_json_parts, lua_source

SCRIPTS = ["create_room", "join", "leave", "close_room", "publish"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"participant": {"id": "p", "name": "Zoë", "role": "guest", "joined_at": 1.5}},
        {"text": ',"seq":0,', "seq": 0},  # the splice mark inside data must not be taken
        {"nested": [{"seq": 0}, None, True, 2.5, "\"quoted\""]},
    ],
)
@pytest.mark.parametrize("seq", [1, 42, 2**40])
def test_spliced_json_is_room_event_to_json(data: dict[str, Any], seq: int) -> None:
    head, tail = event_json_parts("room-1", "chat", data)
    spliced = head + str(seq) + tail  # what the scripts do with `..`
    event = RoomEvent(room_id="room-1", seq=seq, type="chat", data=data)
    assert spliced == event.to_json()
    assert RoomEvent.from_json(spliced) == event


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_states_its_contract(name: str) -> None:
    header = [line for line in lua_source(name).splitlines() if line.startswith("--")]
    text = "\n".join(header)
    for part in ("KEYS[1]", "ARGV[1]", "Returns"):
        assert part in text, f"{name}.lua header lacks {part}"
