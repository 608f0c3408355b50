"""Closing a room's vote round at its deadline, so every participant hears ``vote_round_closed``.

A round past ``closes_at`` is closed for the store whether or not anyone says so (votes are
checked against the deadline); this only makes the close an event. Every node with members in
the room runs a RoundCloser; the store closes a round once, the other nodes get None.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from rooms.errors import NotInRoom, RoomClosed
from rooms.event_shapes import RoundInfo
from rooms.store import RoomStore

log = logging.getLogger(__name__)


class RoundCloser:
    """Waits for the open round's deadline, then asks the store to close it (one owned task)."""

    def __init__(
        self, store: RoomStore, room_id: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.room_id = room_id
        self._store = store
        self._clock = clock
        self._round: tuple[int, float] | None = None  # (id, closes_at) of the open round
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"round-closer:{room_id}")

    def watch(self, round: RoundInfo | None) -> None:
        """The room's latest round (or None), from an event or a snapshot."""
        if round is None or round.state != "open":
            if round is None or self._round is None or self._round[0] == round.id:
                self._round = None
        else:
            self._round = (round.id, round.closes_at)
        self._changed.set()

    @property
    def deadline(self) -> float | None:
        """When the watched round closes, if one is open."""
        return None if self._round is None else self._round[1]

    async def close(self) -> None:
        """Stop waiting (idempotent)."""
        self._task.cancel()
        await asyncio.wait([self._task])

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            target = self._round
            if target is None:
                await self._changed.wait()
                continue
            round_id, closes_at = target
            try:
                async with asyncio.timeout(max(0.0, closes_at - self._clock())):
                    await self._changed.wait()
                continue  # a newer round (or a close) arrived first
            except TimeoutError:
                pass
            if self._round != target:
                continue
            self._round = None
            try:
                await self._store.close_vote_round(
                    self.room_id, by=None, round_id=round_id, reason="deadline"
                )
            except (RoomClosed, NotInRoom):
                return
            except Exception:
                log.exception("room %s: closing vote round %d failed", self.room_id, round_id)
