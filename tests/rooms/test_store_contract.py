"""The RoomStore contract: every test runs on MemoryStore and on RedisStore over a real Redis."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

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
    events,
)
from rooms.errors import Forbidden
from rooms.event_shapes import ParticipantInfo
from rooms.events import SHOPPING_TYPES, CustomEvent
from rooms.models import RoomSnapshot
from rooms.shopping import (
    CHAT_HISTORY_SIZE,
    MAX_CHAT_LENGTH,
    BallotBox,
    Carousel,
    CarouselState,
    InvalidChatMessage,
    InvalidReaction,
    Move,
    RemoteMode,
    StaleVersion,
    UnknownProduct,
    Verdict,
    Vote,
    VoteClosed,
    VoteValue,
    shortlist,
    tally,
)
from rooms.shopping_state import (
    ChatMessage,
    RoomCatalog,
    RoundInfo,
    ordered_votes,
    parse_tallies,
)
from tests.catalogs import SHOP, make_catalog
from tests.helpers import take
from tests.rooms.conftest import DEFAULT_CAPACITY, SMALL_BUFFER, Clock


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
    announced = events.ParticipantJoined(participant=ParticipantInfo.of(joined))
    assert event == RoomEvent("r", 1, announced)

    snapshot, _ = await store.join("r", person("guest"))
    assert [p.id for p in snapshot.participants] == ["host", "guest"]

    left = await store.leave("r", "host", reason="left")
    assert left == RoomEvent("r", 3, events.ParticipantLeft(participant_id="host", reason="left"))
    assert await store.leave("r", "host", reason="left") is None
    assert await store.leave("r", "nobody", reason="left") is None
    assert await store.leave("no-such-room", "host", reason="left") is None
    after = await store.snapshot("r")
    assert [p.id for p in after.participants] == ["guest"]
    assert after.seq == 3


async def test_leave_of_an_old_session_never_removes_a_newer_one(store: RoomStore) -> None:
    first, _ = await store.join("r", person("p"))
    old_stamp = first.participants[0].joined_at
    await store.leave("r", "p", reason="disconnected", joined_at=old_stamp)
    await asyncio.sleep(0.01)  # a new stamp
    second, _ = await store.join("r", person("p"))
    new_stamp = second.participants[0].joined_at
    assert new_stamp != old_stamp
    # The old connection's late leave is a no-op: the participant came back.
    assert await store.leave("r", "p", reason="disconnected", joined_at=old_stamp) is None
    assert [p.id for p in (await store.snapshot("r")).participants] == ["p"]
    left = await store.leave("r", "p", reason="left", joined_at=new_stamp)
    assert left is not None and left.data["participant_id"] == "p"
    assert not (await store.snapshot("r")).participants


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
        (await store.publish("r", "custom", {"emoji": "+1"})).seq,
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
        assert closed == RoomEvent("r", 3, events.RoomClosed())
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
        await store.publish("r", "custom", {})
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
        await store.publish("ghost", "custom", {})
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
        store.publish(room_id, "custom", {}),
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
    assert event == RoomEvent("r", 1, CustomEvent(type="vote", data={"ids": ["p1", "p2"], "n": 1}))
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


# --- shopping ------------------------------------------------------------------------------------


async def shop_room(store: RoomStore, *, mode: RemoteMode = RemoteMode.HOST_LED) -> None:
    """Room "s" showing SHOP with host h, guests g1 and g2, viewer v."""
    await store.create_room("s", capacity=10, catalog=SHOP, image_base="/img", remote_mode=mode)
    for pid, role in (("h", Role.HOST), ("g1", Role.GUEST), ("g2", Role.GUEST),
                      ("v", Role.VIEWER)):
        await store.join("s", person(pid, role))


async def unchanged(store: RoomStore, room_id: str = "s") -> RoomSnapshot:
    """The snapshot, to compare after a refused change: a refusal changes nothing."""
    return await store.snapshot(room_id)


async def test_a_room_created_with_a_catalog_shows_it(store: RoomStore) -> None:
    await store.create_room("s", catalog=SHOP, image_base="/img")
    snap = await store.snapshot("s")
    assert snap.seq == 0  # creating a room is not an event
    shop = snap.shopping
    assert shop.catalog == RoomCatalog(0, SHOP, "/img")
    assert shop.carousel == Carousel(CarouselState(SHOP.product_ids, 0, 0), RemoteMode.HOST_LED)
    assert (shop.round, shop.votes, shop.cart, shop.chat) == (None, (), (), ())
    assert await store.room_catalog("s") == shop.catalog
    assert shop.to_dict()["catalog"]["products"][0]["images"] == ["/img/a.svg"]
    # An existing room keeps its catalog and mode.
    await store.create_room("s", catalog=make_catalog({"x": ["x1"]}),
                            remote_mode=RemoteMode.EVERYONE)
    assert (await store.snapshot("s")).shopping == shop
    joined, _ = await store.join("s", person("a"))
    assert joined.shopping == shop
    # A room created bare (or by a join) has an empty catalog.
    await store.join("bare", person("a"))
    bare = (await store.snapshot("bare")).shopping
    assert bare.catalog.catalog.products == () and bare.carousel.state.current is None
    with pytest.raises(NotInRoom):
        await store.room_catalog("nope")


async def test_load_catalog_keeps_what_still_applies(store: RoomStore) -> None:
    await shop_room(store)
    await store.move_carousel("s", Move.GOTO, by="h", product_id="boots", expected_version=0)
    await store.cast_vote("s", Vote("g1", "tee", Verdict.YES, "tee-m"))
    await store.cast_vote("s", Vote("g2", "tee", Verdict.YES, "tee-s"))
    await store.cast_vote("s", Vote("g1", "cap", Verdict.NO))
    await store.add_to_cart("s", by="g1", product_id="tee", variant_id="tee-m")
    await store.add_to_cart("s", by="g1", product_id="tee", variant_id="tee-s")
    await store.add_to_cart("s", by="g2", product_id="cap")
    newer = make_catalog({"boots": ["boots-40"], "tee": ["tee-s"], "hat": ["hat-1"]})

    event = await store.load_catalog("s", newer)
    assert event.type == "catalog_loaded"
    assert event.data == {
        "revision": event.seq,
        "product_count": 3,
        "currency": "USD",
        "image_base": None,
        "carousel": {"index": 0, "current": "boots", "version": 2, "mode": "host_led",
                     "holder": None},
    }
    shop = (await store.snapshot("s")).shopping
    assert shop.catalog == RoomCatalog(event.seq, newer, None)
    assert shop.carousel.state == CarouselState(newer.product_ids, 0, 2)
    # Votes and cart items of products (or variants) no longer offered are gone.
    assert shop.votes == (Vote("g2", "tee", Verdict.YES, "tee-s"),)
    assert [(i.product_id, i.variant_id) for i in shop.cart] == [("tee", "tee-s")]
    assert shop.tallies == tally(shop.votes)
    # The current product gone: the first one is current.
    event = await store.load_catalog("s", make_catalog({"hat": ["hat-1"], "tee": ["tee-s"]}))
    assert event.data["carousel"]["current"] == "hat"
    recap = await store.recap("s")
    assert [(s.product_id, s.times) for s in recap.products_shown] == [
        ("hat", 1), ("tee", 1), ("boots", 1)
    ]
    with pytest.raises(NotInRoom):
        await store.load_catalog("nope", newer)
    await store.close_room("s")
    with pytest.raises(RoomClosed):
        await store.load_catalog("s", newer)


async def test_carousel_moves_with_versions(store: RoomStore) -> None:
    await shop_room(store)
    async with store.subscribe("s") as sub:
        moved = await store.move_carousel("s", Move.NEXT, by="h", expected_version=0)
        assert moved.data == {
            "carousel": {"index": 1, "current": "cap", "version": 1, "mode": "host_led",
                         "holder": None},
            "change": "move",
            "by": "h",
        }
        assert await take(sub, 1) == [moved]
    # prev of the first is the last (wrap), goto anywhere; every move bumps the version.
    await store.move_carousel("s", Move.PREV, by="h", expected_version=1)
    event = await store.move_carousel("s", Move.PREV, by="h", expected_version=2)
    assert event.data["carousel"]["current"] == "tote"
    event = await store.move_carousel("s", Move.NEXT, by="h", expected_version=3)
    assert event.data["carousel"]["current"] == "tee"
    event = await store.move_carousel("s", Move.GOTO, by="h", product_id="tee",
                                      expected_version=4)
    assert event.data["carousel"] == {"index": 0, "current": "tee", "version": 5,
                                      "mode": "host_led", "holder": None}
    # The HTTP API (by None) may move without naming a version.
    event = await store.move_carousel("s", Move.GOTO, by=None, product_id="boots")
    assert (event.data["carousel"]["version"], event.data["by"]) == (6, None)

    before = await unchanged(store)
    with pytest.raises(StaleVersion) as stale:
        await store.move_carousel("s", Move.NEXT, by="h", expected_version=5)
    assert stale.value.expected_version == 5
    assert stale.value.current == CarouselState(SHOP.product_ids, 2, 6)
    assert stale.value.carousel == Carousel(stale.value.current, RemoteMode.HOST_LED, None)
    with pytest.raises(UnknownProduct):
        await store.move_carousel("s", Move.GOTO, by="h", product_id="nope", expected_version=6)
    with pytest.raises(Forbidden):
        await store.move_carousel("s", Move.NEXT, by="g1", expected_version=6)
    with pytest.raises(Forbidden):
        await store.move_carousel("s", Move.NEXT, by="v", expected_version=6)
    with pytest.raises(NotInRoom):
        await store.move_carousel("s", Move.NEXT, by="ghost", expected_version=6)
    assert await unchanged(store) == before
    recap = await store.recap("s")
    assert {s.product_id: s.times for s in recap.products_shown} == {
        "tee": 3, "cap": 1, "tote": 1, "boots": 1
    }


async def test_an_empty_carousel_cannot_move(store: RoomStore) -> None:
    await store.join("bare", person("h", Role.HOST))
    with pytest.raises(UnknownProduct):
        await store.move_carousel("bare", Move.NEXT, by="h", expected_version=0)
    assert (await store.snapshot("bare")).seq == 1


async def test_the_remote(store: RoomStore) -> None:
    await shop_room(store)
    before = await unchanged(store)
    for by, to in (("g1", "g1"), ("v", "v"), ("g1", "g2")):
        with pytest.raises(Forbidden):
            await store.pass_remote("s", by=by, to=to)
    with pytest.raises(Forbidden):  # a viewer cannot hold it
        await store.pass_remote("s", by="h", to="v")
    with pytest.raises(NotInRoom):
        await store.pass_remote("s", by="h", to="ghost")
    with pytest.raises(Forbidden):
        await store.set_remote_mode("s", RemoteMode.EVERYONE, by="g1")
    assert await unchanged(store) == before

    event = await store.pass_remote("s", by="h", to="g1")
    assert event.data == {
        "carousel": {"index": 0, "current": "tee", "version": 0, "mode": "host_led",
                     "holder": "g1"},
        "change": "remote",
        "by": "h",
    }
    await store.move_carousel("s", Move.NEXT, by="g1", expected_version=0)
    with pytest.raises(Forbidden):
        await store.move_carousel("s", Move.NEXT, by="g2", expected_version=1)
    # The holder passes it on; then only the new holder (and hosts) may move.
    await store.pass_remote("s", by="g1", to="g2")
    with pytest.raises(Forbidden):
        await store.move_carousel("s", Move.NEXT, by="g1", expected_version=1)
    await store.move_carousel("s", Move.NEXT, by="g2", expected_version=1)
    # A holder who leaves frees the remote.
    await store.leave("s", "g2", reason="left")
    assert (await store.snapshot("s")).shopping.carousel.holder is None

    event = await store.set_remote_mode("s", RemoteMode.EVERYONE, by="h")
    assert (event.data["change"], event.data["carousel"]["mode"]) == ("mode", "everyone")
    await store.move_carousel("s", Move.NEXT, by="g1", expected_version=2)
    await store.pass_remote("s", by="g1", to="g1")  # anyone may take it now
    event = await store.pass_remote("s", by="g1", to=None)
    assert event.data["carousel"]["holder"] is None
    with pytest.raises(Forbidden):
        await store.move_carousel("s", Move.NEXT, by="v", expected_version=3)
    event = await store.set_remote_mode("s", RemoteMode.HOST_LED, by=None)
    assert event.data["by"] is None


async def test_votes_and_tallies(store: RoomStore) -> None:
    await shop_room(store)
    cast = await store.cast_vote("s", Vote("g1", "tee", Verdict.YES, "tee-m"))
    assert cast.type == "vote_cast"
    assert cast.data == {
        "vote": {"participant_id": "g1", "product_id": "tee", "variant_id": "tee-m",
                 "value": "yes"},
        "previous": None,
        "tallies": {"tee": {"yes": 1, "no": 0, "score_count": 0, "score_total": 0,
                            "by_variant": {"tee-m": {"yes": 1, "no": 0, "score_count": 0,
                                                     "score_total": 0}}}},
    }
    await store.cast_vote("s", Vote("v", "tee", 5))  # viewers vote too
    changed = await store.cast_vote("s", Vote("g1", "tee", Verdict.NO))
    assert changed.data["previous"] == cast.data["vote"]
    assert changed.data["tallies"] == {
        "tee": {"yes": 0, "no": 1, "score_count": 1, "score_total": 5}
    }
    snap = await store.snapshot("s")
    assert snap.shopping.votes == (Vote("g1", "tee", Verdict.NO), Vote("v", "tee", 5))
    assert parse_tallies(changed.data["tallies"]) == snap.shopping.tallies

    retracted = await store.retract_vote("s", "v", "tee")
    assert retracted is not None and retracted.type == "vote_retracted"
    assert retracted.data == {
        "vote": {"participant_id": "v", "product_id": "tee", "variant_id": None, "value": 5},
        "tallies": {"tee": {"yes": 0, "no": 1, "score_count": 0, "score_total": 0}},
    }
    last = await store.retract_vote("s", "g1", "tee")
    assert last is not None and last.data["tallies"] == {}
    # Nothing to retract: no event, nothing changes.
    before = await unchanged(store)
    assert await store.retract_vote("s", "g1", "tee") is None
    with pytest.raises(UnknownProduct):
        await store.cast_vote("s", Vote("g1", "nope", Verdict.YES))
    with pytest.raises(UnknownProduct):
        await store.cast_vote("s", Vote("g1", "tee", Verdict.YES, "cap-one"))
    with pytest.raises(UnknownProduct):
        await store.retract_vote("s", "g1", "nope")
    with pytest.raises(NotInRoom):
        await store.cast_vote("s", Vote("ghost", "tee", Verdict.YES))
    assert await unchanged(store) == before
    assert (await store.recap("s")).votes_cast == 3


async def test_event_tallies_always_match_the_rules(store: RoomStore) -> None:
    await shop_room(store)
    rng = random.Random(7)
    voters = ["h", "g1", "g2", "v"]
    values: list[VoteValue] = [Verdict.YES, Verdict.NO, 1, 3, 5]
    variants = {"tee": [None, "tee-s", "tee-m"], "cap": [None, "cap-one"],
                "boots": [None, "boots-40", "boots-41"], "tote": [None]}
    box = BallotBox()
    for _ in range(120):
        voter, product = rng.choice(voters), rng.choice(list(variants))
        if rng.random() < 0.25:
            event = await store.retract_vote("s", voter, product)
            assert (event is None) == (box.retract(voter, product) is None)
        else:
            vote = Vote(voter, product, rng.choice(values), rng.choice(variants[product]))
            box.cast(vote)
            event = await store.cast_vote("s", vote)
        if event is not None:
            assert parse_tallies(event.data["tallies"]) == box.tally()
    shop = (await store.snapshot("s")).shopping
    assert shop.votes == ordered_votes(box)
    assert shop.shortlist == shortlist(box.tally())


async def test_vote_rounds(store: RoomStore, clock: Clock) -> None:
    await shop_room(store)
    before = await unchanged(store)
    with pytest.raises(Forbidden):
        await store.open_vote_round("s", by="g1", duration=60)
    with pytest.raises(UnknownProduct):
        await store.open_vote_round("s", by="h", duration=60, product_ids=["tee", "nope"])
    for bad in (0, -1, 3601):
        with pytest.raises(ValueError):
            await store.open_vote_round("s", by="h", duration=bad)
    with pytest.raises(ValueError):
        await store.open_vote_round("s", by="h", duration=60, product_ids=[])
    assert await unchanged(store) == before
    assert await store.close_vote_round("s", by="h") is None  # none open

    opened = await store.open_vote_round("s", by="h", duration=60, product_ids=["tee", "cap"])
    round = opened.data["round"]
    assert (round["id"], round["state"], round["product_ids"]) == (opened.seq, "open",
                                                                  ["tee", "cap"])
    assert round["closes_at"] == pytest.approx(round["opens_at"] + 60)
    assert (await store.snapshot("s")).shopping.round == RoundInfo.from_dict(round)
    await store.cast_vote("s", Vote("g1", "tee", Verdict.YES))
    with pytest.raises(VoteClosed):  # not in this round
        await store.cast_vote("s", Vote("g1", "boots", Verdict.YES))
    with pytest.raises(Forbidden):
        await store.close_vote_round("s", by="g1")

    clock.advance(10)
    closed = await store.close_vote_round("s", by="h")
    assert closed is not None and closed.data["reason"] == "host"
    assert closed.data["round"]["state"] == "closed"
    assert closed.data["round"]["closes_at"] == pytest.approx(round["opens_at"] + 10, abs=0.01)
    assert await store.close_vote_round("s", by="h") is None
    # Its results stand: its products take no votes (nor retractions); the others do.
    before = await unchanged(store)
    with pytest.raises(VoteClosed):
        await store.cast_vote("s", Vote("g2", "tee", Verdict.YES))
    with pytest.raises(VoteClosed):
        await store.retract_vote("s", "g1", "tee")
    assert await unchanged(store) == before
    await store.cast_vote("s", Vote("g2", "boots", 4))

    # A round on every product, past its deadline: closed even before anyone says so.
    everything = await store.open_vote_round("s", by=None, duration=30)
    await store.cast_vote("s", Vote("g2", "tee", Verdict.NO))  # replaced the closed round
    clock.advance(31)
    with pytest.raises(VoteClosed):
        await store.cast_vote("s", Vote("g1", "cap", Verdict.YES))
    assert await store.close_vote_round("s", by=None, round_id=everything.seq + 99) is None
    late = await store.close_vote_round("s", by=None, round_id=everything.seq,
                                        reason="deadline")
    assert late is not None and late.data["reason"] == "deadline"
    assert late.data["round"]["closes_at"] == everything.data["round"]["closes_at"]
    # A host closing a round past its deadline announces it as a deadline close too.
    await store.open_vote_round("s", by="h", duration=5)
    clock.advance(6)
    overdue = await store.close_vote_round("s", by="h")
    assert overdue is not None and overdue.data["reason"] == "deadline"


async def test_chat(store: RoomStore) -> None:
    await shop_room(store)
    event = await store.post_chat("s", "v", "  hello\u202e there \n")
    assert event.type == "chat_message"
    message = event.data["message"]
    assert (message["seq"], message["participant_id"], message["name"], message["text"]) == (
        event.seq, "v", "name of v", "hello there"
    )
    before = await unchanged(store)
    for bad in ("", "   ", "x" * (MAX_CHAT_LENGTH + 1)):
        with pytest.raises(InvalidChatMessage):
            await store.post_chat("s", "g1", bad)
    with pytest.raises(NotInRoom):
        await store.post_chat("s", "ghost", "hi")
    assert await unchanged(store) == before
    for i in range(CHAT_HISTORY_SIZE + 5):
        last = await store.post_chat("s", "g1", f"message {i}")
    chat = (await store.snapshot("s")).shopping.chat
    assert len(chat) == CHAT_HISTORY_SIZE
    assert chat[0].text == "message 5" and chat[-1] == ChatMessage.from_dict(
        last.data["message"]
    )
    assert [m.seq for m in chat] == list(range(last.seq - CHAT_HISTORY_SIZE + 1, last.seq + 1))
    assert (await store.recap("s")).chat_messages == CHAT_HISTORY_SIZE + 6


async def test_reactions_are_counted(store: RoomStore) -> None:
    await shop_room(store)
    event = await store.react("s", "v", "🔥")
    assert event.data == {"participant_id": "v", "emoji": "🔥", "product_id": "tee"}
    await store.move_carousel("s", Move.NEXT, by="h", expected_version=0)
    await store.react("s", "g1", "🔥")
    await store.react("s", "g1", "👍🏽", product_id="boots")
    before = await unchanged(store)
    with pytest.raises(InvalidReaction):
        await store.react("s", "g1", "lol")
    with pytest.raises(UnknownProduct):
        await store.react("s", "g1", "🔥", product_id="nope")
    with pytest.raises(NotInRoom):
        await store.react("s", "ghost", "🔥")
    assert await unchanged(store) == before
    reactions = (await store.recap("s")).reactions
    assert reactions.total == 3
    assert reactions.by_emoji == {"👍🏽": 1, "🔥": 2}
    assert reactions.by_product == {"boots": {"👍🏽": 1}, "cap": {"🔥": 1}, "tee": {"🔥": 1}}


async def test_the_shared_cart(store: RoomStore, clock: Clock) -> None:
    await shop_room(store)
    added = await store.add_to_cart("s", by="g1", product_id="tee", variant_id="tee-m")
    item = added.data["item"]
    assert {k: item[k] for k in ("product_id", "variant_id", "quantity", "added_by",
                                 "added_by_name")} == {
        "product_id": "tee", "variant_id": "tee-m", "quantity": 1, "added_by": "g1",
        "added_by_name": "name of g1",
    }
    clock.advance(1)
    again = await store.add_to_cart("s", by="h", product_id="tee", variant_id="tee-m",
                                    quantity=3)
    assert again.data["item"] == dict(item, quantity=3)  # who added it and when stay
    await store.add_to_cart("s", by=None, product_id="cap")
    cart = (await store.snapshot("s")).shopping.cart
    assert [(i.product_id, i.quantity, i.added_by) for i in cart] == [
        ("tee", 3, "g1"), ("cap", 1, None)
    ]
    before = await unchanged(store)
    with pytest.raises(Forbidden):
        await store.add_to_cart("s", by="v", product_id="tee")
    with pytest.raises(Forbidden):
        await store.remove_from_cart("s", by="v", product_id="cap")
    with pytest.raises(UnknownProduct):
        await store.add_to_cart("s", by="g1", product_id="tee", variant_id="boots-40")
    with pytest.raises(UnknownProduct):
        await store.add_to_cart("s", by="g1", product_id="nope")
    for bad in (0, 100, True):
        with pytest.raises(ValueError):
            await store.add_to_cart("s", by="g1", product_id="tee", quantity=bad)
    assert await store.remove_from_cart("s", by="g1", product_id="tee") is None  # no variant
    assert await unchanged(store) == before

    removed = await store.remove_from_cart("s", by="g2", product_id="tee", variant_id="tee-m")
    assert removed is not None and removed.data == {"item": again.data["item"], "by": "g2"}
    recap = await store.recap("s")
    assert [i.product_id for i in recap.cart] == ["cap"]


async def test_recap(store: RoomStore) -> None:
    await shop_room(store)
    await store.move_carousel("s", Move.NEXT, by="h", expected_version=0)
    await store.move_carousel("s", Move.PREV, by="h", expected_version=1)
    for voter in ("h", "g1", "g2"):
        await store.cast_vote("s", Vote(voter, "cap", Verdict.YES))
    await store.cast_vote("s", Vote("g1", "tee", 5))
    await store.cast_vote("s", Vote("g2", "boots", Verdict.NO))
    await store.react("s", "g1", "🔥")
    await store.post_chat("s", "g1", "this one")
    await store.add_to_cart("s", by="g1", product_id="cap")
    await store.close_room("s")  # a closed room keeps its recap

    recap = await store.recap("s")
    data = recap.to_dict()
    assert data["room"] == "s"
    assert data["products_shown"] == [
        {"product_id": "tee", "title": "Tee", "times": 2},
        {"product_id": "cap", "title": "Cap", "times": 1},
    ]
    assert [e["product_id"] for e in data["shortlist"]] == ["cap", "tee"]
    assert data["tallies"]["boots"] == {"yes": 0, "no": 1, "score_count": 0, "score_total": 0}
    assert (data["votes_cast"], data["chat_messages"], data["reactions"]["total"]) == (5, 1, 1)
    assert [i["product_id"] for i in data["cart"]] == ["cap"]
    with pytest.raises(NotInRoom):
        await store.recap("nope")


async def test_every_shopping_change_is_one_event_with_the_next_seq(store: RoomStore) -> None:
    await shop_room(store)
    changes: list[Callable[[], Awaitable[RoomEvent | None]]] = [
        lambda: store.move_carousel("s", Move.NEXT, by="h", expected_version=0),
        lambda: store.pass_remote("s", by="h", to="g1"),
        lambda: store.set_remote_mode("s", RemoteMode.EVERYONE, by="h"),
        lambda: store.cast_vote("s", Vote("g1", "tee", Verdict.YES)),
        lambda: store.retract_vote("s", "g1", "tee"),
        lambda: store.open_vote_round("s", by="h", duration=60),
        lambda: store.close_vote_round("s", by="h"),
        lambda: store.post_chat("s", "g2", "hi"),
        lambda: store.react("s", "g2", "❤️"),
        lambda: store.add_to_cart("s", by="g2", product_id="tote"),
        lambda: store.remove_from_cart("s", by="g2", product_id="tote"),
        lambda: store.load_catalog("s", SHOP),
        lambda: store.start_checkout("s", by="h", participant_id=None, lines=1, quantity=1),
        lambda: store.set_offer("s", by="h", product_id="tee", threshold=5, percent=10,
                                code="TEE10", duration=60),
    ]
    returned: list[RoomEvent] = []
    async with store.subscribe("s") as sub:
        for change in changes:
            event = await change()
            assert event is not None
            assert await take(sub, 1) == [event]  # subscribers get exactly what was returned
            returned.append(event)
    assert [e.seq for e in returned] == list(range(5, 5 + len(changes)))
    assert (await store.snapshot("s")).seq == returned[-1].seq
    # offer_reached is never returned: it follows the offer_progress (or cart event) that
    # reached the offer (test_offers_store).
    assert {e.type for e in returned} == SHOPPING_TYPES - {"offer_reached"}


async def test_shopping_events_cannot_be_forged(store: RoomStore) -> None:
    await shop_room(store)
    for reserved in sorted(SHOPPING_TYPES):
        with pytest.raises(ValueError):
            await store.publish("s", reserved, {})


async def test_shopping_in_a_closed_or_unknown_room(store: RoomStore) -> None:
    await shop_room(store)
    await store.close_room("s")
    changes: list[Callable[[str], Awaitable[object]]] = [
        lambda r: store.move_carousel(r, Move.NEXT, by=None),
        lambda r: store.pass_remote(r, by=None, to=None),
        lambda r: store.set_remote_mode(r, RemoteMode.EVERYONE, by=None),
        lambda r: store.cast_vote(r, Vote("h", "tee", Verdict.YES)),
        lambda r: store.retract_vote(r, "h", "tee"),
        lambda r: store.open_vote_round(r, by=None, duration=60),
        lambda r: store.close_vote_round(r, by=None),
        lambda r: store.post_chat(r, "h", "hi"),
        lambda r: store.react(r, "h", "🔥"),
        lambda r: store.add_to_cart(r, by=None, product_id="tee"),
        lambda r: store.remove_from_cart(r, by=None, product_id="tee"),
        lambda r: store.load_catalog(r, SHOP),
    ]
    for change in changes:
        with pytest.raises(RoomClosed):
            await change("s")
        with pytest.raises(NotInRoom):
            await change("nope")
