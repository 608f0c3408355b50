"""The room's layouts with four people (issue 13): on a laptop, videos and the product side by
side with the shortlist, cart and chat on screen; on a phone, people as a strip, the product
and its vote and cart actions right below, the lists as a sheet. Screenshots are kept under
artifacts/browser."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.aiortc_peer import ProtocolPeer
from tests.browser.api import create_room
from tests.browser.conftest import OpenPage
from tests.browser.layout import assert_on_screen, box, on_screen
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

PEERS = ["Dan", "Eve", "Fay"]
LAPTOP = {"width": 1280, "height": 800}


@pytest_asyncio.fixture(loop_scope="module")
async def three_peers(server: CoshopServer) -> AsyncIterator[str]:
    """A room with three aiortc participants in it; yields its id."""
    room = "layout-room"
    await create_room(server.url, room)
    peers = [ProtocolPeer(server.url, name, index=i + 1) for i, name in enumerate(PEERS)]
    try:
        for peer in peers:
            await peer.join(room)
        yield room
    finally:
        for peer in peers:
            with contextlib.suppress(Exception):
                await peer.close()


async def join_and_shop(page: RoomPage, name: str) -> None:
    """Join, wait for everyone's video, and put something in the cart."""
    await page.join(name)
    await page.wait_playing(set(PEERS))
    await page.page.locator(".variants [role=radio]").first.click()
    await page.page.get_by_role("button", name="Add to cart").click()


async def expect_added_by_shown(page: RoomPage) -> None:
    line = page.page.locator("#cart .added-by").first
    # Ann (this page, or the one before it in the room) added it.
    await expect(line).to_have_text(re.compile(r"^Added by (you|Ann)$"))
    await assert_on_screen(line, "who added the cart line")
    clipped = await line.evaluate("(el) => el.scrollWidth > el.clientWidth + 1")
    assert not clipped, "'Added by you' is cut off"


async def test_laptop(
    open_page: OpenPage, three_peers: str, artifacts: Path
) -> None:
    page = await open_page(f"/r/{three_peers}", viewport=LAPTOP)
    await join_and_shop(page, "Ann")
    p = page.page
    tiles = p.locator("#grid .tile")
    await expect(tiles).to_have_count(4)
    for i in range(4):
        await assert_on_screen(tiles.nth(i), f"video tile {i}")
    # Videos and the product side by side.
    stage, product = await box(p.locator("#grid")), await box(p.locator("#product"))
    assert stage["x"] + stage["width"] <= product["x"], (stage, product)
    assert product["y"] < stage["y"] + stage["height"], (stage, product)
    for what, locator in {
        "product title": p.locator("#product-title"),
        "vote yes": p.get_by_role("button", name="Vote Yes"),
        "vote no": p.get_by_role("button", name="Vote No"),
        "add to cart": p.get_by_role("button", name="Add to cart"),
        "who has the remote": p.get_by_role("group", name="The remote"),
        "shortlist tab": p.get_by_role("tab", name="Shortlist"),
        "cart tab": p.get_by_role("tab", name="Cart"),
        "chat tab": p.get_by_role("tab", name="Chat"),
        "leave": p.get_by_role("button", name="Leave"),
    }.items():
        await assert_on_screen(locator, what)
    # The thumbnail strip says it scrolls, and its arrow scrolls it.
    more = p.get_by_role("button", name="More products to the right")
    await assert_on_screen(more, "the strip's arrow")
    await more.click()
    await expect(p.get_by_role("button", name="More products to the left")).to_be_visible()

    await p.get_by_role("tab", name="Cart").click()
    await expect_added_by_shown(page)
    await p.get_by_role("tab", name="Chat").click()
    await assert_on_screen(p.get_by_role("textbox", name="Message"), "the chat box")
    await assert_on_screen(p.get_by_role("button", name="Send message"), "send")
    await p.get_by_role("textbox", name="Message").fill("Which colour?")
    await p.keyboard.press("Enter")
    await assert_on_screen(p.locator("#chat-log .chat-line").last, "the new chat line")
    await page.screenshot(str(artifacts / "layout-laptop-4.png"))
    # Nothing needs the page itself to scroll.
    assert await p.evaluate("() => document.scrollingElement.scrollHeight <= innerHeight")
    await p.get_by_role("button", name="Leave").click()
    assert page.errors == []


async def test_phone(open_page: OpenPage, three_peers: str, artifacts: Path) -> None:
    page = await open_page(f"/r/{three_peers}", phone=True)
    await join_and_shop(page, "Ann")
    p = page.page
    tiles = p.locator("#grid .tile")
    await expect(tiles).to_have_count(4)
    # People as a strip: one row of tiles at the top.
    tops = {round((await box(tiles.nth(i)))["y"]) for i in range(4)}
    assert len(tops) == 1, tops
    for i in range(3):
        found = await on_screen(tiles.nth(i))
        assert found["inside"], found
    strip = await box(p.locator("#grid"))
    # The product and its actions right below the people, on the first screen.
    for what, locator in {
        "product title": p.locator("#product-title"),
        "vote yes": p.get_by_role("button", name="Vote Yes"),
        "vote no": p.get_by_role("button", name="Vote No"),
        "add to cart": p.get_by_role("button", name="Add to cart"),
        "chat tab": p.get_by_role("tab", name="Chat"),
        "cart tab": p.get_by_role("tab", name="Cart"),
        "leave": p.get_by_role("button", name="Leave"),
    }.items():
        await assert_on_screen(locator, what)
    title = await box(p.locator("#product-title"))
    assert title["y"] > strip["y"] + strip["height"] - 1
    await page.screenshot(str(artifacts / "layout-phone-4.png"))

    # The chat is a sheet: it opens over the room and closes again.
    await p.get_by_role("tab", name="Chat").click()
    await assert_on_screen(p.get_by_role("textbox", name="Message"), "the chat box")
    await p.get_by_role("textbox", name="Message").fill("This one?")
    await p.get_by_role("button", name="Send message").click()
    await assert_on_screen(p.locator("#chat-log .chat-line").last, "the new chat line")
    await page.screenshot(str(artifacts / "layout-phone-4-chat.png"))
    await p.get_by_role("tab", name="Chat").click()
    await expect(p.get_by_role("textbox", name="Message")).to_be_hidden()
    await assert_on_screen(p.get_by_role("button", name="Add to cart"), "add to cart")
    await p.get_by_role("tab", name="Cart").click()
    await expect_added_by_shown(page)
    await page.screenshot(str(artifacts / "layout-phone-4-cart.png"))
    await p.get_by_role("button", name="Leave").click()
    assert page.errors == []
