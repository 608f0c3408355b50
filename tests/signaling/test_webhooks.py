"""Webhooks of one node (memory store) to a real aiohttp receiver that checks signatures:
every event arrives, signed, through a receiver outage; a wrong secret is refused and retried;
the delivery log and /metrics tell what happened."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from rooms.catalog import sample_catalog
from signaling import Settings
from signaling.keys import NODE
from tests.helpers import wait_for
from tests.signaling.webhook_receiver import Receiver
from tests.signaling.wsclient import WsClient

Client = TestClient[web.Request, web.Application]
SECRET = "whsec_test_0123456789"
PRODUCT = sample_catalog().product_ids[0]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(SECRET) as r:
        yield r


def webhook_settings(*endpoints: dict[str, object], **more: object) -> Settings:
    fields: dict[str, object] = {"webhook_retry_base": 0.05, "webhook_attempts": 30, **more}
    return Settings(port=0, node_id="hooks", webhooks=json.dumps(list(endpoints)),
                    **fields)  # type: ignore[arg-type]


async def deliveries(client: Client) -> list[dict[str, object]]:
    response = await client.get("/api/webhooks/deliveries", params={"limit": "500"})
    assert response.status == 200
    body = await response.json()
    items: list[dict[str, object]] = body["deliveries"]
    return items


async def test_every_event_arrives_signed_through_a_receiver_outage(
    make_client: Callable[[Settings], Awaitable[Client]], receiver: Receiver
) -> None:
    client = await make_client(webhook_settings({"url": receiver.url, "secret": SECRET}))
    room = "hooked"
    assert (await client.post("/api/rooms", json={"id": room})).status == 201
    ann = WsClient(await client.ws_connect("/ws"))
    bob = WsClient(await client.ws_connect("/ws"))
    assert (await ann.join(room, "ann")).type == "joined"
    assert (await bob.join(room, "bob")).type == "joined"
    await wait_for(lambda: receiver.types()["participant_joined"] == 2,
                   message="both joins delivered")
    assert receiver.types()["room_started"] == 1

    await receiver.stop()  # the outage: everything from here is refused at first
    await bob.send({"type": "cart_add", "product_id": PRODUCT})
    await bob.close()
    opened = await client.post(f"/api/rooms/{room}/vote-round", json={"duration": 60})
    assert opened.status == 201
    assert (await client.delete(f"/api/rooms/{room}/vote-round")).status == 200

    async def retried() -> bool:
        return any(d["attempts"] >= 3 and d["status"] == "retrying"
                   for d in await deliveries(client))
    await wait_for(retried, message="deliveries retried during the outage")
    await receiver.start()

    assert (await client.delete(f"/api/rooms/{room}")).status == 200  # ann is still in
    await ann.close()
    expected = {"room_started": 1, "participant_joined": 2, "cart_item_added": 1,
                "participant_left": 1, "vote_round_closed": 1, "room_finished": 1,
                "recap_ready": 1}
    try:
        await wait_for(lambda: receiver.types() == expected, timeout=15)
    except AssertionError:
        log = await deliveries(client)
        raise AssertionError(f"{receiver.types()} != {expected}: {log}") from None

    async def settled() -> list[dict[str, object]] | None:
        log = await deliveries(client)
        return log if all(d["status"] == "delivered" for d in log) else None
    log = await wait_for(settled, message="the log shows every delivery done")
    assert {d["event_id"] for d in log} == set(receiver.ids)
    assert all(d["status"] == "delivered" and d["last_status"] == 204 for d in log), log
    assert max(int(str(d["attempts"])) for d in log) >= 3
    recap = next(p for p in receiver.accepted if p["type"] == "recap_ready")
    assert recap["data"]["recap"]["cart_adds"] == {PRODUCT: 1}
    cart = next(p for p in receiver.accepted if p["type"] == "cart_item_added")
    assert cart["data"]["item"]["product_id"] == PRODUCT
    metrics = await (await client.get("/metrics")).text()
    assert f'coshop_webhook_deliveries_total{{result="delivered"}} {len(log)}.0' in metrics


async def test_each_event_arrives_once_when_the_receiver_is_up(
    make_client: Callable[[Settings], Awaitable[Client]], receiver: Receiver
) -> None:
    client = await make_client(webhook_settings({"url": receiver.url, "secret": SECRET}))
    assert (await client.post("/api/rooms", json={"id": "once"})).status == 201
    ann = WsClient(await client.ws_connect("/ws"))
    assert (await ann.join("once", "ann")).type == "joined"
    await ann.send({"type": "cart_add", "product_id": PRODUCT})
    await ann.until("cart_item_added")
    # Closed through the API with ann still in: the API and the room's hub both see it.
    assert (await client.delete("/api/rooms/once")).status == 200
    await ann.close()
    expected = {"room_started": 1, "participant_joined": 1, "cart_item_added": 1,
                "room_finished": 1, "recap_ready": 1}
    await wait_for(lambda: receiver.types() == expected, message="every event delivered")
    assert set(receiver.ids.values()) == {1}, receiver.ids
    assert len(receiver.accepted) == 5


async def test_a_wrong_secret_is_refused_and_only_the_right_one_delivers(
    make_client: Callable[[Settings], Awaitable[Client]], receiver: Receiver
) -> None:
    client = await make_client(webhook_settings(
        {"url": receiver.url, "secret": SECRET, "events": ["room_finished"]},
        {"url": receiver.url, "secret": "not-the-receivers-secret", "events": ["room_finished"]},
        webhook_attempts=3,
    ))
    assert (await client.post("/api/rooms", json={"id": "wrong"})).status == 201
    assert (await client.delete("/api/rooms/wrong")).status == 200

    async def failed() -> list[dict[str, object]]:
        return [d for d in await deliveries(client) if d["status"] == "failed"]
    [bad] = await wait_for(failed, message="the wrong secret's delivery gave up")
    assert bad["attempts"] == 3 and bad["last_status"] == 401
    assert receiver.rejected == 3
    assert receiver.types() == {"room_finished": 1}
    metrics = await (await client.get("/metrics")).text()
    assert 'coshop_webhook_deliveries_total{result="failed"} 1.0' in metrics
    bad_limit = await client.get("/api/webhooks/deliveries", params={"limit": "0"})
    assert bad_limit.status == 400


async def test_a_full_queue_drops_and_counts(
    make_client: Callable[[Settings], Awaitable[Client]]
) -> None:
    # Nobody listens on this port: the first delivery retries while the rest fill the queue.
    client = await make_client(webhook_settings(
        {"url": "http://127.0.0.1:9/hook", "secret": SECRET}, webhook_queue=1,
    ))
    for room in ("q1", "q2", "q3"):
        assert (await client.post("/api/rooms", json={"id": room})).status == 201
        assert (await client.delete(f"/api/rooms/{room}")).status == 200

    async def dropped() -> list[dict[str, object]]:
        return [d for d in await deliveries(client) if d["status"] == "dropped"]
    gone = await wait_for(dropped, message="a full queue dropped deliveries")
    assert client.app[NODE].webhooks.results["dropped"] == len(gone)
    metrics = await (await client.get("/metrics")).text()
    assert f'coshop_webhook_deliveries_total{{result="dropped"}} {len(gone)}.0' in metrics


async def test_closing_the_app_stops_every_webhook_task_mid_retry(
    make_client: Callable[[Settings], Awaitable[Client]]
) -> None:
    client = await make_client(webhook_settings({"url": "http://127.0.0.1:9/hook",
                                                 "secret": SECRET}))
    webhooks = client.app[NODE].webhooks
    assert (await client.post("/api/rooms", json={"id": "bye"})).status == 201
    assert (await client.delete("/api/rooms/bye")).status == 200

    async def retrying() -> bool:
        return any(d["status"] == "retrying" for d in await deliveries(client))
    await wait_for(retrying, message="a delivery is retrying")

    def ours() -> list[asyncio.Task[object]]:
        return [t for t in asyncio.all_tasks() if t.get_name().startswith("webhooks:")]
    assert len(ours()) == 2  # the intake and the endpoint's worker
    await client.close()  # the app's cleanup context closes the node
    assert ours() == []
    await webhooks.close()  # idempotent
