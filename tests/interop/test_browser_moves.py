"""The product's web client in Chromium follows the room across nodes: a page served by a node
that does not have the room is redirected to the one that does; when that node drains
(SIGTERM) the page moves with its room as the same participant; when the room's node is
killed behind haproxy, the page reconnects through the balancer and plays again."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.browser.room_page import RoomPage
from tests.haproxy import Haproxy
from tests.interop.conftest import Server
from tests.interop.stranger import Stranger
from tests.interop.test_chromium_publishers import chromium, chromium_page, playwright
from tests.interop.waiting import until
from tests.redis_server import RedisServer

pytestmark = [pytest.mark.media, pytest.mark.browser, pytest.mark.redis]

__all__ = ["chromium", "playwright"]  # fixtures used below


async def peers(server: Server) -> int:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/healthz") as response:
        return int((await response.json())["peers"])


async def test_a_page_on_the_wrong_node_is_redirected_and_moves_when_the_node_drains(
    redis: RedisServer, serve: Callable[..., Server], playwright: object, tmp_path: Path
) -> None:
    a = serve(redis_url=redis.url, node_id="node-a")
    b = serve(redis_url=redis.url, node_id="node-b")
    room = f"moves-{uuid.uuid4().hex[:6]}"
    colours: dict[str, int] = {}
    ann = Stranger(a.url, "Ann", 2, colour_of=colours.get, auto_reconnect=True)
    browser = None
    try:
        await ann.join(room)
        assert ann.me is not None
        colours[ann.me] = 2
        owner, other = (a, b) if await peers(a) else (b, a)
        # The page comes from the node that does not have the room.
        browser, page = await chromium_page(
            playwright, tmp_path, 0, f"{other.url}/r/{room}", "Rosa"
        )
        rosa = await page.evaluate("() => window.coshop.room.you.id")
        colours[rosa] = 0
        rosa_page = RoomPage(page, other.url)
        await rosa_page.wait_playing({"Ann"}, seconds=40)
        trace = "\n".join(await rosa_page.trace())
        assert "got redirect" in trace, trace
        assert await peers(owner) == 2 and await peers(other) == 0
        await until(lambda: ann.right_frames(rosa) >= 20, 30, "Ann decodes Rosa")

        # The room's node drains: both move to the other node, as themselves.
        termed = time.monotonic()
        owner.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(owner.process.wait, 20) == 0
        await until(lambda: ann.received[rosa].arrivals[-1] > termed + 0.5, 30,
                    "Ann decodes Rosa again after the drain")
        await rosa_page.wait_playing({"Ann"}, seconds=30)
        assert await page.evaluate("() => window.coshop.room.you.id") == rosa
        assert await peers(other) == 2
        assert rosa_page.errors == [] and ann.errors == []
    finally:
        await ann.close()
        if browser is not None:
            await browser.close()


async def test_chromium_behind_the_balancer_plays_again_after_its_node_is_killed(
    redis: RedisServer, serve: Callable[..., Server], playwright: object, tmp_path: Path
) -> None:
    nodes = [serve(redis_url=redis.url, node_id=f"node-{i}") for i in (1, 2, 3)]
    balancer = Haproxy(tmp_path, [urlsplit(n.url).netloc for n in nodes])
    await balancer.start()
    room = f"killed-{uuid.uuid4().hex[:6]}"
    colours: dict[str, int] = {}
    ann = Stranger(balancer.url, "Ann", 2, colour_of=colours.get, auto_reconnect=True)
    browser = None
    try:
        await ann.join(room)
        assert ann.me is not None
        colours[ann.me] = 2
        browser, page = await chromium_page(
            playwright, tmp_path, 0, f"{balancer.url}/r/{room}", "Rosa"
        )
        rosa = await page.evaluate("() => window.coshop.room.you.id")
        colours[rosa] = 0
        rosa_page = RoomPage(page, balancer.url)
        await rosa_page.wait_playing({"Ann"}, seconds=40)
        counts = [await peers(n) for n in nodes]
        assert sorted(counts) == [0, 0, 2], counts
        owner = nodes[counts.index(2)]
        killed = time.monotonic()
        owner.process.send_signal(signal.SIGKILL)
        owner.process.wait()
        await rosa_page.wait_playing({"Ann"}, seconds=30)
        await until(lambda: rosa in ann.received
                    and any(t > killed + 0.5 for t in ann.received[rosa].arrivals),
                    30, "Ann decodes Rosa again")
        back = time.monotonic() - killed
        assert await page.evaluate("() => window.coshop.room.you.id") == rosa
        print(f"\nChromium playing again {back:.2f} s after SIGKILL of its room's node")
    finally:
        await ann.close()
        if browser is not None:
            await browser.close()
        await balancer.stop()
