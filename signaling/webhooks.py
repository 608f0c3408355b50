"""Webhook deliveries: room events POSTed, signed, to the configured endpoints.

The hubs hand every room event to ``Webhooks.observe``; one intake task maps it to webhook
events (signaling.webhook_events), delivers only those this node wins the claim of
(signaling.webhook_claims) and queues each for every endpoint that wants it. One worker per
endpoint POSTs its queue in order, each event until a 2xx answer or its attempts run out
(signaling.webhook_backoff): at-least-once while this node runs. A full queue drops the new
event (``dropped`` in the log, ``coshop_webhook_deliveries_total{result="dropped"}``).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from rooms.models import RoomEvent
from signaling.webhook_backoff import Backoff
from signaling.webhook_claims import EventClaims
from signaling.webhook_endpoints import WebhookEndpoint
from signaling.webhook_events import (
    DECLARED,
    WebhookEvent,
    from_room_event,
    recap_ready,
)
from signaling.webhook_signature import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

log = logging.getLogger(__name__)

USER_AGENT = "coshop-webhooks/1"
ATTEMPT_TIMEOUT = 10.0
"""Seconds one POST may take (connect, send, answer) before it counts as failed."""
LOG_SIZE = 500
"""Deliveries the log keeps (the oldest go first)."""

RecapReader = Callable[[str], Awaitable["dict[str, Any] | None"]]


class DeliveryStatus(enum.Enum):
    QUEUED = "queued"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"
    """Every attempt failed."""
    DROPPED = "dropped"
    """The endpoint's queue was full: never attempted."""


@dataclass(eq=False, slots=True)
class Delivery:
    """One event to one endpoint, as the delivery log shows it (updated as it goes)."""

    event_id: str
    type: str
    url: str
    status: DeliveryStatus = DeliveryStatus.QUEUED
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)


class _Queue:
    """One endpoint's bounded queue."""

    def __init__(self, endpoint: WebhookEndpoint, size: int) -> None:
        self.endpoint = endpoint
        self.items: asyncio.Queue[tuple[WebhookEvent, Delivery]] = asyncio.Queue(size)


class Webhooks:
    """This node's webhook deliveries (started and closed with the Node)."""

    def __init__(
        self,
        endpoints: list[WebhookEndpoint],
        claims: EventClaims,
        *,
        backoff: Backoff | None = None,
        queue_size: int = 1000,
        recap: RecapReader | None = None,
        log_size: int = LOG_SIZE,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.results: Counter[str] = Counter()
        """Deliveries finished, by result: delivered, failed, dropped."""
        self._claims = claims
        self._recap = recap
        self._queues = [_Queue(e, queue_size) for e in endpoints]
        self._intake: asyncio.Queue[RoomEvent] = asyncio.Queue(queue_size)
        self._log: deque[Delivery] = deque(maxlen=log_size)
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def enabled(self) -> bool:
        return bool(self._queues)

    def start(self) -> None:
        """Start the intake and one worker per endpoint (nothing without endpoints)."""
        if not self.enabled or self._tasks or self._closed:
            return
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT),
            headers={"User-Agent": USER_AGENT},
        )
        self._tasks.append(asyncio.create_task(self._take_in(), name="webhooks:intake"))
        for queue in self._queues:
            name = f"webhooks:{queue.endpoint.url}"
            self._tasks.append(asyncio.create_task(self._work(queue), name=name))

    def observe(self, event: RoomEvent) -> None:
        """A room event this node saw (it may see one twice: the claim decides). Never blocks."""
        if not self._tasks or type(event.body) not in DECLARED:
            return
        try:
            self._intake.put_nowait(event)
        except asyncio.QueueFull:
            self.results["dropped"] += 1
            log.warning("webhooks: intake full; %s %s:%d dropped", event.type, event.room_id,
                        event.seq)

    def deliveries(self, limit: int = 100) -> list[Delivery]:
        """The latest deliveries, newest first."""
        return list(reversed(self._log))[:limit]

    def queued(self) -> dict[str, int]:
        """Deliveries waiting, by endpoint URL."""
        return {q.endpoint.url: q.items.qsize() for q in self._queues}

    async def close(self) -> None:
        """Stop every task (queued deliveries are abandoned) and the HTTP client (idempotent)."""
        self._closed = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._claims.close()

    async def _take_in(self) -> None:
        while True:
            event = await self._intake.get()
            try:
                await self._take(event)
            except Exception:  # one bad event must not end every later delivery
                log.exception("webhooks: %s %s:%d not taken in", event.type, event.room_id,
                              event.seq)

    async def _take(self, event: RoomEvent) -> None:
        for made in from_room_event(event):
            if not await self._claims.claim(made.id):
                continue
            self._enqueue(made)
            if made.type == "room_finished":
                self._enqueue(recap_ready(made, await self._read_recap(made.room_id)))

    async def _read_recap(self, room_id: str) -> dict[str, Any] | None:
        if self._recap is None:
            return None
        try:
            return await self._recap(room_id)
        except Exception as exc:  # the store is down or the room expired: the path still says
            log.warning("webhooks: recap of %s unreadable: %s", room_id, exc)
            return None

    def _enqueue(self, event: WebhookEvent) -> None:
        for queue in self._queues:
            if not queue.endpoint.wants(event.type):
                continue
            delivery = Delivery(event.id, event.type, queue.endpoint.url)
            self._log.append(delivery)
            try:
                queue.items.put_nowait((event, delivery))
            except asyncio.QueueFull:
                delivery.status = DeliveryStatus.DROPPED
                self.results["dropped"] += 1
                log.warning("webhooks: queue of %s full; %s dropped", queue.endpoint.url, event.id)

    async def _work(self, queue: _Queue) -> None:
        while True:
            event, delivery = await queue.items.get()
            try:
                await self._deliver(queue.endpoint, event, delivery)
            except Exception as exc:  # a bug, not the receiver: give this one up, go on
                log.exception("webhooks: delivering %s to %s failed", event.id,
                              queue.endpoint.url)
                delivery.status = DeliveryStatus.FAILED
                delivery.last_error = f"{type(exc).__name__}: {exc}"[:200]
                self.results["failed"] += 1

    async def _deliver(self, endpoint: WebhookEndpoint, event: WebhookEvent,
                       delivery: Delivery) -> None:
        assert self._session is not None
        body = event.body()
        while True:
            delivery.attempts += 1
            # Signed anew each attempt: a receiver's replay window holds for a late retry too.
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature_header(endpoint.secret, int(time.time()), body),
                EVENT_ID_HEADER: event.id,
                EVENT_TYPE_HEADER: event.type,
            }
            try:
                async with self._session.post(endpoint.url, data=body, headers=headers) as resp:
                    await resp.read()
                    delivery.last_status = resp.status
                    ok = 200 <= resp.status < 300
                    delivery.last_error = None if ok else f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                ok = False
                delivery.last_error = f"{type(exc).__name__}: {exc}"[:200]
            delivery.updated_at = time.time()
            if ok:
                delivery.status = DeliveryStatus.DELIVERED
                self.results["delivered"] += 1
                return
            wait = self.backoff.delay(delivery.attempts)
            if wait is None:
                delivery.status = DeliveryStatus.FAILED
                self.results["failed"] += 1
                log.warning("webhooks: %s to %s failed after %d attempts: %s", event.id,
                            endpoint.url, delivery.attempts, delivery.last_error)
                return
            delivery.status = DeliveryStatus.RETRYING
            await asyncio.sleep(wait)


class WebhookCollector:
    """``coshop_webhook_*`` metrics of a node's Webhooks (read when scraped)."""

    def __init__(self, webhooks: Webhooks) -> None:
        self._webhooks = webhooks

    def collect(self) -> Iterator[Metric]:
        results = CounterMetricFamily(
            "coshop_webhook_deliveries", "Webhook deliveries finished, by result (dropped: "
            "a full queue refused them).", labels=["result"],
        )
        for result in ("delivered", "failed", "dropped"):
            results.add_metric([result], self._webhooks.results[result])
        yield results
        queued = GaugeMetricFamily("coshop_webhook_queued",
                                   "Webhook deliveries waiting, by endpoint.", labels=["url"])
        for url, n in self._webhooks.queued().items():
            queued.add_metric([url], n)
        yield queued
