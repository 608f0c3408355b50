"""The rooms' Lua scripts (rooms/lua/*.lua) and the event encoding they splice a seq into."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from rooms.models import RoomEvent

# Script statuses: the first element of a script's reply (see each script's header).
OK = "ok"
CLOSED = "closed"
FULL = "full"
ALREADY_JOINED = "already_joined"
UNKNOWN = "unknown"

_SEQ_MARK = ',"seq":0,'


def lua_source(name: str) -> str:
    """The text of rooms/lua/<name>.lua."""
    return resources.files("rooms").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


def event_json_parts(room_id: str, type: str, data: dict[str, Any]) -> tuple[str, str]:
    """RoomEvent.to_json() of this event cut where its seq goes: ``head + str(seq) + tail``.

    The seq is only known inside the script (INCR), yet subscribers must get exactly
    RoomEvent.to_json(); the room id (no quotes allowed) precedes the seq, so the first mark is it.
    """
    encoded = RoomEvent(room_id=room_id, seq=0, type=type, data=data).to_json()
    head, mark, tail = encoded.partition(_SEQ_MARK)
    if not mark or not head.startswith('{"room_id":'):
        raise RuntimeError(f"RoomEvent.to_json() no longer starts room_id, seq: {encoded[:80]}")
    return head + ',"seq":', "," + tail


@dataclass(frozen=True, slots=True)
class RoomScripts:
    """The scripts registered on one client (redis-py loads them, and reloads after NOSCRIPT)."""

    create_room: AsyncScript
    join: AsyncScript
    leave: AsyncScript
    close_room: AsyncScript
    publish: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> RoomScripts:
        """Register every rooms script on ``client``."""
        return cls(
            create_room=client.register_script(lua_source("create_room")),
            join=client.register_script(lua_source("join")),
            leave=client.register_script(lua_source("leave")),
            close_room=client.register_script(lua_source("close_room")),
            publish=client.register_script(lua_source("publish")),
        )
