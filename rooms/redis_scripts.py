"""The rooms' Lua scripts (rooms/lua/*.lua) and the event templates they fill in.

A script knows some of an event's values only as it runs (the seq it INCRs, a stored item, the
tallies), yet the event must be exactly the JSON its declaration (rooms.events) describes. So
the Python side encodes the whole event from its kind, leaving holes (HOLE) the script fills.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any, Final

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from rooms.events import EventBody
from rooms.models import envelope

# Script statuses: the first element of a script's reply (see each script's header).
OK = "ok"
CLOSED = "closed"
FULL = "full"
AUDIENCE_FULL = "audience_full"
BANNED = "banned"
SLOW = "slow"
ALREADY_JOINED = "already_joined"
UNKNOWN = "unknown"
NOT_IN_ROOM = "not_in_room"
FORBIDDEN = "forbidden"
UNKNOWN_PRODUCT = "unknown_product"
STALE = "stale"
VOTE_CLOSED = "vote_closed"
NONE = "none"
"""Nothing to change (no such vote, cart item or open round): nothing written, no event."""

LIBRARY: Final = "_shop_lib"
"""Helpers prepended to every script (rooms/lua/_shop_lib.lua)."""


def lua_source(name: str) -> str:
    """The text of rooms/lua/<name>.lua."""
    return resources.files("rooms").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


class _Hole:
    """Marks a value of a template that a script fills in (see ``json_template``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "HOLE"


HOLE: Final = _Hole()
"""A value only the script knows (the seq, a tally, a stored item): a hole in the template."""


def json_template(value: Any) -> list[str]:
    """``json.dumps(value)`` (compact) cut at each HOLE in it, in text order: a script fills
    hole i in between parts i and i + 1 with JSON text (``table.concat``), so the Python side
    decides the whole encoding and the script only what it alone knows."""
    # A random marker per call, so no user string can be mistaken for a hole.
    marker = f"\x00hole{secrets.token_hex(8)}"
    text = json.dumps(_mark(value, marker), separators=(",", ":"))
    return re.split(re.escape(json.dumps(marker)), text)


def event_template(room_id: str, kind: type[EventBody], **fields: object) -> list[str]:
    """The JSON of a ``kind`` event of the room (RoomEvent.to_json) as a template for a script:
    its first hole is the seq, then come the fields given as HOLE, in the order given here.

    Every field ``kind`` declares must be given (values as JSON, or shapes); what the script
    makes of the template is validated against the declaration when it is read back.
    """
    declared = [name for name in kind.model_fields if name != "type"]
    if sorted(fields) != sorted(declared):
        raise TypeError(f"{kind.KIND} declares {declared}, got {list(fields)}")
    data = {name: _json(value) for name, value in fields.items()}
    return json_template(envelope(room_id, HOLE, kind.KIND, data))


def body_template(room_id: str, body: EventBody) -> list[str]:
    """RoomEvent(room_id, seq, body).to_json() as a template whose one hole is the seq."""
    return json_template(envelope(room_id, HOLE, body.type, body.to_data()))


def _json(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    return value


def _mark(value: Any, marker: str) -> Any:
    if value is HOLE:
        return marker
    if isinstance(value, dict):
        return {k: _mark(v, marker) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(v, marker) for v in value]
    return value


def fill(template: list[str], *values: str) -> str:
    """What the scripts do with a template (for tests): parts and values interleaved."""
    if len(values) != len(template) - 1:
        raise ValueError(f"template has {len(template) - 1} holes, got {len(values)} values")
    out = [template[0]]
    for value, part in zip(values, template[1:], strict=True):
        out += [value, part]
    return "".join(out)


@dataclass(frozen=True, slots=True)
class RoomScripts:
    """The scripts registered on one client (redis-py loads them, and reloads after NOSCRIPT)."""

    create_room: AsyncScript
    join: AsyncScript
    leave: AsyncScript
    close_room: AsyncScript
    publish: AsyncScript
    snapshot: AsyncScript
    shop_load_catalog: AsyncScript
    shop_move: AsyncScript
    shop_pass_remote: AsyncScript
    shop_set_mode: AsyncScript
    shop_cast_vote: AsyncScript
    shop_retract_vote: AsyncScript
    shop_open_round: AsyncScript
    shop_close_round: AsyncScript
    shop_chat: AsyncScript
    shop_react: AsyncScript
    shop_cart_add: AsyncScript
    shop_cart_remove: AsyncScript
    shop_own_cart: AsyncScript
    shop_checkout: AsyncScript
    shop_set_offer: AsyncScript
    mod_mute: AsyncScript
    mod_remove: AsyncScript
    mod_set_role: AsyncScript
    mod_slow_mode: AsyncScript
    mod_raise_hand: AsyncScript
    mod_hide_chat: AsyncScript
    reassert: AsyncScript
    reap: AsyncScript
    renew_lease: AsyncScript
    forget_node: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> RoomScripts:
        """Register every rooms script on ``client``, each preceded by the shared helpers."""
        library = lua_source(LIBRARY)
        return cls(
            **{
                f.name: client.register_script(library + "\n" + lua_source(f.name))
                for f in fields(cls)
            }
        )
