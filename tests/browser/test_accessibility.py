"""Accessibility (issue 13): axe-core finds no serious or critical violation on the landing
page, the room on a laptop and the room on a phone; tap targets on the phone are at least
44x44 px; reactions are SVG icons, so they show without an emoji font."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.browser.aiortc_peer import ProtocolPeer
from tests.browser.api import create_room
from tests.browser.axe import violations
from tests.browser.conftest import OpenPage
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ROOM = "a11y-room"
MIN_TAP = 44

# Every control a finger may need, as rendered now (not display:none, not visually hidden).
_TAP_TARGETS_JS = """
() => [...document.querySelectorAll(
  'button, a[href], input, select, summary, [role="tab"], [role="radio"], label.switch')]
  .filter((el) => el.getClientRects().length && !el.closest('[hidden]') &&
    getComputedStyle(el).visibility !== 'hidden' && !el.closest('.visually-hidden') &&
    !el.classList.contains('skip-link') && !(el.type === 'checkbox' && el.closest('label')))
  .map((el) => {
    const r = el.getBoundingClientRect();
    return {what: el.outerHTML.slice(0, 90), width: r.width, height: r.height};
  })
"""


@pytest_asyncio.fixture(loop_scope="module")
async def friend(server: CoshopServer) -> AsyncIterator[str]:
    """The room, with an aiortc participant in it (tiles, a cart line, a vote)."""
    await create_room(server.url, ROOM)
    peer = ProtocolPeer(server.url, "Dan", index=1)
    try:
        await peer.join(ROOM)
        yield ROOM
    finally:
        with contextlib.suppress(Exception):
            await peer.close()


async def assert_no_violations(page: RoomPage, where: str) -> None:
    found = await violations(page.page)
    assert found == [], f"axe on {where}:\n" + "\n".join(map(str, found))


async def shop_a_little(page: RoomPage) -> None:
    """Something in every list: a vote (shortlist), a cart line, a chat message."""
    p = page.page
    await p.get_by_role("button", name="Vote Yes").click()
    await p.locator(".variants [role=radio]").first.click()
    await p.get_by_role("button", name="Add to cart").click()
    await p.get_by_role("tab", name="Chat").click()
    await p.get_by_role("textbox", name="Message").fill("Nice colour")
    await p.keyboard.press("Enter")
    await p.locator("#chat-log .chat-line").first.wait_for()


async def test_landing(open_page: OpenPage) -> None:
    for phone in (False, True):
        page = await open_page("/", phone=phone)
        await page.media_ready()
        await assert_no_violations(page, f"the landing page ({'phone' if phone else 'laptop'})")
        assert page.errors == []


async def test_room_laptop(open_page: OpenPage, friend: str, artifacts: Path) -> None:
    page = await open_page(f"/r/{friend}", viewport={"width": 1280, "height": 800})
    await page.join("Ann")
    await page.wait_playing({"Dan"})
    await shop_a_little(page)
    await assert_no_violations(page, "the room on a laptop")
    # The thumbnail's accessible name says how many like it.
    thumb = page.page.locator(".thumb[aria-current=true]")
    assert "1 yes vote" in (await thumb.get_attribute("aria-label") or "")
    await page.page.get_by_role("button", name="Leave").click()
    assert page.errors == []


async def test_room_phone(open_page: OpenPage, friend: str, artifacts: Path) -> None:
    page = await open_page(f"/r/{friend}", phone=True)
    await page.join("Bea")
    await page.wait_playing({"Dan"})
    await shop_a_little(page)
    await assert_no_violations(page, "the room on a phone, chat open")
    small = [t for t in await page.page.evaluate(_TAP_TARGETS_JS)
             if t["width"] < MIN_TAP - 0.5 or t["height"] < MIN_TAP - 0.5]
    assert small == [], "tap targets under 44x44 px:\n" + "\n".join(map(str, small))
    await page.page.get_by_role("tab", name="Chat").click()  # the sheet closes
    await assert_no_violations(page, "the room on a phone")
    small = [t for t in await page.page.evaluate(_TAP_TARGETS_JS)
             if t["width"] < MIN_TAP - 0.5 or t["height"] < MIN_TAP - 0.5]
    assert small == [], "tap targets under 44x44 px:\n" + "\n".join(map(str, small))
    await page.page.get_by_role("button", name="Leave").click()
    assert page.errors == []


async def test_reactions_need_no_emoji_font(open_page: OpenPage, friend: str) -> None:
    page = await open_page(f"/r/{friend}")
    await page.join("Cy")
    buttons = page.page.locator("#reaction-bar button")
    count = await buttons.count()
    assert count == 6
    for i in range(count):
        button = buttons.nth(i)
        assert await button.locator("svg").count() == 1
        assert (await button.text_content() or "").strip() == ""  # no emoji glyph to draw
        assert (await button.get_attribute("aria-label") or "").startswith("React with ")
    await buttons.first.click()
    floater = page.page.locator("#reactions-layer .floater").first
    await floater.wait_for()
    assert await floater.locator("svg").count() == 1
    assert (await floater.locator(".emoji").text_content() or "").strip() == ""
    assert page.errors == []
