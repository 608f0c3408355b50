"""Each participant's shopping permissions (the wire's ``may``), kept current on its session.

The permissions follow from the participant's role and the room's carousel mode, remote holder,
vote round and products (rooms.shopping.permissions). A session keeps those inputs current from
its snapshots and room events, and sends ``may`` again only when the result changes, so the
client shows exactly what the server will accept without a rule of its own. (A holder leaving
frees the remote without an event of its own, but that changes nobody else's permissions: they
depend on whether *you* hold it.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rooms import events as room_events
from rooms.events import EventBody
from rooms.models import Participant
from rooms.shopping import RemoteMode, ShoppingPermissions, VoteRound, permissions
from rooms.shopping_state import ShoppingSnapshot
from signaling import protocol as wire


class MayTracker:
    """The inputs of one participant's permissions, and the permissions last computed."""

    def __init__(
        self,
        participant: Participant,
        shopping: ShoppingSnapshot,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._participant = participant
        self._clock = clock
        self._mode = shopping.carousel.mode
        self._holder = shopping.carousel.holder
        self._round = None if shopping.round is None else shopping.round.round
        self._product_ids = shopping.catalog.catalog.product_ids
        self.current = self._compute()

    def apply(self, body: EventBody) -> ShoppingPermissions | None:
        """Take one room event into account; the new permissions if they changed, else None."""
        match body:
            case room_events.CarouselChanged(carousel=carousel):
                self._mode, self._holder = RemoteMode(carousel.mode), carousel.holder
            case room_events.VoteRoundOpened(round=round) | room_events.VoteRoundClosed(
                round=round
            ):
                self._round = VoteRound.from_dict(round.model_dump())
            case _:
                return None
        now = self._compute()
        if now == self.current:
            return None
        self.current = now
        return now

    def _compute(self) -> ShoppingPermissions:
        return permissions(
            self._participant.role,
            self._participant.id,
            mode=self._mode,
            holder=self._holder,
            round=self._round,
            product_ids=self._product_ids,
            now=self._clock(),
        )


def may_info(may: ShoppingPermissions) -> wire.MayInfo:
    """Permissions as the wire shows them."""
    return wire.MayInfo.model_validate(may.to_dict())
