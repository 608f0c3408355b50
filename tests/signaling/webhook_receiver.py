"""A real webhook receiver for the tests: an aiohttp server that checks each signature the
way the README tells integrators to (it imports nothing from coshop), and counts what came."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.browser.server import free_port


def verify(secret: str, header: str, body: bytes, tolerance: float = 300.0) -> bool:
    """``Coshop-Signature: t=<unix>,v1=<hex>`` over ``<t>.<body>``, as the README shows."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts or abs(time.time() - int(parts["t"])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@dataclass
class Receiver:
    """POST /hook: 204 for a valid signature under ``secret``, 401 otherwise."""

    secret: str
    port: int = field(default_factory=free_port)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    """Payloads with a valid signature, in arrival order (repeats included)."""
    ids: Counter[str] = field(default_factory=Counter)
    """``Coshop-Event-Id`` of each accepted request."""
    rejected: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, request.headers.get("Coshop-Signature", ""), body):
            self.rejected += 1
            return web.Response(status=401)
        payload = json.loads(body)
        assert request.headers["Coshop-Event-Id"] == payload["id"]
        assert request.headers["Coshop-Event-Type"] == payload["type"]
        self.accepted.append(payload)
        self.ids[payload["id"]] += 1
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def types(self) -> Counter[str]:
        """Distinct events received, by type."""
        seen = {p["id"]: p["type"] for p in self.accepted}
        return Counter(seen.values())
