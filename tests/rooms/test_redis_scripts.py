"""The seq splice the Lua scripts rely on, and the scripts' documented contracts."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from rooms.models import RoomEvent
from rooms.redis_placement import PLACEMENT_SCRIPTS
from rooms.redis_scripts import (
    HOLE,
    LIBRARY,
    RoomScripts,
    event_json_parts,
    event_template,
    fill,
    json_template,
    lua_source,
)

SCRIPTS = [f.name for f in fields(RoomScripts)]
LUA_DIR = Path(__file__).resolve().parents[2] / "rooms" / "lua"


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


def test_every_lua_file_is_registered() -> None:
    on_disk = {path.stem for path in LUA_DIR.glob("*.lua")}
    assert on_disk == set(SCRIPTS) | set(PLACEMENT_SCRIPTS) | {LIBRARY}


def test_the_library_says_what_it_is() -> None:
    assert lua_source(LIBRARY).startswith("-- _shop_lib.lua: ")


@pytest.mark.parametrize(
    "data",
    [
        {"a": 1},
        {"x": ',"seq":0,', "hole": "\x00hole", "nested": [{"seq": 0}, "\u0000"]},
        {"text": "the marker is random", "n": None},
    ],
)
def test_event_templates_fill_to_room_event_to_json(data: dict[str, Any]) -> None:
    template = event_template("room-1", "chat_message", {**data, "filled": HOLE, "more": [HOLE]})
    assert len(template) == 4  # seq plus two holes
    text = fill(template, "42", '{"k":"v"}', "null")
    filled = {**data, "filled": {"k": "v"}, "more": [None]}
    expected = RoomEvent("room-1", 42, "chat_message", filled)
    assert text == expected.to_json()


def test_json_template_without_holes_is_the_json() -> None:
    assert json_template({"a": [1, "b"]}) == ['{"a":[1,"b"]}']
    with pytest.raises(ValueError):
        fill(["a", "b"])
