"""The RoomStore contract: every test runs on MemoryStore and on RedisStore over a real Redis."""

from __future__ import annotations

import asyncio
import time

import pytest

from rooms import (
    AlreadyJoined,
    EventSubscription,
    NotInRoom,
    Participant,
    Role,
    RoomClosed,
    RoomEvent,
    RoomFull,
    RoomInfo,
    RoomStore,
    SubscriptionLagged,
)
from tests.helpers import take
from tests.rooms.conftest import DEFAULT_CAPACITY, SMALL_BUFFER


def person(pid: str, role: Role = Role.GUEST) -> Participant:
    return Participant(id=pid, name=f"name of {pid}", role=role)


async def drain(subscription: EventSubscription, limit: float = 5.0) -> list[RoomEvent]:
    """Everything the subscription yields until it ends (AssertionError if it does not end)."""
    events: list[RoomEvent] = []
    try:
        async with asyncio.timeout(limit):
            async for event in subscription:
                events.append(event)
    except TimeoutError:
        raise AssertionError(f"subscription did not end; got {events!r}") from None
    return events


async def test_create_get_and_list_rooms(store: RoomStore) -> None:
    assert await store.get_room("b") is None
    assert await store.list_rooms() == []

    before = time.time()
    created = await store.create_room("b", capacity=5)
    assert (created.id, created.capacity, created.closed, created.participant_count) == (
        "b",
        5,
        False,
        0,
    )
    assert before <= created.created_at <= time.time()
    # Idempotent: an existing room keeps its capacity and creation time.
    assert await store.create_room("b", capacity=7) == created
    assert await store.get_room("b") == created

    default = await store.create_room("a")
    assert default.capacity == DEFAULT_CAPACITY
    await store.join("a", person("p1"))
    rooms = await store.list_rooms()
    assert [room.id for room in rooms] == ["a", "b"]
    assert rooms[0] == RoomInfo(
        id="a", capacity=DEFAULT_CAPACITY, created_at=default.created_at, participant_count=1
    )
    assert rooms[1] == created


async def test_join_creates_an_absent_room_with_the_default_capacity(store: RoomStore) -> None:
    snapshot, event = await store.join("fresh", person("p1"))
    assert snapshot.room.capacity == DEFAULT_CAPACITY
    assert snapshot.room.participant_count == 1
    assert await store.get_room("fresh") == snapshot.room
    assert [room.id for room in await store.list_rooms()] == ["fresh"]
    assert (event.seq, snapshot.seq) == (1, 1)


async def test_join_and_leave(store: RoomStore) -> None:
    before = time.time()
    snapshot, event = await store.join("r", person("host", Role.HOST))
    (joined,) = snapshot.participants
    assert (joined.id, joined.name, joined.role) == ("host", "name of host", Role.HOST)
    assert before <= joined.joined_at <= time.time()  # stamped by the store
    assert event == RoomEvent("r", 1, "participant_joined", {"participant": joined.to_dict()})

    snapshot, _ = await store.join("r", person("guest"))
    assert [p.id for p in snapshot.participants] == ["host", "guest"]

    left = await store.leave("r", "host", reason="left")
    assert left == RoomEvent(
        "r", 3, "participant_left", {"participant_id": "host", "reason": "left"}
    )
    assert await store.leave("r", "host", reason="left") is None
    assert await store.leave("r", "nobody", reason="left") is None
    assert await store.leave("no-such-room", "host", reason="left") is None
    after = await store.snapshot("r")
    assert [p.id for p in after.participants] == ["guest"]
    assert after.seq == 3


async def test_snapshot_is_the_state_as_of_its_seq(store: RoomStore) -> None:
    await store.create_room("r", capacity=5)
    for pid in ("p1", "p2", "p3"):
        last, _ = await store.join("r", person(pid))
    assert last == await store.snapshot("r")  # join's snapshot is the state just after it
    await store.leave("r", "p2", reason="disconnected")
    await store.publish("r", "track_published", {"participant_id": "p1", "kind": "video"})

    snapshot = await store.snapshot("r")
    assert snapshot.seq == 5
    assert [p.id for p in snapshot.participants] == ["p1", "p3"]
    assert snapshot.room.participant_count == 2
    assert (snapshot.room.capacity, snapshot.room.closed) == (5, False)
    assert snapshot.participants[0] == last.participants[0]


async def test_seq_grows_by_exactly_one_per_event(store: RoomStore) -> None:
    await store.create_room("r", capacity=2)
    seqs = [
        (await store.join("r", person("a")))[1].seq,
        (await store.publish("r", "reaction", {"emoji": "+1"})).seq,
        (await store.join("r", person("b")))[1].seq,
    ]
    # Failed changes publish nothing and consume no seq.
    with pytest.raises(RoomFull):
        await store.join("r", person("c"))
    with pytest.raises(AlreadyJoined):
        await store.join("r", person("a"))
    assert await store.leave("r", "c", reason="left") is None
    left = await store.leave("r", "a", reason="left")
    assert left is not None
    seqs.append(left.seq)
    seqs.append((await store.close_room("r")).seq)
    assert seqs == [1, 2, 3, 4, 5]
    assert (await store.snapshot("r")).seq == 5


async def test_two_subscribers_get_every_later_event_in_order(store: RoomStore) -> None:
    await store.join("r", person("early"))  # before anyone subscribed: delivered to nobody
    other_room = store.subscribe("other")
    async with store.subscribe("r") as first, store.subscribe("r") as second, other_room:
        sent = [
            (await store.join("r", person("a")))[1],
            await store.publish("r", "track_published", {"participant_id": "a", "kind": "audio"}),
            (await store.join("r", person("b")))[1],
        ]
        left = await store.leave("r", "a", reason="left")
        assert left is not None
        sent.append(left)
        sent.append(await store.publish("r", "chat", {"text": "héllo", "n": [1, 2.5, None]}))
        sent.append(await store.close_room("r"))

        assert [e.seq for e in sent] == [2, 3, 4, 5, 6, 7]
        assert await drain(first) == sent  # ends after room_closed
        assert await drain(second) == sent
        # A room's events never leak into another room's subscription.
        await store.create_room("other")
        probe = await store.publish("other", "probe", {})
        assert await take(other_room, 1) == [probe]


async def test_capacity_is_enforced(store: RoomStore) -> None:
    await store.create_room("r", capacity=2)
    await store.join("r", person("a"))
    await store.join("r", person("b"))
    with pytest.raises(RoomFull):
        await store.join("r", person("c"))
    snapshot = await store.snapshot("r")
    assert [p.id for p in snapshot.participants] == ["a", "b"]
    await store.leave("r", "a", reason="left")
    snapshot, _ = await store.join("r", person("c"))  # a seat came free
    assert [p.id for p in snapshot.participants] == ["b", "c"]


async def test_already_joined_changes_nothing(store: RoomStore) -> None:
    await store.join("r", Participant(id="a", name="first"))
    with pytest.raises(AlreadyJoined):
        await store.join("r", Participant(id="a", name="second"))
    snapshot = await store.snapshot("r")
    assert [(p.id, p.name) for p in snapshot.participants] == [("a", "first")]
    assert snapshot.seq == 1


async def test_close_room_removes_everyone_and_publishes_room_closed(store: RoomStore) -> None:
    await store.join("r", person("a"))
    await store.join("r", person("b"))
    async with store.subscribe("r") as subscription:
        closed = await store.close_room("r")
        assert closed == RoomEvent("r", 3, "room_closed", {})
        assert await drain(subscription) == [closed]

    info = await store.get_room("r")
    assert info is not None
    assert (info.closed, info.participant_count) == (True, 0)
    snapshot = await store.snapshot("r")
    assert (snapshot.participants, snapshot.seq, snapshot.room.closed) == ((), 3, True)
    assert [room.closed for room in await store.list_rooms()] == [True]


async def test_a_closed_room_refuses_every_change(store: RoomStore) -> None:
    await store.join("r", person("a"))
    await store.close_room("r")
    with pytest.raises(RoomClosed):
        await store.join("r", person("b"))
    with pytest.raises(RoomClosed):
        await store.create_room("r")
    with pytest.raises(RoomClosed):
        await store.publish("r", "reaction", {})
    with pytest.raises(RoomClosed):
        await store.close_room("r")
    assert await store.leave("r", "a", reason="left") is None
    assert (await store.snapshot("r")).seq == 2


async def test_unknown_room(store: RoomStore) -> None:
    assert await store.get_room("ghost") is None
    with pytest.raises(NotInRoom):
        await store.snapshot("ghost")
    with pytest.raises(NotInRoom):
        await store.close_room("ghost")
    with pytest.raises(NotInRoom):
        await store.publish("ghost", "reaction", {})
    assert await store.leave("ghost", "a", reason="left") is None
    assert await store.list_rooms() == []  # none of the above created it


@pytest.mark.parametrize("room_id", ["", "x" * 65, "a b", "{r}", "r:1", "ü", "a/b", "r\n"])
async def test_invalid_room_ids_are_refused(store: RoomStore, room_id: str) -> None:
    calls = [
        store.create_room(room_id),
        store.get_room(room_id),
        store.join(room_id, person("a")),
        store.leave(room_id, "a", reason="left"),
        store.snapshot(room_id),
        store.publish(room_id, "reaction", {}),
        store.close_room(room_id),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="invalid room id"):
            await call
    with pytest.raises(ValueError, match="invalid room id"):
        store.subscribe(room_id)
    assert await store.list_rooms() == []


async def test_longest_room_id_is_accepted(store: RoomStore) -> None:
    room_id = "A-z_09" + "x" * 58
    assert len(room_id) == 64
    snapshot, _ = await store.join(room_id, person("a"))
    assert snapshot.room.id == room_id


async def test_publish_rules(store: RoomStore) -> None:
    await store.create_room("r")
    for reserved in ("participant_joined", "participant_left", "room_closed", ""):
        with pytest.raises(ValueError):
            await store.publish("r", reserved, {})
    with pytest.raises(TypeError):
        await store.publish("r", "bad", {"x": object()})
    with pytest.raises(ValueError):
        await store.create_room("s", capacity=0)
    # Data is delivered as JSON sees it, identically in both stores.
    event = await store.publish("r", "vote", {"ids": ("p1", "p2"), "n": 1})
    assert event == RoomEvent("r", 1, "vote", {"ids": ["p1", "p2"], "n": 1})
    assert (await store.snapshot("r")).seq == 1  # the refused publishes consumed nothing


async def test_a_subscriber_that_falls_behind_is_told_it_lagged(store: RoomStore) -> None:
    await store.create_room("r")
    async with store.subscribe("r") as slow:
        total = SMALL_BUFFER * 10
        for n in range(total):
            await store.publish("r", "tick", {"n": n})
        received: list[RoomEvent] = []
        with pytest.raises(SubscriptionLagged):
            async with asyncio.timeout(5):
                async for event in slow:
                    received.append(event)
        assert len(received) < total
        assert [e.data["n"] for e in received] == list(range(len(received)))

    async with store.subscribe("r") as fresh:  # the documented recovery: subscribe again
        tick = await store.publish("r", "tick", {"n": total})
        assert await take(fresh, 1) == [tick]


async def test_closing_the_store_ends_subscriptions(store: RoomStore) -> None:
    await store.create_room("r")
    async with store.subscribe("r") as subscription:
        event = await store.publish("r", "tick", {})
        await store.close()
        await store.close()  # idempotent
        assert await drain(subscription) in ([], [event])
    with pytest.raises(RuntimeError):
        await store.get_room("r")


async def test_subscription_must_be_entered_once(store: RoomStore) -> None:
    subscription = store.subscribe("r")
    with pytest.raises(RuntimeError):
        await anext(aiter(subscription))
    async with subscription:
        pass
    with pytest.raises(StopAsyncIteration):
        await anext(aiter(subscription))
    with pytest.raises(RuntimeError):
        async with subscription:
            pass
