"""Host controls from a participant's socket, and the audience's raised hand: one RoomStore
operation each (rooms.moderation decides who may).

The store publishes each change as a room event, which reaches every socket of every node in
the room; nothing is answered here but errors.
"""

from __future__ import annotations

from rooms.models import Participant, Role
from rooms.store import RoomStore
from signaling import protocol as wire

ModerationRequest = (
    wire.Mute
    | wire.Remove
    | wire.Ban
    | wire.SetRole
    | wire.SetSlowMode
    | wire.HideChat
    | wire.RaiseHand
)


async def perform(
    store: RoomStore, room_id: str, you: Participant, request: ModerationRequest
) -> None:
    """Apply one host control (or raised hand) of participant ``you``; raises the store's
    named errors, which the session reports as error codes."""
    me = you.id
    match request:
        case wire.Mute(participant_id=target, kind=kind):
            await store.mute(room_id, target, kind, by=me)
        case wire.Remove(participant_id=target):
            await store.remove_participant(room_id, target, by=me)
        case wire.Ban(participant_id=target):
            await store.ban(room_id, target, by=me)
        case wire.SetRole(participant_id=target, role=role):
            await store.set_role(room_id, target, Role(role), by=me)
        case wire.SetSlowMode(seconds=seconds):
            await store.set_slow_mode(room_id, seconds, by=me)
        case wire.HideChat(seq=seq):
            await store.hide_chat(room_id, seq, by=me)
        case wire.RaiseHand(raised=raised):
            await store.raise_hand(room_id, me, raised)
