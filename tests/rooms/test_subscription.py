"""EventQueue and QueueSubscription without any store: overflow, ends, and their order."""

from __future__ import annotations

import pytest

from rooms import RoomEvent, SubscriptionLagged
from rooms.events import CustomEvent, RoomClosed
from rooms.subscription import EventQueue, QueueSubscription, SubscriptionState


def tick(seq: int, type: str = "tick") -> RoomEvent:
    body = RoomClosed() if type == "room_closed" else CustomEvent(type=type, data={})
    return RoomEvent("r", seq, body)


async def test_events_come_out_in_the_order_they_went_in() -> None:
    queue = EventQueue("r", maxsize=3)
    for seq in (1, 2, 3):
        queue.put(tick(seq))
    assert [await queue.get() for _ in range(3)] == [tick(1), tick(2), tick(3)]


async def test_overflow_drops_the_backlog_and_raises_lagged_for_good() -> None:
    queue = EventQueue("r", maxsize=2)
    queue.put(tick(1))
    queue.put(tick(2))
    queue.put(tick(3))  # one too many
    queue.put(tick(4))  # ignored: the feed is over
    assert queue.finished
    for _ in range(2):
        with pytest.raises(SubscriptionLagged, match="2 events behind"):
            await queue.get()


async def test_room_closed_is_delivered_then_the_feed_ends() -> None:
    queue = EventQueue("r")
    queue.put(tick(1))
    queue.put(tick(2, "room_closed"))
    queue.put(tick(3))  # cannot happen in a store; ignored if it did
    assert [await queue.get(), await queue.get()] == [tick(1), tick(2, "room_closed")]
    with pytest.raises(StopAsyncIteration):
        await queue.get()


async def test_end_keeps_the_backlog_fail_drops_it() -> None:
    ended, failed = EventQueue("r"), EventQueue("r")
    for queue in (ended, failed):
        queue.put(tick(1))
    ended.end()
    failed.fail(SubscriptionLagged("connection lost"))
    assert await ended.get() == tick(1)
    with pytest.raises(StopAsyncIteration):
        await ended.get()
    with pytest.raises(SubscriptionLagged, match="connection lost"):
        await failed.get()


def test_a_queue_needs_room_for_one_event() -> None:
    with pytest.raises(ValueError):
        EventQueue("r", maxsize=0)


async def test_subscription_attaches_once_and_detaches_on_exit() -> None:
    calls: list[str] = []

    async def attach(queue: EventQueue) -> None:
        calls.append("attach")

    async def detach(queue: EventQueue) -> None:
        calls.append("detach")

    queue = EventQueue("r")
    subscription = QueueSubscription(queue, attach=attach, detach=detach)
    assert subscription.room_id == "r"
    states = [subscription.state]
    async with subscription as entered:
        assert entered is subscription
        states.append(subscription.state)
        queue.put(tick(1))
        assert await anext(subscription) == tick(1)
    states.append(subscription.state)
    assert states == [SubscriptionState.NEW, SubscriptionState.OPEN, SubscriptionState.CLOSED]
    assert calls == ["attach", "detach"]


async def test_a_failed_attach_is_not_detached() -> None:
    detached: list[EventQueue] = []

    async def attach(queue: EventQueue) -> None:
        raise ConnectionError("no server")

    async def detach(queue: EventQueue) -> None:
        detached.append(queue)

    subscription = QueueSubscription(EventQueue("r"), attach=attach, detach=detach)
    with pytest.raises(ConnectionError):
        async with subscription:
            pass
    assert detached == []
    assert subscription.state is SubscriptionState.CLOSED
