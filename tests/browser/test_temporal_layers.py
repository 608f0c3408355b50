"""Chromium publishes VP8 with three temporal layers (L1T3), as the SFU's bandwidth adaptation
needs: the server sees packets of layers 1 and 2, and the view message carries tile sizes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from tests.browser.api import create_room
from tests.browser.conftest import OpenPage
from tests.browser.server import CoshopServer
from tests.helpers import wait_for
from tests.scrape import parse

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CoshopServer]:
    """This module's own node, logging at INFO (what the SFU hears of each downlink)."""
    node = CoshopServer(tmp_path_factory.mktemp("coshop"), settings={"COSHOP_LOG_LEVEL": "INFO"})
    await node.start()
    yield node
    await node.stop()


async def _layer_bytes(server: CoshopServer, participant: str) -> tuple[float, float, float]:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as response:
        page = parse(await response.text())
    figures = []
    for figure in ("bytes_in", "bytes_in_layer1", "bytes_in_layer2"):
        figures.append(
            sum(
                v
                for (name, labels), v in page.items()
                if name == f"coshop_track_{figure}_total"
                and ("participant", participant) in labels
                and ("kind", "video") in labels
            )
        )
    return figures[0], figures[1], figures[2]


async def test_chromium_publishes_three_temporal_layers(
    open_page: OpenPage, server: CoshopServer
) -> None:
    room = f"layers-{uuid.uuid4().hex[:8]}"
    await create_room(server.url, room)
    ann, bob = await open_page(f"/r/{room}"), await open_page(f"/r/{room}")
    await ann.join("Ann")
    await bob.join("Bob")
    await ann.wait_playing({"Bob"})
    await bob.wait_playing({"Ann"})
    ann_id = (await ann.you())["id"]

    async def layered() -> bool:
        total, t1, t2 = await _layer_bytes(server, ann_id)
        return total > 0 and t1 > 0 and t2 > 0

    await wait_for(layered, timeout=10, interval=0.5)
    total, t1, t2 = await _layer_bytes(server, ann_id)
    # L1T3 at 30 fps: layer 2 is every other frame, layer 1 every fourth; the base layer
    # (every fourth, with the keyframes) carries the most bits per frame.
    assert t1 + t2 < total
    # The grid told the server the size of Bob's tile at Ann's (ResizeObserver).
    sizes = await ann.page.evaluate("() => window.coshop.call.tileSizes")
    bob_id = (await bob.you())["id"]
    assert sizes is not None and bob_id in sizes and sizes[bob_id][0] > 100, sizes


async def test_chromium_reports_its_downlink_with_remb(
    open_page: OpenPage, server: CoshopServer
) -> None:
    """The SFU's offers carry goog-remb and it stamps abs-send-time, so Chromium (which gets
    no transport-cc from aiortc) estimates its downlink and says so in REMB."""
    room = f"remb-{uuid.uuid4().hex[:8]}"
    await create_room(server.url, room)
    ann, bob = await open_page(f"/r/{room}"), await open_page(f"/r/{room}")
    await ann.join("Ann")
    await bob.join("Bob")
    await ann.wait_playing({"Bob"})
    await bob.wait_playing({"Ann"})
    ids = [(await page.you())["id"] for page in (ann, bob)]
    await wait_for(
        lambda: all(f"peer {i}: downlink" in server.log_path.read_text() for i in ids),
        timeout=10,
        interval=0.5,
    )
