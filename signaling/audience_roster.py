"""Who sits in a live room's audience, as one node sees it (sans-IO): seeded from snapshots,
kept by the room's events. The audience is not sent each other's joins and leaves (that
would be one message per viewer per viewer); it gets the count (signaling.audience_feed).
"""

from __future__ import annotations

from rooms import events as room_events
from rooms.models import Role, RoomEvent, RoomKind, RoomSnapshot


class AudienceRoster:
    """The viewer ids of a room's audience, and whether it is a live room."""

    def __init__(self) -> None:
        self.live = False
        """Whether the room is live (a snapshot says; until then nothing is folded)."""
        self._viewers: set[str] = set()
        self._seen = 0  # the highest seq applied or seeded

    @property
    def count(self) -> int:
        return len(self._viewers)

    def seed(self, snapshot: RoomSnapshot) -> None:
        """Take ``snapshot``'s audience unless an event newer than it was applied already
        (or it does not list the whole audience).
        Events up to its seq may still come (the hub reads them after the snapshot was
        taken); applied in order they lead to the same set, so nothing drifts for long."""
        self.live = snapshot.room.kind is RoomKind.LIVE
        listed = len(snapshot.participants) == snapshot.room.participant_count
        if snapshot.seq < self._seen or not listed:
            return  # older than what was applied, or a viewer's (the audience not listed)
        self._viewers = {p.id for p in snapshot.participants if p.role is Role.VIEWER}
        self._seen = snapshot.seq

    def apply(self, event: RoomEvent) -> bool:
        """Keep the roster up to date with ``event``; True if it is a viewer joining or
        leaving a live room (an event the audience gets only as the count)."""
        self._seen = max(self._seen, event.seq)
        body = event.body
        if isinstance(body, room_events.ParticipantJoined):
            if body.participant.role == "viewer":
                self._viewers.add(body.participant.id)
                return self.live
        elif isinstance(body, room_events.ParticipantLeft):
            if body.participant_id in self._viewers:
                self._viewers.discard(body.participant_id)
                return self.live
        elif isinstance(body, room_events.RoleChanged):
            # Everyone sees a move to or from the stage; the count follows it.
            if body.role == "viewer":
                self._viewers.add(body.participant_id)
            else:
                self._viewers.discard(body.participant_id)
        return False
