"""The live show page on a phone (issue 14): a viewer watches the host's camera full-bleed
(frames really advance), sees the featured product follow the host's pin (and may browse alone
and snap back), adds to a cart of its own, and sees the host remove or ban it. axe-core finds
no serious or critical violation. The host is a real aiortc peer publishing over the protocol."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.browser.aiortc_peer import ProtocolPeer
from tests.browser.api import call, create_room, mint_token
from tests.browser.axe import violations
from tests.browser.conftest import OpenPage
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer
from tests.browser.test_accessibility import _TAP_TARGETS_JS as TAP_TARGETS_JS
from tests.browser.test_accessibility import MIN_TAP
from tests.helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# The stage's main video as the page plays it.
_STAGE_JS = """
() => {
  const video = document.querySelector('#live-main-video video');
  if (!video) return null;
  return {participant: video.dataset.participant, width: video.videoWidth,
          frames: video.getVideoPlaybackQuality().totalVideoFrames, paused: video.paused};
}
"""


ROOM = "show"


@pytest_asyncio.fixture(loop_scope="module")
async def host(server: CoshopServer, request: pytest.FixtureRequest) -> AsyncIterator[ProtocolPeer]:
    """A live room of this test's own with a host on stage: an aiortc peer publishing a
    synthetic camera."""
    global ROOM
    ROOM = f"show-{abs(hash(request.node.name)) % 10**8}"
    await create_room(server.url, ROOM, kind="live")
    token = await mint_token(server.url, ROOM, "Hana", role="host")
    peer = ProtocolPeer(server.url, "Hana", index=0)
    await peer.join(ROOM, token=token)
    yield peer
    with contextlib.suppress(Exception):
        await peer.close()


async def watch(open_page: OpenPage, name: str) -> RoomPage:
    page = await open_page(f"/live/{ROOM}", phone=True)
    await page.page.get_by_label("Your name").fill(name)
    await page.page.get_by_role("button", name="Watch live").click()
    await page.wait_joined()
    return page


async def stage(page: RoomPage) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await page.page.evaluate(_STAGE_JS)
    return found


async def featured(page: RoomPage) -> tuple[str | None, str | None]:
    card = page.page.locator("#live-product")
    return await card.get_attribute("data-product-id"), await card.get_attribute("data-featured")


async def test_a_phone_viewer_watches_shops_its_own_cart_and_follows_the_pin(
    open_page: OpenPage, server: CoshopServer, host: ProtocolPeer
) -> None:
    viewer = await watch(open_page, "Vic")
    assert (await viewer.you())["role"] == "viewer"

    # The host's camera plays full-bleed, and its frames keep coming.
    first = await wait_for(lambda: _playing(viewer, host.id), timeout=30,
                           message="the stage video does not play")
    later = await wait_for(lambda: _playing(viewer, host.id, after=first["frames"] + 10),
                           timeout=20, message="the stage video's frames do not advance")
    assert later["width"] > 0
    box = await viewer.page.locator("#live-main-video video").bounding_box()
    assert box is not None and box["width"] >= 389 and box["height"] >= 843, box  # full-bleed

    # The featured product shows, with its price and "Add to cart".
    joined = host.first("joined")
    assert joined is not None
    products = [p["id"] for p in joined["shopping"]["catalog"]["products"]]
    assert await featured(viewer) == (joined["shopping"]["carousel"]["current"], "true")
    card = viewer.page.locator("#live-product")
    assert await card.locator(".price").inner_text()
    # The host pins another product: the viewer's card follows.
    version = joined["shopping"]["carousel"]["version"]
    await host.send({"type": "carousel_move", "action": "goto", "product_id": products[2],
                     "version": version})
    await wait_for(lambda: _is_featured(viewer, products[2]), timeout=10,
                   message="the viewer's card does not follow the host's pin")
    # Browsing alone, then snapping back.
    await viewer.page.get_by_role("button", name="Next product").click()
    assert await featured(viewer) == (products[3], "false")
    await viewer.page.get_by_role("button", name="Back to live product").click()
    assert await featured(viewer) == (products[2], "true")
    # While browsing, a new pin brings the viewer back to the featured product.
    await viewer.page.get_by_role("button", name="Previous product").click()
    assert (await featured(viewer))[1] == "false"
    await host.send({"type": "carousel_move", "action": "goto", "product_id": products[0],
                     "version": version + 1})
    await wait_for(lambda: _is_featured(viewer, products[0]), timeout=10)

    # Add to cart: the viewer's own cart, not the room's shared one; the recap counts it.
    await viewer.page.get_by_role("button", name="Add to cart").click()
    await wait_for(lambda: _own_cart(viewer), timeout=10, message="nothing in the own cart")
    cart = await _own_cart(viewer)
    assert [i["product_id"] for i in cart] == [products[0]]
    assert await viewer.page.locator("#live-cart-count").inner_text() == "1"
    recap = await call(server.url, "GET", f"/api/rooms/{ROOM}/recap")
    assert recap["cart"] == [] and recap["cart_adds"] == {products[0]: 1}
    await viewer.page.get_by_role("button", name="Your cart: 1 item").click()
    assert await viewer.page.locator("#live-cart-items li").count() == 1

    # Chat and a reaction overlay the video.
    await viewer.page.get_by_role("textbox", name="Message").fill("love the red one")
    await viewer.page.get_by_role("textbox", name="Message").press("Enter")
    await viewer.page.locator(".live-chat-line", has_text="love the red one").wait_for()
    await viewer.page.get_by_role("button", name="Close").click()
    assert not await viewer.page.locator("#live-cart").is_visible()

    found = await violations(viewer.page)
    assert found == [], found
    small = [t for t in await viewer.page.evaluate(TAP_TARGETS_JS)
             if t["width"] < MIN_TAP - 0.5 or t["height"] < MIN_TAP - 0.5]
    assert small == [], small  # a finger can hit every control
    await viewer.page.screenshot(path=str(server.log_path.parent / "live-viewer-phone.png"))
    assert viewer.errors == []


async def test_the_host_removes_and_bans_viewers_and_they_see_it(
    open_page: OpenPage, server: CoshopServer, host: ProtocolPeer
) -> None:
    removed = await watch(open_page, "Rex")
    banned = await watch(open_page, "Bea")
    rex, bea = (await removed.you())["id"], (await banned.you())["id"]
    await host.send({"type": "remove", "participant_id": rex})
    await removed.page.get_by_role("heading", name="You were removed from the show").wait_for()
    assert await removed.page.get_by_role("button", name="Watch again").is_visible()
    await host.send({"type": "ban", "participant_id": bea})
    await banned.page.get_by_role("heading", name="You were banned from the show").wait_for()
    assert not await banned.page.get_by_role("button", name="Watch again").is_visible()
    # A reload does not bring the banned viewer back.
    await banned.page.reload()
    await banned.page.locator("#live-join, #live-ended").first.wait_for()
    if await banned.page.locator("#live-join").is_visible():
        await banned.page.get_by_role("button", name="Watch live").click()
    # Its resume credential names the banned identity: refused (`banned`), and told so.
    await banned.page.get_by_role("heading", name="You were banned from the show").wait_for()
    assert await banned.page.evaluate("() => window.coshop.call.failure.code") == "banned"
    assert removed.errors == banned.errors == []


async def _playing(page: RoomPage, who: str | None, after: int = 0) -> dict[str, Any] | None:
    found = await stage(page)
    if found is None or found["participant"] != who or found["paused"]:
        return None
    return found if found["frames"] > max(after, 0) and found["width"] > 0 else None


async def _is_featured(page: RoomPage, product: str) -> bool:
    return await featured(page) == (product, "true")


async def _own_cart(page: RoomPage) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = await page.page.evaluate("() => window.coshop.live.ownCart")
    return items


async def test_a_viewer_token_link_watches_without_the_camera(
    open_page: OpenPage, server: CoshopServer, host: ProtocolPeer
) -> None:
    """A brand's link with a viewer token joins the audience at once (no name asked) and
    never starts the camera; the host's camera plays."""
    token = await mint_token(server.url, ROOM, "Tok", role="viewer")
    page = await open_page(f"/live/{ROOM}?token={token}", phone=True)
    await page.wait_joined()
    assert (await page.you())["role"] == "viewer"
    await wait_for(lambda: _playing(page, host.id), timeout=30,
                   message="the stage video does not play")
    media = await page.page.evaluate(
        "() => [Boolean(window.coshop.media.audioTrack), Boolean(window.coshop.media.videoTrack)]"
    )
    assert media == [False, False]
    assert page.errors == []
