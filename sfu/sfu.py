"""The registry of media rooms of one SFU node."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from sfu import rate_counter
from sfu.compat import check_aiortc
from sfu.compiled_ingress import ingress_path
from sfu.config import SFUConfig
from sfu.egress import egress_path
from sfu.fanout_timing import FanoutTiming
from sfu.forwarder import FirstForwardCallback
from sfu.media_room import MediaRoom, SpeakerCallback
from sfu.traffic import Traffic, TrafficLedger

logger = logging.getLogger(__name__)


class SFU:
    """Every media room (and so every peer connection) of this process; closed together."""

    def __init__(self, config: SFUConfig | None = None) -> None:
        check_aiortc()
        rate_counter.install()  # fewer objects for the garbage collector to walk (issue 18)
        self.config = config or SFUConfig()
        logger.info(
            "forwarding path: %s",
            egress_path(
                direct_send=self.config.direct_send,
                compiled=self.config.compiled_egress,
                fanout=self.config.compiled_fanout,
            ),
        )
        logger.info("receive path: %s", ingress_path(self.config.compiled_ingress))
        self._rooms: dict[str, MediaRoom] = {}
        #: Told when a room's active speaker changes (set by the owner before rooms exist).
        self.on_active_speaker: SpeakerCallback | None = None
        #: Told (kind, seconds) when a new subscription forwards its first packet (same rule).
        self.on_first_forward: FirstForwardCallback | None = None
        #: Every track this node ever carried: live ones read now, closed ones folded in.
        self.traffic = TrafficLedger(per_track=False)
        #: How long this node's fan-outs take (the pacer's send cost, /metrics).
        self.fanout_timing = FanoutTiming()

    def room(self, room_id: str) -> MediaRoom:
        """The media room ``room_id``, created on first use."""
        room = self._rooms.get(room_id)
        if room is None:
            room = MediaRoom(
                room_id,
                self.config,
                self._room_empty,
                on_active_speaker=self.on_active_speaker,
                node_traffic=self.traffic,
                on_first_forward=self.on_first_forward,
                fanout_timing=self.fanout_timing,
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
        """For /metrics: rooms, peers and subscriptions now; traffic since start (never
        decreases: the figures of closed peers are kept)."""
        rooms = list(self._rooms.values())
        return {
            "rooms": len(rooms),
            "peers": sum(len(r.peers) for r in rooms),
            "subscriptions": sum(p.active_subscriptions for r in rooms for p in r.peers.values()),
            **asdict(self.total_traffic()),
        }

    def total_traffic(self) -> Traffic:
        """Everything forwarded since start, by this node's every room, ended or not."""
        return self.traffic.total()

    async def close(self) -> None:
        """Close every room and peer connection (idempotent)."""
        rooms, self._rooms = list(self._rooms.values()), {}
        for room in rooms:
            await room.close()
