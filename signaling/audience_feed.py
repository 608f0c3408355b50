"""A live room's audience interactions at a bounded rate: this node's viewers in the room get
one ``reaction_counts`` per interval (signaling.reaction_batch) instead of an event per click,
so a thousand viewers reacting cost each viewer a few messages a second, not thousands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Set
from typing import Protocol

from rooms.models import RoomEvent, RoomSnapshot
from signaling import protocol as wire
from signaling.audience_roster import AudienceRoster
from signaling.reaction_batch import ReactionBatch, is_folded

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.25
"""Seconds between two ``reaction_counts`` to one viewer at most (COSHOP_REACTION_INTERVAL)."""


class AudienceMember(Protocol):
    """A local socket that may sit in a live room's audience (a signaling session)."""

    @property
    def in_audience(self) -> bool:
        """Whether it is sent folded counts instead of others' reactions, votes, joins and
        leaves."""
        ...

    @property
    def member_id(self) -> str | None:
        """Its participant id (it still gets its own folded events), None if not joined."""
        ...

    def deliver_counts(self, message: wire.ReactionCounts, text: str) -> None:
        """Send ``message`` (already dumped as ``text``); must not block."""
        ...


class AudienceFeed:
    """Folds one room's reactions and votes and sends them to the audience members among
    ``members`` at most every ``interval`` seconds: the first right away, later ones once the
    interval since the previous send is over. One owned task, ended by ``close``."""

    def __init__(
        self, room_id: str, members: Set[AudienceMember], *, interval: float = DEFAULT_INTERVAL
    ) -> None:
        self.room_id = room_id
        self.sent = 0
        """``reaction_counts`` batches sent (to however many members)."""
        self._members = members
        self._interval = interval
        self._batch = ReactionBatch()
        self.roster = AudienceRoster()
        self._pending = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"audience-feed:{room_id}")

    def fold(self, event: RoomEvent) -> bool:
        """Count the room's ``event`` in; True if the audience gets it only folded (but the
        one whose event it is: reaction_batch.actor_of)."""
        before = self.roster.count
        joined_or_left = self.roster.apply(event)
        folded = self._batch.fold(event) or joined_or_left or (
            self.roster.live and is_folded(event)
        )
        if joined_or_left or self.roster.count != before:
            self._batch.set_audience(self.roster.count, event.seq)
        if folded or self.roster.count != before:
            self._pending.set()
        return folded

    def seed(self, snapshot: RoomSnapshot) -> None:
        """A member saw the room in ``snapshot``: the roster starts from it (if recent)."""
        before = self.roster.count
        self.roster.seed(snapshot)
        if self.roster.count != before:
            self._batch.set_audience(self.roster.count, snapshot.seq)
            self._pending.set()

    async def close(self) -> None:
        """Stop the task (idempotent); what is still folded is dropped with the room."""
        self._task.cancel()
        await asyncio.wait([self._task])

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                self._flush()
            except Exception:
                # A bug must not end the feed: the next batch is tried at the next interval.
                log.exception("room %s: sending reaction counts failed", self.room_id)
            await asyncio.sleep(self._interval)

    def _flush(self) -> None:
        message = self._batch.take()
        audience = [m for m in tuple(self._members) if m.in_audience]
        if message is None or not audience:
            return
        text = wire.dump(message)
        for member in audience:
            member.deliver_counts(message, text)
        self.sent += 1
