"""RedisStore specifics: the documented keys and wire format; the one shared pub/sub connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from rooms import Participant, RedisStore, Role, SubscriptionLagged
from rooms.catalog import Product
from rooms.redis_keys import RoomKeys, rooms_index_key
from rooms.shopping import Move, Tally, Verdict, Vote
from rooms.shopping_state import pair_key
from tests.catalogs import SHOP
from tests.helpers import take, wait_for

pytestmark = pytest.mark.redis


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def pubsub_client_ids(raw: aioredis.Redis) -> set[str]:
    return {str(client["id"]) for client in await raw.client_list(_type="pubsub")}


async def numsub(raw: aioredis.Redis, channel: str) -> int:
    ((_, count),) = await raw.pubsub_numsub(channel)
    return int(count)


async def test_key_layout_is_the_documented_one(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    ns = redis_store.namespace
    snapshot, _ = await redis_store.join("r1", Participant(id="p1", name="Ann"))

    assert await raw.smembers(f"{ns}:rooms") == {"r1"} == await raw.smembers(rooms_index_key(ns))
    meta = await raw.hgetall(f"{ns}:{{room:r1}}:meta")
    assert meta == {
        "capacity": "3",
        "closed": "0",
        "created_at": meta["created_at"],
        "kind": "group",
        "audience_capacity": "1000",
    }
    assert float(meta["created_at"]) == snapshot.room.created_at
    participants = await raw.hgetall(f"{ns}:{{room:r1}}:participants")
    assert participants == {"p1": snapshot.participants[0].to_json()}
    assert await raw.get(f"{ns}:{{room:r1}}:seq") == "1"
    assert RoomKeys.of(ns, "r1").events == f"{ns}:{{room:r1}}:events"

    await redis_store.close_room("r1")
    assert await raw.hget(f"{ns}:{{room:r1}}:meta", "closed") == "1"
    assert await raw.exists(f"{ns}:{{room:r1}}:participants") == 0


async def test_published_payload_is_room_event_to_json(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    channel = RoomKeys.of(redis_store.namespace, "r").events
    pubsub = raw.pubsub()
    try:
        await pubsub.subscribe(channel)
        assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
        _, joined = await redis_store.join("r", Participant(id="p1", name="Zoë"))
        tricky = {"note": ',"seq":0,', "nested": {"a": [1, 2.5, None, True]}, "ü": "ß"}
        custom = await redis_store.publish("r", "chat", tricky)
        payloads = [(await pubsub.get_message(timeout=5))["data"] for _ in range(2)]
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
    assert payloads == [joined.to_json(), custom.to_json()]
    assert custom.data == tricky


async def test_a_malformed_event_is_dropped_where_it_enters(
    redis_store: RedisStore, raw: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    channel = RoomKeys.of(redis_store.namespace, "r").events
    await redis_store.create_room("r")
    vote = {"participant_id": "a", "product_id": "tee", "variant_id": None, "value": "yes"}
    forged = [
        "not json",
        json.dumps({"room_id": "r", "seq": 1, "type": "tick"}),  # no data
        json.dumps({"room_id": "r", "seq": "1", "type": "tick", "data": {}}),
        # Declared kinds whose data is not what their declaration says:
        json.dumps({"room_id": "r", "seq": 1, "type": "room_closed", "data": {"why": "x"}}),
        json.dumps({"room_id": "r", "seq": 1, "type": "vote_cast",
                    "data": {"vote": vote, "previous": None, "tallies": {"tee": {"yes": "x"}}}}),
        json.dumps({"room_id": "r", "seq": 1, "type": "participant_left",
                    "data": {"participant_id": "a"}}),
    ]
    async with redis_store.subscribe("r") as subscription:
        with caplog.at_level("WARNING", logger="rooms.redis_events"):
            for text in forged:
                assert await raw.publish(channel, text) == 1
            # The feed carries on: the next real event is the next one delivered.
            event = await redis_store.publish("r", "tick", {"n": 1})
            assert await take(subscription, 1) == [event]
    dropped = [r.getMessage() for r in caplog.records if "dropping an event" in r.getMessage()]
    assert len(dropped) == len(forged)
    assert "participant_left event" in dropped[-1] and "reason: Field required" in dropped[-1]


async def test_one_pubsub_connection_serves_every_subscription(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    channel_a = RoomKeys.of(redis_store.namespace, "a").events
    channel_b = RoomKeys.of(redis_store.namespace, "b").events
    before = await pubsub_client_ids(raw)
    async with redis_store.subscribe("a"), redis_store.subscribe("a"), redis_store.subscribe("b"):
        assert len(await pubsub_client_ids(raw) - before) == 1
        assert (await numsub(raw, channel_a), await numsub(raw, channel_b)) == (1, 1)
        async with redis_store.subscribe("a") as extra:
            await redis_store.create_room("a")
            event = await redis_store.publish("a", "tick", {})
            assert await take(extra, 1) == [event]
        # Leaving a shared channel keeps it for the others; the last one out unsubscribes.
        assert await numsub(raw, channel_a) == 1
    await wait_for(
        lambda: _nobody_subscribed(raw, channel_a, channel_b), timeout=5, message="UNSUBSCRIBE"
    )


async def _nobody_subscribed(raw: aioredis.Redis, *channels: str) -> bool:
    return all([await numsub(raw, channel) == 0 for channel in channels])


async def test_close_leaves_no_task_or_connection(redis_url: str, redis_namespace: str) -> None:
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        baseline = {client["id"] for client in await raw.client_list()}
        store = RedisStore(redis_url, namespace=redis_namespace)
        subscription = store.subscribe("r")
        await subscription.__aenter__()
        _, joined = await store.join("r", Participant(id="p", name="p"))
        assert await take(subscription, 1) == [joined]
        assert {client["id"] for client in await raw.client_list()} - baseline
        assert _store_tasks()

        await store.close()
        await store.close()
        assert not _store_tasks()
        await wait_for(
            lambda: _clients_back_to(raw, baseline), timeout=5, message="store connections closed"
        )
        with pytest.raises(StopAsyncIteration):
            await anext(subscription)  # ended by close(), not hanging
        await subscription.__aexit__(None, None, None)
    finally:
        await raw.aclose()


def _store_tasks() -> list[asyncio.Task[object]]:
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not current and not t.done()]


async def _clients_back_to(raw: aioredis.Redis, baseline: set[str]) -> bool:
    return {client["id"] for client in await raw.client_list()} <= baseline


async def test_a_lost_pubsub_connection_makes_subscribers_lag_then_recovers(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    await redis_store.create_room("r")
    before = await pubsub_client_ids(raw)
    async with redis_store.subscribe("r") as first, redis_store.subscribe("r") as second:
        (ours,) = await pubsub_client_ids(raw) - before
        assert await raw.client_kill_filter(_id=ours) == 1
        for subscription in (first, second):
            with pytest.raises(SubscriptionLagged):
                async with asyncio.timeout(5):
                    await anext(subscription)

    async with redis_store.subscribe("r") as fresh:
        event = await redis_store.publish("r", "tick", {})
        assert await take(fresh, 1) == [event]


async def test_cancelled_subscribers_leave_no_subscription_behind(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    channel = RoomKeys.of(redis_store.namespace, "r").events
    for yields in range(8):
        entering = asyncio.create_task(redis_store.subscribe("r").__aenter__())
        for _ in range(yields):
            await asyncio.sleep(0)  # not a wait: lets the task reach its next await point
        entering.cancel()
        await asyncio.wait([entering])
        if not entering.cancelled():  # it got in before the cancel: leave properly
            await entering.result().__aexit__(None, None, None)
    await wait_for(lambda: _nobody_subscribed(raw, channel), timeout=5, message="unsubscribed")

    await redis_store.create_room("r")
    async with redis_store.subscribe("r") as subscription:
        event = await redis_store.publish("r", "tick", {})
        assert await take(subscription, 1) == [event]


async def test_an_unsubscribe_confirmed_before_detach_resumes_is_no_error(
    redis_store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seen on a loaded machine at shutdown: the listener read the UNSUBSCRIBE confirmation
    # (and dropped the channel) before detach() got past writing it.
    channel = RoomKeys.of(redis_store.namespace, "r").events
    hub = redis_store._events
    subscription = redis_store.subscribe("r")
    await subscription.__aenter__()
    pubsub = hub._pubsub
    assert pubsub is not None
    unsubscribe = pubsub.unsubscribe

    async def confirmed_first(*channels: str) -> None:
        await unsubscribe(*channels)
        await wait_for(lambda: channel not in hub._channels, message="confirmation read")

    monkeypatch.setattr(pubsub, "unsubscribe", confirmed_first)
    await subscription.__aexit__(None, None, None)
    assert channel not in hub._channels


async def test_shopping_keys_are_the_documented_ones(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    ns = redis_store.namespace
    await redis_store.create_room("s", catalog=SHOP, image_base="/img")
    await redis_store.join("s", Participant(id="h", name="Host", role=Role.HOST))
    await redis_store.move_carousel("s", Move.NEXT, by="h", expected_version=0)
    await redis_store.cast_vote("s", Vote("h", "tee", Verdict.YES, "tee-m"))
    await redis_store.add_to_cart("s", by="h", product_id="cap")
    await redis_store.post_chat("s", "h", "hi")
    await redis_store.react("s", "h", "🔥")
    await redis_store.open_vote_round("s", by="h", duration=60)

    def key(suffix: str) -> str:
        return f"{ns}:{{room:s}}:{suffix}"

    keys = RoomKeys.of(ns, "s")
    assert keys.carousel == key("carousel") and keys.reactions == key("reactions")
    assert await raw.hgetall(key("catalog")) == {
        "revision": "0", "currency": "USD", "image_base": "/img", "checkout": ""
    }
    assert await raw.lrange(key("product_ids"), 0, -1) == list(SHOP.product_ids)
    assert Product.model_validate_json(await raw.hget(key("products"), "tee")) == SHOP.get("tee")
    assert await raw.sismember(key("variants"), pair_key("tee", "tee-m"))
    assert await raw.hgetall(key("carousel")) == {"index": "1", "version": "1",
                                                  "mode": "host_led"}
    vote = json.loads(await raw.hget(key("votes"), pair_key("h", "tee")))
    assert vote == {"participant_id": "h", "product_id": "tee", "variant_id": "tee-m",
                    "value": "yes"}
    assert Tally.from_dict(json.loads(await raw.hget(key("tallies"), "tee"))).yes == 1
    assert json.loads(await raw.hget(key("cart"), pair_key("cap", None)))["added_by"] == "h"
    assert [json.loads(m)["text"] for m in await raw.lrange(key("chat"), 0, -1)] == ["hi"]
    assert await raw.hgetall(key("reactions")) == {'["cap","🔥"]': "1"}
    assert await raw.hgetall(key("shown")) == {"tee": "1", "cap": "1"}
    assert await raw.hgetall(key("stats")) == {"votes_cast": "1", "chat_messages": "1"}
    assert json.loads(await raw.get(key("round")))["state"] == "open"
    # Every key of the room shares its hash tag, so its scripts touch one cluster slot.
    room_keys = [k async for k in raw.scan_iter(match=f"{ns}:*") if "{nodes}" not in k]
    assert await raw.hkeys(key("last_chat")) == ["h"]  # slow mode's clock, written by chat
    assert await raw.hgetall(key("cart_adds")) == {"cap": "1"}  # the recap's, by cart_add
    # the index, then the room's 19 keys (presence, last_chat and cart_adds included)
    assert len(room_keys) == 20
    assert all("{room:s}" in k for k in room_keys if k != f"{ns}:rooms")
    # The joining node's bookkeeping lives apart, under one hash tag of its own.
    node_keys = [k async for k in raw.scan_iter(match=f"{ns}:{{nodes}}:*")]
    assert node_keys == [f"{ns}:{{nodes}}:rooms:{redis_store.owner}"]


async def test_shopping_state_survives_a_new_store(redis_url: str, redis_namespace: str) -> None:
    first = RedisStore(redis_url, namespace=redis_namespace)
    try:
        await first.create_room("s", catalog=SHOP)
        await first.join("s", Participant(id="h", name="Host", role=Role.HOST))
        await first.move_carousel("s", Move.GOTO, by="h", product_id="boots", expected_version=0)
        await first.cast_vote("s", Vote("h", "boots", 5))
        await first.add_to_cart("s", by="h", product_id="boots", variant_id="boots-41")
        await first.post_chat("s", "h", "still here?")
        before = await first.snapshot("s")
    finally:
        await first.close()
    second = RedisStore(redis_url, namespace=redis_namespace)
    try:
        after = await second.snapshot("s")
        assert after == before
        assert after.shopping.carousel.state.current == "boots"
        event = await second.move_carousel("s", Move.NEXT, by="h", expected_version=1)
        assert event.seq == before.seq + 1
    finally:
        await second.close()
