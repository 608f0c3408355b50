"""Audience interactions folded into one count (sans-IO): a live room's viewers are sent a
``reaction_counts`` message per interval instead of one event per click (signaling.audience_feed).

Reactions are counted per emoji (and per product) since the last batch; votes replace the
tallies with the latest, since each vote event carries every product's tally after it; the
audience's own size replaces its viewers' joins and leaves (signaling.audience_roster).
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from rooms import events as room_events
from rooms.event_shapes import TallyInfo
from rooms.models import RoomEvent
from rooms.shopping_state import shortlist_dicts
from signaling import protocol as wire
from signaling.events import shortlist_of

FOLDED: Final = (room_events.Reaction, room_events.VoteCast, room_events.VoteRetracted)
"""Kinds a live room's viewer is sent only folded into ``reaction_counts`` (its own aside)."""

UNSENT: Final = (room_events.HandRaised,)
"""Kinds a live room's viewer is not sent at all but its own (the others' raised hands are
the hosts' business)."""


def is_folded(event: RoomEvent) -> bool:
    """Whether ``event`` reaches the audience folded (or not at all) rather than as itself."""
    return isinstance(event.body, (*FOLDED, *UNSENT))


def actor_of(event: RoomEvent) -> str | None:
    """Whose a folded event is (a viewer still gets its own reactions, votes, join and
    leave)."""
    body = event.body
    if isinstance(body, room_events.Reaction | room_events.ParticipantLeft
                  | room_events.HandRaised):
        return body.participant_id
    if isinstance(body, room_events.ParticipantJoined):
        return body.participant.id
    if isinstance(body, room_events.VoteCast | room_events.VoteRetracted):
        return body.vote.participant_id
    return None


class ReactionBatch:
    """Reactions and the latest tallies since the last ``take``."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._reactions: Counter[str] = Counter()
        self._by_product: dict[str, Counter[str]] = {}
        self._tallies: dict[str, TallyInfo] | None = None
        self._votes = 0
        self._up_to = 0
        self._audience: int | None = None

    def __bool__(self) -> bool:
        return bool(self._reactions) or self._tallies is not None or self._audience is not None

    def set_audience(self, count: int, seq: int) -> None:
        """The audience counts ``count`` viewers as of event ``seq``."""
        self._audience = count
        self._up_to = max(self._up_to, seq)

    def fold(self, event: RoomEvent) -> bool:
        """Count ``event`` in if it is a folded kind; False (ignored) otherwise."""
        body = event.body
        if isinstance(body, room_events.Reaction):
            self._reactions[body.emoji] += 1
            if body.product_id is not None:
                self._by_product.setdefault(body.product_id, Counter())[body.emoji] += 1
        elif isinstance(body, room_events.VoteCast | room_events.VoteRetracted):
            self._tallies = dict(body.tallies)
            self._votes += 1
        else:
            return False
        self._up_to = max(self._up_to, event.seq)
        return True

    def take(self) -> wire.ReactionCounts | None:
        """The batch as one message, and start a new one; None when nothing was folded."""
        if not self:
            return None
        tallies = self._tallies
        message = wire.ReactionCounts.model_validate({
            "up_to_seq": self._up_to,
            "reactions": dict(self._reactions),
            "by_product": {pid: dict(c) for pid, c in self._by_product.items()},
            "votes": self._votes,
            "tallies": tallies,
            "shortlist": None if tallies is None else shortlist_dicts(shortlist_of(tallies)),
            "audience_count": self._audience,
        })
        self._reset()
        return message
