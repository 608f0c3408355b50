"""Closing vote rounds at their deadline: once per round, whichever nodes watch it."""

from __future__ import annotations

import time

from rooms.memory_store import MemoryStore
from rooms.models import Participant
from signaling.rounds import RoundCloser
from tests.catalogs import SHOP
from tests.helpers import take, wait_for


async def test_rounds_close_once_at_their_deadline() -> None:
    store = MemoryStore()
    await store.create_room("r", catalog=SHOP)
    await store.join("r", Participant(id="p", name="p"))
    closers = [RoundCloser(store, "r") for _ in range(3)]  # three nodes watching
    try:
        async with store.subscribe("r") as sub:
            opened = await store.open_vote_round("r", by=None, duration=0.2)
            for closer in closers:
                closer.watch(opened.body.round)
            (_, closed) = await take(sub, 2)
            assert closed.type == "vote_round_closed"
            assert closed.data["reason"] == "deadline"
            assert closed.data["round"]["id"] == opened.seq
            # Each closer tried; the store closed the round once.
            await wait_for(lambda: all(c.deadline is None for c in closers))
            probe = await store.publish("r", "probe", {})
            assert await take(sub, 1) == [probe] and probe.seq == closed.seq + 1
    finally:
        for closer in closers:
            await closer.close()


async def test_the_latest_round_is_the_one_watched() -> None:
    store = MemoryStore()
    await store.create_room("r", catalog=SHOP)
    closer = RoundCloser(store, "r")
    try:
        first = await store.open_vote_round("r", by=None, duration=30)
        closer.watch(first.body.round)
        assert closer.deadline == first.data["round"]["closes_at"]
        second = await store.open_vote_round("r", by=None, duration=60)
        closer.watch(second.body.round)
        assert closer.deadline == second.data["round"]["closes_at"]
        older = first.body.round.model_copy(update={"state": "closed"})
        closer.watch(older)  # an older round: ignored
        assert closer.deadline == second.data["round"]["closes_at"]
        early = await store.close_vote_round("r", by=None)
        assert early is not None
        closer.watch(early.body.round)
        assert closer.deadline is None
        closer.watch(None)
        assert closer.deadline is None
    finally:
        await closer.close()


async def test_an_overdue_round_closes_at_once() -> None:
    store = MemoryStore()
    await store.create_room("r", catalog=SHOP)
    # This node's clock is an hour ahead: the round is overdue as soon as it is seen.
    closer = RoundCloser(store, "r", clock=lambda: time.time() + 3600)
    try:
        async with store.subscribe("r") as sub:
            opened = await store.open_vote_round("r", by=None, duration=600)
            closer.watch(opened.body.round)
            (_, closed) = await take(sub, 2)
        assert closed.data["reason"] == "deadline"
        assert closed.data["round"]["closes_at"] == opened.data["round"]["closes_at"]
    finally:
        await closer.close()


async def test_a_closed_room_stops_the_closer() -> None:
    store = MemoryStore()
    await store.create_room("r", catalog=SHOP)
    closer = RoundCloser(store, "r", clock=lambda: time.time() + 3600)
    opened = await store.open_vote_round("r", by=None, duration=60)
    await store.close_room("r")
    closer.watch(opened.body.round)
    await wait_for(lambda: closer._task.done())
    await closer.close()
    await closer.close()  # idempotent
