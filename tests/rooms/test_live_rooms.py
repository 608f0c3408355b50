"""Room kinds on both stores: a live room's stage and audience (rooms.live)."""

from __future__ import annotations

import asyncio

import pytest

from rooms import Participant, RedisStore, Role, RoomFull, RoomStore
from rooms.errors import AudienceFull
from rooms.live import Seat, check_seat, seat_of
from rooms.models import DEFAULT_AUDIENCE_CAPACITY, RoomKind
from tests.catalogs import SHOP
from tests.rooms.conftest import DEFAULT_CAPACITY, make_redis_store


def person(pid: str, role: Role = Role.GUEST) -> Participant:
    return Participant(id=pid, name=f"name of {pid}", role=role)


def test_only_a_live_rooms_viewers_sit_in_the_audience() -> None:
    assert seat_of(RoomKind.LIVE, Role.VIEWER) is Seat.AUDIENCE
    for role in (Role.GUEST, Role.HOST, Role.ADMIN):
        assert seat_of(RoomKind.LIVE, role) is Seat.STAGE
    for role in Role:
        assert seat_of(RoomKind.GROUP, role) is Seat.STAGE


def test_check_seat_counts_each_seat_against_its_own_capacity() -> None:
    full_stage = {"stage_count": 2, "audience_count": 0, "capacity": 2, "audience_capacity": 1}
    check_seat("r", Seat.AUDIENCE, **full_stage)
    with pytest.raises(RoomFull) as refused:
        check_seat("r", Seat.STAGE, **full_stage)
    assert not isinstance(refused.value, AudienceFull)
    full_audience = {"stage_count": 0, "audience_count": 1, "capacity": 2, "audience_capacity": 1}
    check_seat("r", Seat.STAGE, **full_audience)
    with pytest.raises(AudienceFull):
        check_seat("r", Seat.AUDIENCE, **full_audience)


async def test_rooms_are_group_rooms_by_default(store: RoomStore) -> None:
    info = await store.create_room("g")
    assert info.kind is RoomKind.GROUP
    snapshot, _ = await store.join("bare", person("a"))
    assert snapshot.room.kind is RoomKind.GROUP
    assert snapshot.room.audience_capacity == DEFAULT_AUDIENCE_CAPACITY


async def test_a_group_room_seats_its_viewers(store: RoomStore) -> None:
    await store.create_room("g", capacity=2, kind=RoomKind.GROUP, audience_capacity=5)
    await store.join("g", person("v1", Role.VIEWER))
    await store.join("g", person("v2", Role.VIEWER))
    with pytest.raises(RoomFull) as refused:
        await store.join("g", person("v3", Role.VIEWER))
    assert not isinstance(refused.value, AudienceFull)
    info = await store.get_room("g")
    assert info is not None and info.audience_count == 0 and info.participant_count == 2


async def test_a_live_rooms_audience_does_not_count_against_its_stage(store: RoomStore) -> None:
    info = await store.create_room("live", capacity=2, kind=RoomKind.LIVE, audience_capacity=3)
    assert (info.kind, info.capacity, info.audience_capacity) == (RoomKind.LIVE, 2, 3)
    await store.join("live", person("host", Role.HOST))
    for i in range(3):
        await store.join("live", person(f"v{i}", Role.VIEWER))
    snapshot, _ = await store.join("live", person("guest"))
    assert snapshot.room.kind is RoomKind.LIVE
    assert (snapshot.room.participant_count, snapshot.room.audience_count) == (5, 3)
    with pytest.raises(RoomFull) as stage_full:
        await store.join("live", person("guest2"))
    assert not isinstance(stage_full.value, AudienceFull)
    with pytest.raises(AudienceFull):
        await store.join("live", person("v3", Role.VIEWER))
    # Nothing was written by the refusals.
    info2 = await store.get_room("live")
    assert info2 is not None and (info2.participant_count, info2.audience_count) == (5, 3)
    # A viewer leaving frees an audience seat, not a stage seat.
    await store.leave("live", "v0", reason="left")
    with pytest.raises(RoomFull):
        await store.join("live", person("guest2"))
    await store.join("live", person("v3", Role.VIEWER))
    [listed] = [r for r in await store.list_rooms() if r.id == "live"]
    assert (listed.kind, listed.audience_count, listed.audience_capacity) == (RoomKind.LIVE, 3, 3)


async def test_an_existing_room_keeps_its_kind(store: RoomStore) -> None:
    await store.create_room("live", kind=RoomKind.LIVE, audience_capacity=7)
    info = await store.create_room("live", kind=RoomKind.GROUP, audience_capacity=9)
    assert (info.kind, info.audience_capacity) == (RoomKind.LIVE, 7)
    assert info.capacity == DEFAULT_CAPACITY


async def test_closing_a_live_room_empties_its_audience(store: RoomStore) -> None:
    await store.create_room("live", kind=RoomKind.LIVE, audience_capacity=2)
    await store.join("live", person("v1", Role.VIEWER))
    await store.close_room("live")
    info = await store.get_room("live")
    assert info is not None and info.audience_count == 0 and info.participant_count == 0


@pytest.mark.redis
async def test_the_audience_is_counted_across_nodes(redis_url: str, redis_namespace: str) -> None:
    """Two nodes (stores) admit viewers at once: never more than the audience capacity."""
    nodes: list[RedisStore] = [make_redis_store(redis_url, redis_namespace) for _ in range(2)]
    try:
        await nodes[0].create_room("live", kind=RoomKind.LIVE, audience_capacity=5)

        async def try_join(i: int) -> bool:
            try:
                await nodes[i % 2].join("live", person(f"v{i}", Role.VIEWER))
            except AudienceFull:
                return False
            return True

        admitted = await asyncio.gather(*(try_join(i) for i in range(16)))
        assert sum(admitted) == 5
        for store in nodes:
            info = await store.get_room("live")
            assert info is not None and info.audience_count == 5
        # The stage is untouched by a full audience.
        await nodes[1].join("live", person("host", Role.HOST))
    finally:
        for store in nodes:
            await store.close()


async def test_the_recap_counts_views_and_the_peak_audience(store: RoomStore) -> None:
    await store.create_room("live", kind=RoomKind.LIVE, audience_capacity=10)
    await store.join("live", person("host", Role.HOST))
    for i in range(3):
        await store.join("live", person(f"v{i}", Role.VIEWER))
    await store.leave("live", "v0", reason="left")
    await store.leave("live", "v1", reason="left")
    await store.join("live", person("v0", Role.VIEWER))  # back: a view again
    recap = await store.recap("live")
    assert (recap.views, recap.peak_viewers) == (4, 3)
    assert recap.to_dict()["views"] == 4 and recap.to_dict()["peak_viewers"] == 3
    await store.join("group", person("v", Role.VIEWER))
    group = await store.recap("group")
    assert (group.views, group.peak_viewers) == (0, 0)


async def test_a_viewers_join_lists_the_stage_and_itself(store: RoomStore) -> None:
    await store.create_room("live", capacity=3, kind=RoomKind.LIVE, audience_capacity=10)
    await store.join("live", person("host", Role.HOST))
    for i in range(4):
        await store.join("live", person(f"v{i}", Role.VIEWER))
    await store.join("live", person("guest"))
    snapshot, _ = await store.join("live", person("v9", Role.VIEWER))
    assert [p.id for p in snapshot.participants] == ["host", "guest", "v9"]
    assert (snapshot.room.participant_count, snapshot.room.audience_count) == (7, 5)
    # A stage join, and the room's own snapshot, list everyone.
    staged, _ = await store.join("live", person("guest2"))
    assert len(staged.participants) == 8 and staged.room.audience_count == 5
    full = await store.snapshot("live")
    assert len(full.participants) == 8 and full.room.participant_count == 8


async def test_a_snapshot_as_shown_to_a_viewer(store: RoomStore) -> None:
    await store.create_room("live", capacity=3, kind=RoomKind.LIVE, audience_capacity=10)
    await store.join("live", person("host", Role.HOST))
    for i in range(3):
        await store.join("live", person(f"v{i}", Role.VIEWER))
    shown = await store.snapshot("live", viewer="v1")
    assert [p.id for p in shown.participants] == ["host", "v1"]
    assert (shown.room.participant_count, shown.room.audience_count) == (4, 3)
    assert len((await store.snapshot("live")).participants) == 4
    # In a group room everyone is on the "stage": a viewer is shown everyone.
    await store.join("group", person("a"))
    await store.join("group", person("b", Role.VIEWER))
    assert len((await store.snapshot("group", viewer="b")).participants) == 2


async def test_the_recap_counts_cart_adds_per_product(store: RoomStore) -> None:
    await store.create_room("shop", catalog=SHOP)
    await store.join("shop", person("a"))
    first, second = SHOP.product_ids[0], SHOP.product_ids[1]
    await store.add_to_cart("shop", by="a", product_id=first)
    await store.add_to_cart("shop", by="a", product_id=first, quantity=3)
    await store.add_to_cart("shop", by=None, product_id=second)
    recap = await store.recap("shop")
    assert recap.cart_adds == {first: 2, second: 1}
    assert recap.to_dict()["cart_adds"] == {first: 2, second: 1}
