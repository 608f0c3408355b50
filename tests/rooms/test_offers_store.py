"""Store contract for group offers (rooms.offers), on MemoryStore and RedisStore: who may set
one, its events as the cart changes, its state in snapshots, and exact, fair progress under
many concurrent cart changes from several nodes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from rooms import MemoryStore, Participant, RedisStore, Role, RoomStore
from rooms.errors import Forbidden
from rooms.models import RoomEvent
from rooms.offers import backers
from rooms.shopping import UnknownProduct
from rooms.shopping_state import CartItem
from tests.catalogs import make_catalog
from tests.rooms.conftest import Clock

PEOPLE = 16
NODES = 4
SIZES = [f"tee-{i}" for i in range(PEOPLE)]
CATALOG = make_catalog({"tee": SIZES, "cap": ["cap-one"]})


def person(pid: str, role: Role = Role.GUEST) -> Participant:
    return Participant(id=pid, name=pid, role=role)


async def room(store: RoomStore, people: int) -> list[str]:
    await store.create_room("o", capacity=people + 1, catalog=CATALOG)
    await store.join("o", person("host", Role.HOST))
    ids = [f"p{i:02d}" for i in range(people)]
    for pid in ids:
        await store.join("o", person(pid))
    return ids


async def drain(feed: AsyncIterator[RoomEvent], until_seq: int) -> list[RoomEvent]:
    seen: list[RoomEvent] = []
    async for event in feed:
        seen.append(event)
        if event.seq >= until_seq:
            break
    return seen


async def test_offer_rules_events_and_snapshot(store: RoomStore, clock: Clock) -> None:
    a, b, c = await room(store, 3)
    offer = {"product_id": "tee", "threshold": 2, "percent": 15, "code": "TEE15",
             "duration": 60.0}
    with pytest.raises(Forbidden):
        await store.set_offer("o", by=a, **offer)
    with pytest.raises(UnknownProduct):
        await store.set_offer("o", by="host", **{**offer, "product_id": "nope"})
    with pytest.raises(ValueError):
        await store.set_offer("o", by="host", **{**offer, "code": "no spaces"})
    assert (await store.snapshot("o")).shopping.offer is None

    async with store.subscribe("o") as feed:
        set_event = await store.set_offer("o", by="host", **offer)
        assert set_event.type == "offer_progress"
        assert set_event.data["backers"] == 0 and set_event.data["reached"] is False
        assert set_event.data["offer"]["set_by"] == "host"
        first = await store.add_to_cart("o", by=a, product_id="tee", variant_id=SIZES[0])
        seen = await drain(feed, first.seq + 1)  # (the contract stores buffer 8 events)
        await store.add_to_cart("o", by=a, product_id="tee", variant_id=SIZES[1])  # a again
        await store.add_to_cart("o", by=b, product_id="cap")  # another product
        await store.add_to_cart("o", by=b, product_id="tee", variant_id=SIZES[0],
                                quantity=3)  # a's line: still a's
        last = await store.add_to_cart("o", by=c, product_id="tee", variant_id=SIZES[2])
        seen += await drain(feed, last.seq + 2)
    kinds = [(e.type, e.data.get("backers")) for e in seen]
    assert kinds == [
        ("offer_progress", 0),
        ("cart_item_added", None), ("offer_progress", 1),
        ("cart_item_added", None),
        ("cart_item_added", None),
        ("cart_item_added", None),
        ("cart_item_added", None), ("offer_progress", 2), ("offer_reached", 2),
    ]
    assert [e.seq for e in seen] == list(range(seen[0].seq, seen[0].seq + len(seen)))
    state = (await store.snapshot("o")).shopping.offer
    assert state is not None and (state.backers, state.reached) == (2, True)
    assert (await store.snapshot("o")).shopping.to_dict()["offer"]["offer"]["code"] == "TEE15"

    # Past its expiry, the next change in backers says it is no longer reached.
    clock.advance(61)
    removed = await store.remove_from_cart("o", by=c, product_id="tee", variant_id=SIZES[2])
    assert removed is not None
    await store.add_to_cart("o", by=c, product_id="tee", variant_id=SIZES[2])
    state = (await store.snapshot("o")).shopping.offer
    assert state is not None and (state.backers, state.reached) == (2, False)


@pytest.fixture
async def nodes(store: RoomStore, request: pytest.FixtureRequest) -> AsyncIterator[list[RoomStore]]:
    """NODES stores on one state with room for every event in their subscriptions."""
    if isinstance(store, MemoryStore):
        one = MemoryStore(default_capacity=PEOPLE + 1, subscription_buffer=10_000)
        yield [one] * NODES
        await one.close()
        return
    assert isinstance(store, RedisStore)
    url = request.getfixturevalue("redis_url")
    made = [RedisStore(url, namespace=store.namespace, subscription_buffer=10_000)
            for _ in range(NODES)]
    yield made
    for other in made:
        await other.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_concurrent_cart_changes_give_exact_progress(
    nodes: list[RoomStore], seed: int
) -> None:
    """Every person adds and removes their own tee lines at once, from four nodes. Replaying
    the cart events in seq order, each offer_progress carries exactly the backers of the
    cart at that point, offer_reached follows exactly each crossing of the threshold, and
    the final state is the final cart's."""
    ids = await room(nodes[0], PEOPLE)
    rng = random.Random(seed)
    threshold = PEOPLE // 2
    # Half of them hold a line already; the offer starts not reached.
    for pid in ids[: threshold - 1]:
        await nodes[0].add_to_cart("o", by=pid, product_id="tee", variant_id=SIZES[ids.index(pid)])
    async with nodes[1].subscribe("o") as feed:
        start = await nodes[0].set_offer("o", by="host", product_id="tee", threshold=threshold,
                                         percent=10, code="HALF", duration=600)
        assert start.data["backers"] == threshold - 1 and start.data["reached"] is False
        changes = []
        for i, pid in enumerate(ids):
            node = nodes[rng.randrange(NODES)]
            variant = SIZES[i]
            if i < threshold - 1:  # holds one: remove it, sometimes add it back
                changes.append(node.remove_from_cart("o", by=pid, product_id="tee",
                                                     variant_id=variant))
                if rng.random() < 0.5:
                    changes.append(node.add_to_cart("o", by=pid, product_id="tee",
                                                    variant_id=variant))
            else:
                changes.append(node.add_to_cart("o", by=pid, product_id="tee",
                                                variant_id=variant))
                if rng.random() < 0.3:
                    changes.append(node.remove_from_cart("o", by=pid, product_id="tee",
                                                         variant_id=variant))
        rng.shuffle(changes)
        await asyncio.gather(*changes)
        final = await nodes[2].snapshot("o")
        seen = await drain(feed, final.seq) if final.seq > start.seq else []
    cart: dict[tuple[str, str | None], CartItem] = {
        (i.product_id, i.variant_id): i
        for i in (await nodes[0].snapshot("o")).shopping.cart
    }
    # Rebuild the cart as it was before the races, then replay them.
    replay: dict[tuple[str, str | None], CartItem] = {}
    for pid in ids[: threshold - 1]:
        replay[("tee", SIZES[ids.index(pid)])] = CartItem("tee", SIZES[ids.index(pid)], 1, pid,
                                                          pid, 0.0)
    count, reached, crossings, reached_events = threshold - 1, False, 0, 0
    for event in seen:
        if event.type in ("cart_item_added", "cart_item_removed"):
            item = CartItem.from_dict(event.data["item"])
            key = (item.product_id, item.variant_id)
            if event.type == "cart_item_added":
                replay.setdefault(key, item)
            else:
                replay.pop(key, None)
        elif event.type == "offer_progress":
            count = backers("tee", replay.values())
            assert event.data["backers"] == count
            now_reached = count >= threshold
            assert event.data["reached"] is now_reached
            crossings += now_reached and not reached
            reached = now_reached
        elif event.type == "offer_reached":
            reached_events += 1
            assert event.data["backers"] == count
    assert replay.keys() == cart.keys()
    final_count = backers("tee", cart.values())
    assert count == final_count  # the last progress published is the final truth
    assert final.shopping.offer is not None
    assert (final.shopping.offer.backers, final.shopping.offer.reached) == (
        final_count, final_count >= threshold)
    assert reached_events == crossings


async def test_a_catalog_load_recounts_the_offer_or_drops_it(store: RoomStore) -> None:
    a, b = await room(store, 2)
    await store.add_to_cart("o", by=a, product_id="tee", variant_id=SIZES[0])
    await store.add_to_cart("o", by=b, product_id="tee", variant_id=SIZES[1])
    await store.set_offer("o", by="host", product_id="tee", threshold=2, percent=5, code="X",
                          duration=60)
    # b's size is no longer offered: its line goes, and with it a backer.
    await store.load_catalog("o", make_catalog({"tee": SIZES[:1], "cap": ["cap-one"]}))
    state = (await store.snapshot("o")).shopping.offer
    assert state is not None and (state.backers, state.reached) == (1, False)
    await store.load_catalog("o", make_catalog({"cap": ["cap-one"]}))
    assert (await store.snapshot("o")).shopping.offer is None
