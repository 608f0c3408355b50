"""The event templates the Lua scripts fill in, and the scripts' documented contracts."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from rooms import events
from rooms.event_shapes import CartItemInfo, ParticipantInfo
from rooms.events import CustomEvent, EventBody
from rooms.models import RoomEvent
from rooms.redis_placement import PLACEMENT_SCRIPTS
from rooms.redis_scripts import (
    HOLE,
    LIBRARY,
    RoomScripts,
    body_template,
    event_template,
    fill,
    json_template,
    lua_source,
)

SCRIPTS = [f.name for f in fields(RoomScripts)]
LUA_DIR = Path(__file__).resolve().parents[2] / "rooms" / "lua"


@pytest.mark.parametrize(
    "body",
    [
        CustomEvent(type="chat", data={}),
        events.ParticipantJoined(
            participant=ParticipantInfo(id="p", name="Zoë", role="guest", joined_at=1.5)
        ),
        # The seq's place inside data must not be taken for it.
        CustomEvent(type="chat", data={"text": ',"seq":0,', "seq": 0}),
        CustomEvent(type="chat", data={"nested": [{"seq": 0}, None, True, 2.5, "\"quoted\""]}),
        events.RoomClosed(),
    ],
)
@pytest.mark.parametrize("seq", [1, 42, 2**40])
def test_spliced_json_is_room_event_to_json(body: EventBody, seq: int) -> None:
    head, tail = body_template("room-1", body)
    spliced = head + str(seq) + tail  # what the scripts do with `..`
    event = RoomEvent("room-1", seq, body)
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


@pytest.mark.parametrize("who", ["ann", ',"seq":0,', "\x00hole", "the marker is \u0000random"])
def test_event_templates_fill_to_their_declared_event(who: str) -> None:
    template = event_template("room-1", events.CartItemRemoved, item=HOLE, by=who)
    assert len(template) == 3  # the seq and the item
    item = CartItemInfo(product_id="tee", variant_id=None, quantity=2, added_by=who,
                        added_by_name="Ann", added_at=1.25)
    text = fill(template, "42", item.model_dump_json())
    expected = RoomEvent("room-1", 42, events.CartItemRemoved(item=item, by=who))
    assert RoomEvent.from_json(text) == expected
    assert text == expected.to_json()


def test_event_templates_name_every_declared_field() -> None:
    given: dict[str, Any] = {"participant_id": "p", "emoji": "🔥", "product_id": HOLE}
    assert len(event_template("r", events.Reaction, **given)) == 3
    with pytest.raises(TypeError, match="declares"):
        event_template("r", events.Reaction, participant_id="p", emoji="🔥")
    with pytest.raises(TypeError, match="declares"):
        event_template("r", events.Reaction, **given, extra=1)


def test_json_template_without_holes_is_the_json() -> None:
    assert json_template({"a": [1, "b"]}) == ['{"a":[1,"b"]}']
    with pytest.raises(ValueError):
        fill(["a", "b"])
