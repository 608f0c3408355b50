"""The audience roster (sans-IO): seeded from snapshots, kept by events, never far off."""

from __future__ import annotations

from rooms import events
from rooms.event_shapes import ParticipantInfo
from rooms.memory_shop import RoomShop
from rooms.models import Participant, Role, RoomEvent, RoomInfo, RoomKind, RoomSnapshot
from rooms.shopping_state import ShoppingSnapshot
from signaling.audience_roster import AudienceRoster
from tests.catalogs import SHOP


def snapshot(seq: int, *people: Participant, kind: RoomKind = RoomKind.LIVE) -> RoomSnapshot:
    shop: ShoppingSnapshot = RoomShop(SHOP).snapshot()
    info = RoomInfo("r", kind=kind, participant_count=len(people))
    return RoomSnapshot(info, seq, tuple(people), shop)


def joined(seq: int, pid: str, role: Role) -> RoomEvent:
    info = ParticipantInfo.of(Participant(pid, pid, role))
    return RoomEvent("r", seq, events.ParticipantJoined(participant=info))


def left(seq: int, pid: str) -> RoomEvent:
    return RoomEvent("r", seq, events.ParticipantLeft(participant_id=pid, reason="left"))


HOST = Participant("h", "h", Role.HOST)


def test_viewers_joining_and_leaving_a_live_room_are_folded() -> None:
    roster = AudienceRoster()
    roster.seed(snapshot(1, HOST))
    assert roster.apply(joined(2, "v1", Role.VIEWER))
    assert not roster.apply(joined(3, "g", Role.GUEST))
    assert roster.apply(joined(4, "v2", Role.VIEWER)) and roster.count == 2
    assert roster.apply(left(5, "v1")) and roster.count == 1
    assert not roster.apply(left(6, "g"))
    moved = RoomEvent("r", 7, events.RoleChanged(participant_id="v2", role="guest", by="h"))
    assert not roster.apply(moved) and roster.count == 0


def test_a_group_room_folds_nothing() -> None:
    roster = AudienceRoster()
    roster.seed(snapshot(1, HOST, kind=RoomKind.GROUP))
    assert not roster.apply(joined(2, "v1", Role.VIEWER))
    assert not roster.apply(left(3, "v1"))


def test_a_snapshot_newer_than_the_events_read_so_far_does_not_drift() -> None:
    roster = AudienceRoster()
    v1, v2 = Participant("v1", "v1", Role.VIEWER), Participant("v2", "v2", Role.VIEWER)
    roster.seed(snapshot(1, HOST))
    # v1 joins (2) and leaves (3), v2 joins (4); a joiner's snapshot at 4 arrives first.
    roster.seed(snapshot(4, HOST, v2))
    assert roster.count == 1
    for event in (joined(2, "v1", Role.VIEWER), left(3, "v1"), joined(4, "v2", Role.VIEWER)):
        roster.apply(event)
    assert roster.count == 1
    # An older snapshot than the events applied is ignored.
    roster.seed(snapshot(2, HOST, v1, v2))
    assert roster.count == 1
    # So is a viewer's, which lists only the stage and itself.
    v3 = Participant("v3", "v3", Role.VIEWER)
    partial = snapshot(9, HOST, v3)
    roster.seed(RoomSnapshot(RoomInfo("r", kind=RoomKind.LIVE, participant_count=5), 9,
                             partial.participants, partial.shopping))
    assert roster.count == 1
