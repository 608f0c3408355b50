"""What a person sees when things are not fine: camera blocked, no camera, a full room, a closed
room (issue 4)."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.api import call
from tests.browser.conftest import OpenPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DENY_ALL = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Permission denied", "NotAllowedError");
};
"""

NO_CAMERA = """
{
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    if (constraints && constraints.video) {
      throw new DOMException("Requested device not found", "NotFoundError");
    }
    return real(constraints);
  };
}
"""


async def test_blocked_camera_offers_watching(open_page: OpenPage, server: CoshopServer) -> None:
    await call(server.url, "POST", "/api/rooms", {"id": "blocked-room"})
    page = await open_page("/r/blocked-room", init_script=DENY_ALL)
    await page.media_ready()
    alert = page.page.get_by_role("alert").filter(has_text="blocked")
    await expect(alert).to_contain_text("join as a viewer")
    viewer = page.page.get_by_label("Watch only")
    await expect(viewer).to_be_checked()
    await expect(viewer).to_be_disabled()
    await expect(page.page.locator("#join")).to_have_text("Join as viewer")
    await page.join("Vera")
    assert (await page.you())["role"] == "viewer"
    await expect(page.page.locator("#grid .tile")).to_have_count(0)
    await expect(page.page.get_by_role("button", name="Microphone")).to_be_hidden()
    await expect(page.page.locator("#people-count")).to_have_text("0 people · 1 watching")
    assert page.errors == []


async def test_no_camera_joins_audio_only(open_page: OpenPage, server: CoshopServer) -> None:
    await call(server.url, "POST", "/api/rooms", {"id": "audio-room"})
    page = await open_page("/r/audio-room", init_script=NO_CAMERA)
    await page.media_ready()
    alert = page.page.get_by_role("alert").filter(has_text="No camera")
    await expect(alert.get_by_role("paragraph")).to_have_text(
        "No camera found: you will join with audio only."
    )
    await expect(page.page.get_by_label("Watch only")).not_to_be_checked()
    await page.join("Abe")
    assert (await page.you())["role"] == "guest"
    self_tile = page.page.locator("#grid .tile.self")
    await expect(self_tile).to_have_attribute("data-audio", "live")
    await expect(self_tile).to_have_attribute("data-video", "none")
    await expect(self_tile.locator(".avatar")).to_be_visible()
    await expect(page.page.get_by_role("button", name="Camera")).to_be_disabled()
    assert page.errors == []


async def test_full_room(open_page: OpenPage, server: CoshopServer) -> None:
    await call(server.url, "POST", "/api/rooms", {"id": "tiny-room", "capacity": 1})
    async with aiohttp.ClientSession() as session, session.ws_connect(
        server.url.replace("http", "ws") + "/ws"
    ) as ws:
        await ws.send_json({"type": "join", "room": "tiny-room", "name": "Occupant"})
        assert (await ws.receive_json(timeout=5))["type"] == "joined"
        page = await open_page("/r/tiny-room")
        await page.media_ready()
        await page.page.get_by_label("Your name").fill("Late")
        await page.page.locator("#join").click()
        await expect(page.page.get_by_role("heading", name="This room is full")).to_be_visible()
        await expect(page.page.get_by_role("button", name="Rejoin")).to_be_visible()
    assert page.errors == []


async def test_closed_room(open_page: OpenPage, server: CoshopServer) -> None:
    await call(server.url, "POST", "/api/rooms", {"id": "closing-room"})
    page = await open_page("/r/closing-room")
    await page.media_ready()
    await page.page.get_by_label("Watch only").check()
    await page.join("Watcher")
    await call(server.url, "DELETE", "/api/rooms/closing-room")
    await expect(page.page.get_by_role("heading", name="This room has been closed")).to_be_visible()
    await expect(page.page.get_by_role("button", name="Rejoin")).to_be_hidden()
    assert page.errors == []
