"""The registry of media rooms of one SFU node."""

from __future__ import annotations

from typing import Any

from sfu.compat import check_aiortc
from sfu.config import SFUConfig
from sfu.media_room import MediaRoom, SpeakerCallback


class SFU:
    """Every media room (and so every peer connection) of this process; closed together."""

    def __init__(self, config: SFUConfig | None = None) -> None:
        check_aiortc()
        self.config = config or SFUConfig()
        self._rooms: dict[str, MediaRoom] = {}
        #: Told when a room's active speaker changes (set by the owner before rooms exist).
        self.on_active_speaker: SpeakerCallback | None = None

    def room(self, room_id: str) -> MediaRoom:
        """The media room ``room_id``, created on first use."""
        room = self._rooms.get(room_id)
        if room is None:
            room = MediaRoom(
                room_id, self.config, self._room_empty, on_active_speaker=self.on_active_speaker
            )
            self._rooms[room_id] = room
        return room

    def get_room(self, room_id: str) -> MediaRoom | None:
        return self._rooms.get(room_id)

    @property
    def rooms(self) -> dict[str, MediaRoom]:
        return dict(self._rooms)

    def _room_empty(self, room: MediaRoom) -> None:
        if self._rooms.get(room.room_id) is room:
            del self._rooms[room.room_id]

    def stats(self) -> dict[str, Any]:
        """Totals for /metrics: rooms, peers and forwarding counters."""
        totals: dict[str, Any] = {"rooms": len(self._rooms), "peers": 0}
        for room in self._rooms.values():
            for key, value in room.stats().items():
                totals[key] = totals.get(key, 0) + value
        return totals

    async def close(self) -> None:
        """Close every room and peer connection (idempotent)."""
        rooms, self._rooms = list(self._rooms.values()), {}
        for room in rooms:
            await room.close()
