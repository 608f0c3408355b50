"""Racing shopping changes: many voters at once, two moves from one version, several nodes.

Each test runs on both stores (the contract fixture); on Redis, the racers use several
RedisStore instances (separate connection pools, as separate nodes would).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from rooms import MemoryStore, Participant, RedisStore, Role, RoomStore
from rooms.shopping import BallotBox, Move, StaleVersion, Verdict, Vote, tally
from rooms.shopping_state import parse_tallies
from tests.catalogs import SHOP
from tests.rooms.conftest import make_redis_store

VOTERS = 50
NODES = 4


@pytest.fixture
async def nodes(store: RoomStore, request: pytest.FixtureRequest) -> AsyncIterator[list[RoomStore]]:
    """The store, plus NODES - 1 more instances on the same state (Redis) or itself (memory)."""
    if isinstance(store, MemoryStore):
        yield [store] * NODES
        return
    assert isinstance(store, RedisStore)
    url = request.getfixturevalue("redis_url")
    extra = [make_redis_store(url, store.namespace) for _ in range(NODES - 1)]
    yield [store, *extra]
    for other in extra:
        await other.close()


async def crowd(store: RoomStore, count: int) -> list[str]:
    await store.create_room("crowd", capacity=count + 1, catalog=SHOP)
    await store.join("crowd", Participant(id="host", name="Host", role=Role.HOST))
    ids = [f"p{i:02d}" for i in range(count)]
    await asyncio.gather(*(store.join("crowd", Participant(id=p, name=p)) for p in ids))
    return ids


async def test_simultaneous_votes_give_exact_tallies(nodes: list[RoomStore]) -> None:
    ids = await crowd(nodes[0], VOTERS)
    rng = random.Random(3)
    # Every voter votes on tee and changes their mind once, all at the same time.
    first = [Vote(p, "tee", rng.choice([Verdict.YES, Verdict.NO, 4]), "tee-m") for p in ids]
    second = [Vote(p, "tee", rng.choice([Verdict.YES, 2, 5])) for p in ids]
    for wave in (first, second):
        events = await asyncio.gather(
            *(nodes[i % NODES].cast_vote("crowd", vote) for i, vote in enumerate(wave))
        )
        assert len({e.seq for e in events}) == len(wave)  # one event each, each its own seq
    box = BallotBox(first + second)
    snapshot = await nodes[1].snapshot("crowd")
    assert snapshot.shopping.tallies == box.tally()
    assert tally(snapshot.shopping.votes)["tee"].votes == VOTERS
    # The last event's tallies (counted by the store as votes came) are exact too.
    last = max(events, key=lambda e: e.seq)
    assert parse_tallies(last.data["tallies"]) == box.tally()
    recap = await nodes[2].recap("crowd")
    assert recap.votes_cast == 2 * VOTERS


async def test_simultaneous_votes_and_retractions(nodes: list[RoomStore]) -> None:
    ids = await crowd(nodes[0], VOTERS)
    await asyncio.gather(
        *(nodes[i % NODES].cast_vote("crowd", Vote(p, "cap", Verdict.YES))
          for i, p in enumerate(ids))
    )
    quitters = ids[::3]
    results = await asyncio.gather(
        *(nodes[i % NODES].retract_vote("crowd", p, "cap") for i, p in enumerate(quitters)),
        *(nodes[i % NODES].cast_vote("crowd", Vote(p, "boots", Verdict.NO))
          for i, p in enumerate(ids)),
    )
    assert all(r is not None for r in results)
    tallies = (await nodes[3].snapshot("crowd")).shopping.tallies
    assert (tallies["cap"].yes, tallies["boots"].no) == (VOTERS - len(quitters), VOTERS)


async def test_moves_from_the_same_version_one_wins(nodes: list[RoomStore]) -> None:
    await crowd(nodes[0], 3)
    for version in range(5):
        targets = ["cap", "boots", "tote", "tee"] * 3
        results = await asyncio.gather(
            *(nodes[i % NODES].move_carousel(
                "crowd", Move.GOTO, by="host", product_id=t, expected_version=version)
              for i, t in enumerate(targets)),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, StaleVersion)]
        assert len(won) == 1 and len(lost) == len(targets) - 1
        winner = won[0].data["carousel"]
        assert winner["version"] == version + 1
        # Every loser is shown the state that won.
        assert all(loss.carousel is not None and loss.carousel.to_dict() == winner
                   for loss in lost)
        assert (await nodes[-1].snapshot("crowd")).shopping.carousel.to_dict() == winner


async def test_simultaneous_cart_adds_keep_one_line_per_item(nodes: list[RoomStore]) -> None:
    ids = await crowd(nodes[0], 12)
    events = await asyncio.gather(
        *(nodes[i % NODES].add_to_cart("crowd", by=p, product_id="tote", quantity=i + 1)
          for i, p in enumerate(ids))
    )
    first = min(events, key=lambda e: e.seq)
    last = max(events, key=lambda e: e.seq)
    (line,) = (await nodes[0].snapshot("crowd")).shopping.cart
    # The first add created the line; the last one set its quantity.
    assert line.added_by == first.data["item"]["added_by"]
    assert line.quantity == last.data["item"]["quantity"]
