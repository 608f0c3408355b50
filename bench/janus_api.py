"""A small client of Janus's HTTP API (REST plus long poll) and its VideoRoom plugin, written
from Janus's documented API for the Janus baseline benchmark (bench/janus_bench.py).

Janus's API: POST ``{"janus": "create"}`` to the base path makes a session; POST ``attach``
with a plugin name to ``/{session}`` makes a handle; POST ``message`` with a plugin ``body``
(and an optional ``jsep``) to ``/{session}/{handle}``. Quick plugin requests answer
``success`` at once; the others answer ``ack`` and their result comes later as an ``event``
carrying the request's ``transaction``, read by a long poll (GET ``/{session}?maxev=N``), which
also keeps the session alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import aiohttp

VIDEOROOM = "janus.plugin.videoroom"
POLL_EVENTS = 20
REQUEST_TIMEOUT = 30.0


class JanusError(RuntimeError):
    """Janus (or its plugin) refused a request."""


class JanusSession:
    """One Janus session over HTTP; ``message`` waits for a request's event when it is
    asynchronous. Open with ``open``, close with ``close`` (which owns the poll task)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self.id: int | None = None
        self._transactions = (f"t{n}" for n in itertools.count())
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poll_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        reply = await self._post(self._base, {"janus": "create"})
        self.id = int(reply["data"]["id"])
        self._poll_task = asyncio.create_task(self._poll(), name=f"janus-poll-{self.id}")

    async def close(self) -> None:
        task, self._poll_task = self._poll_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self.id is not None:
            with contextlib.suppress(aiohttp.ClientError, JanusError, TimeoutError):
                await self._post(f"{self._base}/{self.id}", {"janus": "destroy"})
            self.id = None

    async def attach(self, plugin: str = VIDEOROOM) -> int:
        """A new handle on ``plugin``."""
        reply = await self._post(f"{self._base}/{self.id}", {"janus": "attach", "plugin": plugin})
        return int(reply["data"]["id"])

    async def detach(self, handle: int) -> None:
        with contextlib.suppress(aiohttp.ClientError, JanusError):
            await self._post(f"{self._base}/{self.id}/{handle}", {"janus": "detach"})

    async def message(self, handle: int, body: dict[str, Any],
                      jsep: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
        """Send a plugin request; its result (the plugin's data) and jsep, if any."""
        request: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        transaction = next(self._transactions)
        # Registered before sending: the event may reach the long poll before the ack.
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        try:
            reply = await self._post(f"{self._base}/{self.id}/{handle}", request, transaction)
            if reply["janus"] != "ack":
                event = reply
            else:
                event = await asyncio.wait_for(future, REQUEST_TIMEOUT)
        finally:
            self._pending.pop(transaction, None)
        data = event.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{body.get('request')}: {data['error']} ({data.get('error_code')})")
        return data, event.get("jsep")

    async def _post(self, url: str, request: dict[str, Any],
                    transaction: str | None = None) -> dict[str, Any]:
        request["transaction"] = transaction or next(self._transactions)
        async with self._http.post(url, json=request,
                                   timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as r:
            reply: dict[str, Any] = await r.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(f"{request['janus']}: {reply.get('error')}")
        return reply

    async def _poll(self) -> None:
        url = f"{self._base}/{self.id}?maxev={POLL_EVENTS}"
        while True:
            try:
                async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=70)) as r:
                    got = await r.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.1)
                continue
            for event in got if isinstance(got, list) else [got]:
                future = self._pending.get(event.get("transaction", ""))
                if future is not None and not future.done() and event.get("janus") == "event":
                    future.set_result(event)
