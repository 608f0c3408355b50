"""Everything one running signaling node owns: store, SFU, event hubs, sockets, counters."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import WSCloseCode

from rooms.factory import open_store
from rooms.store import RoomStore
from sfu import SFU, SFUConfig
from signaling.auth import TokenAuthority
from signaling.hub import RoomHubs
from signaling.metrics import Counters
from signaling.settings import Settings

if TYPE_CHECKING:
    from signaling.session import Session

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Node:
    """The node's shared services; created at start-up, closed (children first) on shutdown."""

    settings: Settings
    store: RoomStore
    sfu: SFU
    auth: TokenAuthority
    hubs: RoomHubs
    sessions: set[Session] = field(default_factory=set)
    counters: Counters = field(default_factory=Counters)
    _closed: bool = False

    @classmethod
    async def open(cls, settings: Settings) -> Node:
        """Build the SFU and the store from ``settings`` (raises IncompatibleAiortc)."""
        sfu = SFU(
            SFUConfig(
                keyframe_request_interval=settings.pli_interval,
                allow_h264=settings.allow_h264,
                direct_send=settings.direct_send,
            )
        )
        try:
            store = open_store(settings.redis_url, default_capacity=settings.room_capacity)
        except BaseException:
            await sfu.close()
            raise
        return cls(
            settings=settings,
            store=store,
            sfu=sfu,
            auth=TokenAuthority(settings.secret),
            hubs=RoomHubs(store),
        )

    def joined_sessions(self) -> list[Session]:
        """Sockets currently in a room."""
        return [s for s in self.sessions if s.room_id is not None]

    async def close_sessions(self, reason: str) -> None:
        """Take every socket out of its room and close it with ``reason`` (going away)."""
        sessions = list(self.sessions)
        if sessions:
            log.info("closing %d sockets: %s", len(sessions), reason)
        await asyncio.gather(
            *(s.close(reason, code=WSCloseCode.GOING_AWAY) for s in sessions)
        )

    async def close(self) -> None:
        """Close sockets, subscriptions, the SFU and the store, in that order (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self.close_sessions("server shutting down")
        await self.hubs.close()
        await self.sfu.close()
        await self.store.close()
