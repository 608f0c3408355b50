"""The host's page of a live show (issue 14), in Chromium, with a viewer's phone page beside it:
a raised hand → invite to the stage (the guest's camera then plays on the host's page) → mute
its microphone and camera (the guest's page turns them off) → a reload keeps it on the stage →
slow mode, hide a chat message, pin a product → back to the audience; remove and ban an
viewer from the host's page. axe-core finds no serious or critical violation."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.browser.axe import violations
from tests.browser.conftest import OpenPage
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer
from tests.helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ROOM = "host-show"

_VIDEO_JS = """
(id) => {
  const video = document.querySelector(`#live-stage video[data-participant="${id}"]`);
  if (!video) return null;
  return {frames: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth,
          paused: video.paused, guest: Boolean(video.closest('#live-guests'))};
}
"""


async def video_of(page: RoomPage, participant: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await page.page.evaluate(_VIDEO_JS, participant)
    return found


async def frames_advance(page: RoomPage, participant: str) -> None:
    async def playing(after: int) -> int | None:
        v = await video_of(page, participant)
        ok = v is not None and not v["paused"] and v["width"] > 0 and v["frames"] > after
        return v["frames"] if ok and v is not None else None

    first = await wait_for(lambda: playing(0), timeout=30,
                           message=f"{participant}'s video does not play")
    await wait_for(lambda: playing(first + 10), timeout=20,
                   message=f"{participant}'s video frames do not advance")


async def live_value(page: RoomPage, expression: str) -> Any:
    return await page.page.evaluate(f"() => {expression}")


async def test_the_host_page_moderates_a_guest_and_the_guests_page_sees_it(
    open_page: OpenPage, server: CoshopServer
) -> None:
    host = await open_page(f"/live/{ROOM}?host=Hana")
    await host.wait_joined()
    assert (await host.you())["role"] == "host"
    hana = (await host.you())["id"]
    await frames_advance(host, hana)  # its own camera, full-bleed
    tools = host.page.locator("#host-panel")
    assert await tools.is_visible()

    guest = await open_page(f"/live/{ROOM}", phone=True)
    await guest.page.get_by_label("Your name").fill("Gus")
    await guest.page.get_by_role("button", name="Watch live").click()
    await guest.wait_joined()
    gus = (await guest.you())["id"]
    await frames_advance(guest, hana)  # the viewer watches the host
    assert not await guest.page.locator("#host-panel").is_visible()

    # A raised hand reaches the host, who invites Gus up to the stage.
    await guest.page.get_by_role("button", name="Raise your hand to come on stage").click()
    await host.page.locator("#host-hands li", has_text="Gus").wait_for()
    hands = host.page.locator("#host-hands")
    await hands.get_by_role("button", name="Invite to stage — Gus").click()
    await wait_for(lambda: _role(guest, "guest"), timeout=15, message="Gus is not on stage")
    await frames_advance(host, gus)  # Gus's camera plays on the host's page
    assert (await video_of(host, gus) or {}).get("guest")
    await frames_advance(guest, hana)  # and Gus still sees the host

    # Mute Gus's microphone, then its camera: Gus's page turns each off.
    await host.page.get_by_role("button", name="Mute mic — Gus").click()
    await wait_for(lambda: live_value(guest, "!window.coshop.media.micOn"), timeout=10,
                   message="Gus's page kept its microphone on")
    await guest.page.locator(".toast", has_text="muted your microphone").wait_for()
    await host.page.get_by_role("button", name="Stop cam — Gus").click()
    await wait_for(lambda: live_value(guest, "!window.coshop.media.camOn"), timeout=10,
                   message="Gus's page kept its camera on")
    # The host's page shows what Gus's media_state says.
    await host.page.get_by_role("button", name="Mic off — Gus").wait_for()
    assert await host.page.get_by_role("button", name="Mic off — Gus").is_disabled()

    # A reload brings Gus back on the stage (the snapshot's resume), publishing again.
    await guest.page.reload()
    await guest.wait_joined()
    assert (await guest.you())["id"] == gus
    await wait_for(lambda: _role(guest, "guest"), timeout=10)
    await frames_advance(host, gus)

    # Slow mode, hide a chat message, pin a product.
    await host.page.locator("#host-slow-mode").select_option("10")
    await wait_for(lambda: live_value(guest, "window.coshop.live.slowMode === 10"), timeout=10)
    await guest.page.get_by_role("textbox", name="Message").fill("buy the mug")
    await guest.page.get_by_role("textbox", name="Message").press("Enter")
    await host.page.locator("#host-messages li", has_text="buy the mug").wait_for()
    await guest.page.locator(".live-chat-line", has_text="buy the mug").wait_for()
    await host.page.get_by_role("button", name="Hide — Gus's message").click()
    await guest.page.locator(".live-chat-line", has_text="buy the mug").wait_for(state="detached")
    await host.page.locator("#host-messages li", has_text="buy the mug").wait_for(
        state="detached")
    products = await live_value(host, "window.coshop.shopping.ordered.map((p) => p.id)")
    title = await live_value(host, "window.coshop.shopping.ordered[4].title")
    await host.page.get_by_role("button", name=f"Pin — {title}").click()
    await wait_for(lambda: _featured(guest, products[4]), timeout=10,
                   message="the guest's page does not follow the pin")

    # Back to the audience.
    await host.page.get_by_role("button", name="To audience — Gus").click()
    await wait_for(lambda: _role(guest, "viewer"), timeout=15)
    await wait_for(lambda: live_value(guest, "!window.coshop.media.videoTrack"), timeout=10,
                   message="Gus's camera stayed on in the audience")

    found = await violations(host.page)
    assert found == [], found
    await host.page.screenshot(path=str(server.log_path.parent / "live-host.png"))
    assert host.errors == guest.errors == []


async def test_the_host_page_removes_and_bans(open_page: OpenPage, server: CoshopServer) -> None:
    host = await open_page(f"/live/{ROOM}-2?host=Hana")
    await host.wait_joined()
    room = f"{ROOM}-2"
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(server.url.replace("http", "ws") + "/ws") as vic, \
            http.ws_connect(server.url.replace("http", "ws") + "/ws") as bea:
        # Two viewers that only read the protocol (their offers stay unanswered meanwhile).
        for ws, name in ((vic, "Vic"), (bea, "Bea")):
            await ws.send_json({"type": "join", "room": room, "name": name, "role": "viewer"})
        await host.page.get_by_role("button", name="Remove — Vic").click()
        assert await _next_left(vic) == "removed"
        await host.page.get_by_role("button", name="Ban — Bea").click()
        assert await _next_left(bea) == "banned"
        await host.page.locator("#host-audience li").first.wait_for(state="detached")
    assert host.errors == []


async def _next_left(ws: aiohttp.ClientWebSocketResponse) -> str:
    """The reason of the next ``left`` the socket gets."""
    while True:
        message = json.loads(await ws.receive_str(timeout=15))
        if message["type"] == "left":
            reason: str = message["reason"]
            return reason


async def _role(page: RoomPage, role: str) -> bool:
    you = await page.page.evaluate("() => window.coshop.room.you")
    return bool(you) and you["role"] == role


async def _featured(page: RoomPage, product: str) -> bool:
    card = page.page.locator("#live-product")
    return (await card.get_attribute("data-product-id"),
            await card.get_attribute("data-featured")) == (product, "true")
