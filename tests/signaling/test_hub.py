"""Room hubs: one subscription per room per node, fan-out, resubscription, reference counting."""

from __future__ import annotations

import pytest

from rooms.memory_store import MemoryStore
from rooms.models import Participant, RoomEvent
from signaling.hub import RoomHubs
from tests.helpers import wait_for


class Member:
    def __init__(self) -> None:
        self.events: list[RoomEvent] = []
        self.resyncs = 0

    def deliver(self, event: RoomEvent) -> None:
        self.events.append(event)

    def resync_needed(self) -> None:
        self.resyncs += 1

    in_audience = False  # never a live room's viewer: no reaction_counts
    member_id = None

    def deliver_counts(self, message: object, text: str) -> None:
        raise AssertionError("not in an audience")

    def seqs(self) -> list[int]:
        return [e.seq for e in self.events]


async def test_fan_out_in_order_and_refcount() -> None:
    store = MemoryStore()
    hubs = RoomHubs(store)
    a, b = Member(), Member()
    await hubs.add("r", a)
    await hubs.add("r", b)
    assert hubs.room_ids() == ["r"]
    for i in range(3):
        await store.join("r", Participant(id=f"p{i}", name=f"p{i}"))
    await wait_for(lambda: a.seqs() == b.seqs() == [1, 2, 3])

    await hubs.remove("r", a)
    await store.leave("r", "p0", reason="left")
    await wait_for(lambda: b.seqs() == [1, 2, 3, 4])
    assert a.seqs() == [1, 2, 3] and hubs.room_ids() == ["r"]
    await hubs.remove("r", b)
    await hubs.remove("r", b)  # idempotent
    assert hubs.room_ids() == []
    await hubs.close()
    await store.close()


async def test_lagging_feed_resubscribes_and_asks_for_resync() -> None:
    store = MemoryStore(subscription_buffer=2)
    hubs = RoomHubs(store)
    member = Member()
    await hubs.add("r", member)
    # MemoryStore.join never suspends: five events land before the hub reads one.
    for i in range(5):
        await store.join("r", Participant(id=f"p{i}", name=f"p{i}"))
    await wait_for(lambda: member.resyncs == 1)
    await store.leave("r", "p0", reason="left")
    await wait_for(lambda: member.seqs()[-1:] == [6])
    await hubs.close()
    await store.close()


async def test_room_closed_ends_the_feed() -> None:
    store = MemoryStore()
    hubs = RoomHubs(store)
    member = Member()
    await hubs.add("r", member)
    await store.join("r", Participant(id="p", name="p"))
    await store.close_room("r")
    await wait_for(lambda: [e.type for e in member.events] == ["participant_joined",
                                                               "room_closed"])
    await hubs.remove("r", member)
    assert hubs.room_ids() == []
    await store.close()


async def test_failed_subscription_is_reported_to_the_joiner() -> None:
    store = MemoryStore()
    await store.close()
    hubs = RoomHubs(store)
    with pytest.raises(RuntimeError, match="closed"):
        await hubs.add("r", Member())
    assert hubs.room_ids() == []
