"""Links that lead nowhere (issue 13): a malformed room id, or a well-formed id of a room that
does not exist, get a page that says so and offers a new room; nothing is created by them."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.api import call, create_room
from tests.browser.conftest import OpenPage
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def room_exists(base_url: str, room: str) -> bool:
    async with aiohttp.ClientSession() as session, session.get(
        f"{base_url}/api/rooms/{room}"
    ) as response:
        assert response.status in (200, 404), response.status
        return response.status == 200


async def rooms(base_url: str) -> set[str]:
    return {r["id"] for r in (await call(base_url, "GET", "/api/rooms"))["rooms"]}


async def start_new_room(page: RoomPage, name: str) -> None:
    """From the bad-link page: "Start a new room", then start it as its host."""
    await page.page.get_by_role("button", name="Start a new room").click()
    await expect(page.page.get_by_role("heading", name="Start a shopping room")).to_be_visible()
    await page.media_ready()
    await page.page.get_by_label("Your name").fill(name)
    await page.page.get_by_role("button", name="Start room").click()
    await page.wait_joined()
    assert (await page.you())["role"] == "host"


@pytest.mark.parametrize(
    "path", ["/r/not%20a%20room!!", "/r/" + "a" * 80, "/?room=no%20spaces", "/r/%E0%A4%A"]
)
async def test_malformed_link(open_page: OpenPage, server: CoshopServer, path: str) -> None:
    before = await rooms(server.url)
    page = await open_page(path)
    title = page.page.get_by_role("heading", name="This link is malformed")
    await expect(title).to_be_visible()
    await expect(title).to_be_focused()
    await expect(page.page.locator("#landing")).to_be_hidden()
    assert await rooms(server.url) == before  # no room opened for it
    await start_new_room(page, "Mia")
    assert page.errors == []


async def test_unknown_room(open_page: OpenPage, server: CoshopServer, artifacts: Path) -> None:
    page = await open_page("/r/no-such-room")
    await expect(page.page.get_by_role("heading", name="This room doesn't exist")).to_be_visible()
    await page.screenshot(str(artifacts / "bad-link-desktop.png"))
    assert not await room_exists(server.url, "no-such-room")
    await start_new_room(page, "Uma")
    room = await page.page.evaluate("() => window.coshop.room.room.id")
    assert room != "no-such-room"
    assert not await room_exists(server.url, "no-such-room")
    assert page.errors == []


async def test_typed_code_of_no_room(open_page: OpenPage, server: CoshopServer) -> None:
    """A room code typed on the landing page is checked too: a typo opens no room."""
    page = await open_page("/")
    await page.media_ready()
    await page.page.get_by_label("Your name").fill("Tess")
    await page.page.get_by_label("Room code").fill("typo-room")
    await page.page.locator("#join").click()
    await expect(page.page.get_by_role("heading", name="This room doesn't exist")).to_be_visible()
    assert not await room_exists(server.url, "typo-room")
    assert page.errors == []


async def test_closed_room_link(open_page: OpenPage, server: CoshopServer) -> None:
    await create_room(server.url, "shut-room")
    await call(server.url, "DELETE", "/api/rooms/shut-room")
    page = await open_page("/r/shut-room")
    await expect(page.page.get_by_role("heading", name="This room has been closed")).to_be_visible()
    assert page.errors == []


async def test_existing_room_link_joins(open_page: OpenPage, server: CoshopServer) -> None:
    await create_room(server.url, "real-room")
    page = await open_page("/r/real-room")
    await expect(page.page.get_by_role("heading", name="Join room real-room")).to_be_visible()
    await page.join("Ray")
    assert page.errors == []
