"""The landing page: start a new room as its host, share the invite link, join from a link with
the keyboard only (issue 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_start_a_room_and_invite(
    open_page: OpenPage, server: CoshopServer, artifacts: Path
) -> None:
    host = await open_page("/")
    await host.media_ready()
    await host.page.get_by_label("Your name").fill("Hana")
    await host.page.get_by_role("button", name="New room").click()
    await expect(host.page.get_by_role("heading", name="Start a shopping room")).to_be_visible()
    await host.screenshot(str(artifacts / "landing-desktop.png"))
    await host.page.get_by_role("button", name="Start room").click()
    await host.wait_joined()

    # The creator hosts the room, and the address bar holds the invite link.
    you = await host.you()
    assert you["role"] == "host"
    room = await host.page.evaluate("() => window.coshop.room.room.id")
    assert host.page.url == f"{server.url}/r/{room}"
    await host.page.get_by_role("button", name="Copy invite link").first.click()
    await expect(host.page.get_by_text("Invite link copied")).to_be_visible()
    link = await host.page.evaluate("() => navigator.clipboard.readText()")
    assert link == f"{server.url}/r/{room}"

    # A friend opens the link on a phone and joins with the keyboard alone: the name field has
    # focus, Enter joins.
    friend = await open_page(f"/r/{room}", phone=True)
    await friend.media_ready()
    await expect(friend.page.get_by_role("heading", name=f"Join room {room}")).to_be_visible()
    await friend.screenshot(str(artifacts / "landing-phone.png"))
    await expect(friend.page.get_by_label("Your name")).to_be_focused()
    await friend.page.keyboard.type("Finn")
    await friend.page.keyboard.press("Enter")
    await friend.wait_joined()
    await host.wait_playing({"Finn"})
    await friend.wait_playing({"Hana"})

    # The shopping tabs work from the keyboard (arrow keys move between tabs).
    shortlist = friend.page.get_by_role("tab", name="Shortlist")
    await shortlist.focus()
    await friend.page.keyboard.press("ArrowRight")
    await expect(friend.page.get_by_role("tab", name="Cart")).to_be_focused()
    await expect(friend.page.get_by_role("tab", name="Cart")).to_have_attribute(
        "aria-selected", "true"
    )
    # Variants are a radio group: one tab stop, arrow keys choose.
    variants = friend.page.get_by_role("radiogroup", name="Variant").get_by_role("radio")
    await variants.first.focus()
    await friend.page.keyboard.press("ArrowRight")
    await expect(variants.nth(0)).to_have_attribute("aria-checked", "true")
    await friend.page.keyboard.press("ArrowRight")
    await expect(variants.nth(1)).to_have_attribute("aria-checked", "true")
    await expect(variants.nth(1)).to_be_focused()
    await expect(variants.nth(0)).to_have_attribute("tabindex", "-1")
    # A vote by keyboard keeps the focus on the button it pressed (the card re-renders).
    vote = friend.page.get_by_role("button", name="Vote Yes")
    await vote.focus()
    await friend.page.keyboard.press("Enter")
    await expect(vote).to_have_attribute("aria-pressed", "true")
    await expect(vote).to_be_focused()

    assert host.errors == [] and friend.errors == [], (host.errors, friend.errors)
