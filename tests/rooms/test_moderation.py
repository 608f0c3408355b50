"""Host controls on both stores (RoomStore contract; rules in rooms.moderation)."""

from __future__ import annotations

import asyncio

import pytest

from rooms import NotInRoom, Participant, RedisStore, Role, RoomFull, RoomStore, events
from rooms.errors import Banned, Forbidden, SlowMode
from rooms.models import RoomKind
from rooms.moderation import check_slow_mode, slow_mode_wait
from tests.rooms.conftest import Clock, make_redis_store


def person(pid: str, role: Role = Role.GUEST) -> Participant:
    return Participant(id=pid, name=f"name of {pid}", role=role)


async def live_room(store: RoomStore, *, capacity: int = 2) -> None:
    await store.create_room("show", kind=RoomKind.LIVE, capacity=capacity, audience_capacity=10)
    await store.join("show", person("host", Role.HOST))
    await store.join("show", person("guest"))
    await store.join("show", person("v1", Role.VIEWER))
    await store.join("show", person("v2", Role.VIEWER))


def test_slow_mode_rules() -> None:
    assert slow_mode_wait(0, Role.VIEWER, 100.0, 100.5) is None
    assert slow_mode_wait(5, Role.VIEWER, None, 100.0) is None
    assert slow_mode_wait(5, Role.VIEWER, 100.0, 102.0) == 3.0
    assert slow_mode_wait(5, Role.VIEWER, 100.0, 105.0) is None
    assert slow_mode_wait(5, Role.HOST, 100.0, 101.0) is None
    for bad in (-1, 3601, float("nan"), True, "5"):
        with pytest.raises(ValueError):
            check_slow_mode(bad)  # type: ignore[arg-type]


async def test_only_hosts_moderate(store: RoomStore) -> None:
    await live_room(store)
    await store.post_chat("show", "v1", "hello")
    seq = (await store.snapshot("show")).seq
    refusals = [
        store.mute("show", "v2", "audio", by="guest"),
        store.remove_participant("show", "v2", by="v1"),
        store.ban("show", "v2", by="guest"),
        store.set_role("show", "v2", Role.GUEST, by="v1"),
        store.set_slow_mode("show", 5, by="guest"),
        store.hide_chat("show", seq, by="v2"),
    ]
    for refusal in refusals:
        with pytest.raises(Forbidden):
            await refusal
    after = await store.snapshot("show")
    assert after.seq == seq and len(after.participants) == 4 and after.room.slow_mode == 0


async def test_mute_tells_the_room(store: RoomStore) -> None:
    await live_room(store)
    async with store.subscribe("show") as sub:
        event = await store.mute("show", "guest", "video", by="host")
        assert event.body == events.ParticipantMuted(
            participant_id="guest", kind="video", by="host"
        )
        assert (await anext(aiter(sub))) == event
    api = await store.mute("show", "guest", "audio", by=None)
    assert api.body.by is None and api.seq == event.seq + 1
    with pytest.raises(NotInRoom):
        await store.mute("show", "nobody", "audio", by="host")


async def test_remove_takes_a_participant_out(store: RoomStore) -> None:
    await live_room(store)
    event = await store.remove_participant("show", "v1", by="host")
    assert event.body == events.ParticipantLeft(participant_id="v1", reason="removed")
    snapshot = await store.snapshot("show")
    assert [p.id for p in snapshot.participants] == ["host", "guest", "v2"]
    assert snapshot.room.audience_count == 1
    # Removed, not banned: they may come back.
    await store.join("show", person("v1", Role.VIEWER))
    with pytest.raises(NotInRoom):
        await store.remove_participant("show", "nobody", by="host")
    with pytest.raises(Forbidden):
        await store.remove_participant("show", "host", by="host")


async def test_a_banned_identity_never_comes_back(store: RoomStore) -> None:
    await live_room(store)
    async with store.subscribe("show") as sub:
        banned = await store.ban("show", "v1", by="host")
        stream = aiter(sub)
        left = await anext(stream)
        assert left.body == events.ParticipantLeft(participant_id="v1", reason="banned")
        assert await anext(stream) == banned
    assert banned.body == events.ParticipantBanned(participant_id="v1", by="host")
    assert banned.seq == left.seq + 1
    with pytest.raises(Banned):
        await store.join("show", person("v1", Role.VIEWER))
    with pytest.raises(Banned):
        await store.join("show", person("v1", Role.GUEST))
    # An identity not in the room may be banned ahead.
    await store.ban("show", "troll", by=None)
    with pytest.raises(Banned):
        await store.join("show", person("troll", Role.VIEWER))
    snapshot = await store.snapshot("show")
    assert "v1" not in {p.id for p in snapshot.participants}
    assert snapshot.room.audience_count == 1


async def test_invite_to_the_stage_and_back(store: RoomStore) -> None:
    await live_room(store, capacity=3)
    up = await store.set_role("show", "v1", Role.GUEST, by="host")
    assert up.body == events.RoleChanged(participant_id="v1", role="guest", by="host")
    snapshot = await store.snapshot("show")
    [v1] = [p for p in snapshot.participants if p.id == "v1"]
    assert v1.role is Role.GUEST and snapshot.room.audience_count == 1
    # joined_at is kept exactly: the session's own leave still matches.
    [before] = [p for p in (await store.snapshot("show")).participants if p.id == "v2"]
    # The stage (host, guest, v1) is full now.
    with pytest.raises(RoomFull):
        await store.set_role("show", "v2", Role.GUEST, by="host")
    # A guest steps down by itself; a viewer may not step up by itself.
    down = await store.set_role("show", "v1", Role.VIEWER, by="v1")
    assert down.body.role == "viewer"
    with pytest.raises(Forbidden):
        await store.set_role("show", "v1", Role.GUEST, by="v1")
    with pytest.raises(Forbidden):
        await store.set_role("show", "v2", Role.HOST, by="host")
    up2 = await store.set_role("show", "v2", Role.GUEST, by=None)
    assert up2.body.by is None
    assert await store.leave("show", "v2", reason="left", joined_at=before.joined_at) is not None
    snapshot = await store.snapshot("show")
    assert snapshot.room.audience_count == 1 and len(snapshot.participants) == 3


async def test_stage_moves_need_a_live_room(store: RoomStore) -> None:
    await store.join("friends", person("host", Role.HOST))
    await store.join("friends", person("v", Role.VIEWER))
    with pytest.raises(Forbidden):
        await store.set_role("friends", "v", Role.GUEST, by="host")


async def test_slow_mode(store: RoomStore, clock: Clock) -> None:
    await live_room(store)
    event = await store.set_slow_mode("show", 10, by="host")
    assert event.body == events.SlowModeChanged(seconds=10.0, by="host")
    assert (await store.snapshot("show")).room.slow_mode == 10
    await store.post_chat("show", "v1", "first")
    with pytest.raises(SlowMode) as wait:
        await store.post_chat("show", "v1", "too soon")
    assert 9 <= wait.value.retry_after <= 10
    await store.post_chat("show", "v2", "someone else may")
    await store.post_chat("show", "host", "hosts are never slowed")
    await store.post_chat("show", "host", "never")
    clock.advance(10.5)
    await store.post_chat("show", "v1", "later")
    await store.set_slow_mode("show", 0, by=None)
    await store.post_chat("show", "v1", "off again")
    texts = [m.text for m in (await store.snapshot("show")).shopping.chat]
    assert "too soon" not in texts and texts[-1] == "off again"


async def test_hide_a_chat_message(store: RoomStore) -> None:
    await live_room(store)
    first = await store.post_chat("show", "v1", "buy crypto")
    await store.post_chat("show", "v2", "nice shirt")
    hidden = await store.hide_chat("show", first.seq, by="host")
    assert hidden is not None
    assert hidden.body == events.ChatHidden(message_seq=first.seq, by="host")
    assert [m.text for m in (await store.snapshot("show")).shopping.chat] == ["nice shirt"]
    assert await store.hide_chat("show", first.seq, by="host") is None


@pytest.mark.redis
async def test_a_ban_made_on_one_node_holds_on_the_other(
    redis_url: str, redis_namespace: str
) -> None:
    nodes: list[RedisStore] = [make_redis_store(redis_url, redis_namespace) for _ in range(2)]
    try:
        await live_room(nodes[0])
        await nodes[0].ban("show", "v2", by="host")
        with pytest.raises(Banned):
            await nodes[1].join("show", person("v2", Role.VIEWER))
        # Two hosts inviting two viewers to the one free stage seat at once: one wins.
        await nodes[1].join("show", person("v3", Role.VIEWER))
        await nodes[0].remove_participant("show", "guest", by="host")
        results = await asyncio.gather(
            nodes[0].set_role("show", "v1", Role.GUEST, by="host"),
            nodes[1].set_role("show", "v3", Role.GUEST, by=None),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["RoomEvent", "RoomFull"]
    finally:
        for store in nodes:
            await store.close()


async def test_raised_hands_are_kept_until_lowered_or_moved(store: RoomStore) -> None:
    await live_room(store, capacity=3)
    raised = await store.raise_hand("show", "v1", True)
    assert raised is not None
    assert raised.body == events.HandRaised(participant_id="v1", raised=True)
    assert await store.raise_hand("show", "v1", True) is None  # already up: no event
    await store.raise_hand("show", "v2", True)
    assert (await store.snapshot("show")).room.raised_hands == ("v1", "v2")
    with pytest.raises(Forbidden):
        await store.raise_hand("show", "guest", True)
    lowered = await store.raise_hand("show", "v2", False)
    assert lowered is not None and lowered.body.raised is False
    # Brought up to the stage: the hand goes down with it.
    await store.set_role("show", "v1", Role.GUEST, by="host")
    assert (await store.snapshot("show")).room.raised_hands == ()
    await store.set_role("show", "v1", Role.VIEWER, by="host")  # back down: still lowered
    assert (await store.snapshot("show")).room.raised_hands == ()
    # A leaver is not listed; coming back starts with the hand down.
    await store.raise_hand("show", "v2", True)
    await store.leave("show", "v2", reason="left")
    assert (await store.snapshot("show")).room.raised_hands == ()
    snapshot, _ = await store.join("show", person("v2", Role.VIEWER))
    assert snapshot.room.raised_hands == ()
