"""A host's mute with real media (aiortc peers answering over the socket): the muted microphone
or camera is no longer forwarded to anyone, later joiners included, whatever its client does,
until it says it is on again; the muted participant is told."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from signaling import protocol as wire
from tests.helpers import wait_for
from tests.participant import Participant
from tests.signaling.conftest import Client

pytestmark = pytest.mark.media

Participants = Callable[..., Awaitable[Participant]]


async def _stage(client: Client, participants: Participants) -> tuple[Participant, ...]:
    created = await client.post("/api/rooms", json={"id": "show", "kind": "live"})
    assert created.status == 201
    minted = await client.post("/api/rooms/show/tokens", json={"name": "hana", "role": "host"})
    host_token = (await minted.json())["token"]
    host, guest = await participants("hana", 0), await participants("gus", 1)
    viewer = await participants("vic", 2, publish=False)
    await host.join("show", token=host_token)
    await guest.join("show")
    await viewer.join("show", role="viewer")
    await wait_for(lambda: viewer.peer.video_from(guest.id).frames > 5, timeout=20,
                   message="the viewer decodes the guest")
    await wait_for(lambda: viewer.peer.packets_from(guest.id, "audio") > 10, timeout=20,
                   message="the viewer gets the guest's audio")
    return host, guest, viewer


async def _stalls(who: Participant, source: str, kind: str) -> bool:
    """Whether ``who`` gets none of ``source``'s ``kind`` packets for a second (after
    letting what was already in flight land)."""
    await asyncio.sleep(0.5)
    before = who.peer.packets_from(source, kind)
    await asyncio.sleep(1.0)
    return who.peer.packets_from(source, kind) == before


def _told(who: Participant, kind: str, target: str) -> bool:
    return any(isinstance(m, wire.ParticipantMuted) and m.kind == kind
               and m.participant_id == target for m in who.events)


@pytest.mark.parametrize("kind", ["audio", "video"])
async def test_a_muted_track_is_forwarded_to_nobody_until_it_is_on_again(
    client: Client, participants: Participants, kind: str
) -> None:
    host, guest, viewer = await _stage(client, participants)
    # The guest's client ignores the mute and keeps sending: the server stops forwarding.
    await host.ws.send({"type": "mute", "participant_id": guest.id, "kind": kind})
    await wait_for(lambda: _told(guest, kind, guest.id), timeout=10,
                   message="the muted participant is not told")
    assert await _stalls(viewer, guest.id, kind), f"the muted {kind} still reaches the viewer"
    assert await _stalls(host, guest.id, kind), f"the muted {kind} still reaches the host"
    other = "video" if kind == "audio" else "audio"
    assert not await _stalls(viewer, guest.id, other), f"muting {kind} stopped {other} too"
    # Its media_state says it is off, for everyone.
    await wait_for(lambda: any(
        isinstance(m, wire.MediaStateChanged) and m.participant_id == guest.id
        and not getattr(m, kind) for m in viewer.events), timeout=10)

    # Someone joining while it is muted does not get it either (the mute is the SFU's).
    late = await participants("lea", 3, publish=False)
    await late.join("show", role="viewer")
    # It is told so in its joined (media_states), not by an event sent to the whole room.
    assert late.joined is not None
    [said] = [m for m in late.joined.media_states if m.participant_id == guest.id]
    assert getattr(said, kind) is False and getattr(said, other) is True
    await wait_for(lambda: late.peer.packets_from(guest.id, other) > 10, timeout=20,
                   message="the late viewer gets nothing of the guest")
    assert late.peer.packets_from(guest.id, kind) == 0
    assert await _stalls(late, guest.id, kind)

    # On again (its own media_state): forwarded again to everyone, video from a keyframe.
    await guest.ws.send({"type": "media_state", "audio": True, "video": True})
    for who in (viewer, late):
        before = who.peer.packets_from(guest.id, kind)
        await wait_for(lambda w=who, b=before: w.peer.packets_from(guest.id, kind) > b + 10,
                       timeout=20, message=f"the guest's {kind} did not come back")
    if kind == "video":
        before = late.peer.video_from(guest.id).frames
        await wait_for(lambda: late.peer.video_from(guest.id).frames > before + 5, timeout=20,
                       message="the late viewer decodes no video after the unmute")
    assert host.errors == guest.errors == viewer.errors == late.errors == []


async def test_a_promoted_guest_comes_back_on_the_stage_with_its_new_resume(
    client: Client, participants: Participants
) -> None:
    created = await client.post("/api/rooms", json={"id": "show", "kind": "live"})
    assert created.status == 201
    minted = await client.post("/api/rooms/show/tokens", json={"name": "hana", "role": "host"})
    host = await participants("hana", 0)
    await host.join("show", token=(await minted.json())["token"])
    viewer = await participants("vic", 1)
    await viewer.join("show", role="viewer")
    assert viewer.joined is not None and viewer.joined.you.role == "viewer"
    await host.ws.send({"type": "set_role", "participant_id": viewer.id, "role": "guest"})

    def promoted() -> wire.Snapshot | None:
        return next((m for m in viewer.events if isinstance(m, wire.Snapshot)
                     and m.you.role == "guest"), None)

    await wait_for(lambda: promoted() is not None, timeout=10)
    snapshot = promoted()
    assert snapshot is not None and snapshot.resume is not None
    # A reload: a new socket that resumes with the credential of the snapshot.
    me = viewer.id
    await viewer.close()
    back = await participants("vic", 1)
    await back.join("show", resume=snapshot.resume)
    assert back.joined is not None
    assert back.joined.you.id == me and back.joined.you.role == "guest"
    # It publishes again: its camera reaches the host.
    await wait_for(lambda: host.peer.video_from(me).frames > 5, timeout=20,
                   message="the resumed guest does not publish")
