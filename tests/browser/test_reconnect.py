"""Connections that break: a network blip and a server restart under two browsers. They reconnect
by themselves, rejoin, play each other again and show the room's state from the new snapshot
(issue 4). Room state lives in Redis, so it survives the restart as it does in production."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.api import create_room
from tests.browser.conftest import OpenPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> AsyncIterator[CoshopServer]:
    # The default liveness (COSHOP_WS_TIMEOUT 4.5 s): the server drops a socket that
    # vanished in a blip within seconds.
    node = CoshopServer(tmp_path_factory.mktemp("coshop-redis"), redis_url=redis_url)
    await node.start()
    yield node
    await node.stop()


async def test_network_blip(open_page: OpenPage, server: CoshopServer) -> None:
    room = f"blip-{uuid.uuid4().hex[:8]}"
    await create_room(server.url, room)
    ann = await open_page(f"/r/{room}")
    await ann.join("Ann")
    bob = await open_page(f"/r/{room}")
    await bob.join("Bob")
    await ann.wait_playing({"Bob"})
    old_bob = (await bob.you())["id"]

    # Bob's network drops: his page says so at once, and keeps trying.
    await bob.page.context.set_offline(True)
    await expect(bob.page.get_by_role("alert")).to_have_text("Connection lost. Reconnecting…")
    await bob.page.context.set_offline(False)
    await bob.wait_joined()
    # Back in as the same person (the resume credential), not a new participant.
    assert (await bob.you())["id"] == old_bob
    await bob.wait_playing({"Ann"})
    await ann.wait_playing({"Bob"})
    await expect(bob.page.locator("#banner")).to_be_hidden()
    for page in (ann, bob):
        assert page.errors == [], page.errors


async def test_server_restart(
    open_page: OpenPage, server: CoshopServer, artifacts: Path
) -> None:
    room = f"restart-{uuid.uuid4().hex[:8]}"
    await create_room(server.url, room)
    ann = await open_page(f"/r/{room}")
    await ann.join("Ann")
    bob = await open_page(f"/r/{room}")
    await bob.join("Bob")
    await ann.wait_playing({"Bob"})
    await bob.wait_playing({"Ann"})
    # Something to find again after the restart: a vote.
    await bob.page.get_by_role("button", name="Vote Yes").click()
    await expect(ann.page.locator("button.vote.yes .count")).to_have_text("1")

    # The server goes away: both say so, and keep trying.
    await server.stop()
    for page in (ann, bob):
        await expect(page.page.get_by_role("alert")).to_have_text("Connection lost. Reconnecting…")
        await expect(page.page.locator("#conn-status")).to_have_text("Reconnecting…")
    await ann.screenshot(str(artifacts / "reconnecting-desktop.png"))

    await server.start()
    for page in (ann, bob):
        await page.wait_joined(seconds=30)
    await ann.wait_playing({"Bob"})
    await bob.wait_playing({"Ann"})
    for page in (ann, bob):
        await expect(page.page.locator("button.vote.yes .count")).to_have_text("1")
        await expect(page.page.locator("#banner")).to_be_hidden()
        assert page.errors == [], page.errors
