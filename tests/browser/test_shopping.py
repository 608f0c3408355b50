"""Shopping together in real browsers: the shared carousel, browsing on your own, votes with live
tallies, the shortlist, the cart, chat and reactions (issue 4; docs/PROTOCOL.md "Shopping")."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.api import create_room, mint_token
from tests.browser.conftest import OpenPage
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ROOM = "shopping-room"


async def title(page: RoomPage) -> str:
    return await page.page.locator("#product-title").inner_text()


async def expect_title(pages: list[RoomPage], text: str) -> None:
    for page in pages:
        await expect(page.page.locator("#product-title")).to_have_text(text)


async def test_carousel_votes_cart_chat_and_reactions(
    open_page: OpenPage, server: CoshopServer, artifacts: Path
) -> None:
    # Ann hosts (a host token), camera and mic off; Bob is a guest; Cleo only watches.
    await create_room(server.url, ROOM)
    token = await mint_token(server.url, ROOM, "Ann", "host")
    ann = await open_page(f"/r/{ROOM}?token={token}")
    await ann.media_ready()
    await ann.page.get_by_role("button", name="Camera").click()
    await ann.page.get_by_role("button", name="Microphone").click()
    camera = ann.page.get_by_role("button", name="Camera")
    await expect(camera).to_have_attribute("aria-pressed", "false")
    await ann.join("Ann")
    bob = await open_page(f"/r/{ROOM}")
    await bob.media_ready()
    await bob.page.get_by_role("button", name="Camera").click()
    await bob.join("Bob")
    cleo = await open_page(f"/r/{ROOM}")
    await cleo.media_ready()
    await cleo.page.get_by_label("Watch only").check()
    await cleo.join("Cleo")
    everyone = [ann, bob, cleo]

    # Everyone sees the room's product.
    first = await title(ann)
    await expect_title(everyone, first)
    await expect(cleo.page.get_by_text("1 / 8")).to_be_visible()

    # A demo room starts with everyone steering; the host takes the lead, and moves the carousel:
    # it moves for everyone.
    await expect(bob.page.get_by_text("Everyone can steer the carousel.")).to_be_visible()
    await ann.page.get_by_label("Let everyone steer").uncheck()
    await expect(bob.page.get_by_text("The host steers the carousel.")).to_be_visible()
    await ann.page.get_by_role("button", name="Next product, for everyone").click()
    for page in everyone:
        await expect(page.page.locator(".position")).to_have_text("2 / 8")
    second = await title(ann)
    await expect_title(everyone, second)
    assert second != first

    # A guest in a host-led room browses on their own, then snaps back.
    await bob.page.get_by_role("button", name="Next product, just for you").click()
    await expect(bob.page.get_by_text("You're browsing on your own.")).to_be_visible()
    assert await title(bob) not in (first, second)
    await expect_title([ann, cleo], second)
    await bob.page.get_by_role("button", name="Back to the room's product").click()
    await expect_title([bob], second)

    # Votes: live tallies and names everywhere, your own vote pressed.
    await bob.page.get_by_role("button", name="Vote Yes").click()
    for page in everyone:
        await expect(page.page.locator("button.vote.yes .count")).to_have_text("1")
    await expect(ann.page.locator(".tally")).to_have_text("Bob says yes")
    yes = bob.page.get_by_role("button", name="Vote Yes")
    await expect(yes).to_have_attribute("aria-pressed", "true")
    await cleo.page.get_by_role("button", name="Vote No").click()
    for page in everyone:
        await expect(page.page.locator("button.vote.no .count")).to_have_text("1")
    await expect(cleo.page.locator(".tally")).to_have_text("Bob says yes · You say no")
    await ann.page.get_by_role("button", name="Vote Yes").click()
    # Two yes, one no: liked, so it heads Ann's shortlist.
    await expect(bob.page.locator("button.vote.yes .count")).to_have_text("2")
    await expect(ann.page.locator(".short-item").first).to_contain_text(second)
    await expect(ann.page.locator(".short-item .rank").first).to_have_text("#1")

    # The host runs a timed vote round, then ends it: the results stand, voting stops.
    await ann.page.get_by_role("button", name="Start a 60 s vote").click()
    await expect(cleo.page.locator(".round-open")).to_contain_text("Vote now")
    await ann.page.get_by_role("button", name="End vote").click()
    await expect(bob.page.locator(".tally")).to_have_text(
        "Voting closed · You and Ann say yes · Cleo says no"
    )
    await expect(bob.page.get_by_role("button", name="Vote Yes")).to_be_disabled()

    # The host lets everyone steer again: now Bob's arrows move the room.
    await ann.page.get_by_label("Let everyone steer").check()
    await expect(bob.page.get_by_text("Everyone can steer the carousel.")).to_be_visible()
    await bob.page.get_by_role("button", name="Previous product, for everyone").click()
    await expect_title(everyone, first)

    # Bob puts a variant in the shared cart; the others see it with his name.
    await bob.page.locator(".variants [role=radio]").first.click()
    await bob.page.get_by_role("button", name="Add to cart").click()
    for page in (ann, cleo):
        await expect(page.page.locator("#count-cart")).to_have_text("1")
    await ann.page.get_by_role("tab", name="Cart").click()
    await expect(ann.page.locator(".cart-item")).to_contain_text("Added by Bob")

    # Chat: Cleo writes, the others read it (with an unread count while the chat is hidden).
    await cleo.page.get_by_role("tab", name="Chat").click()
    message = cleo.page.get_by_role("textbox", name="Message")
    await message.fill("Love the tee!")
    await message.press("Enter")
    await expect(bob.page.locator("#count-chat")).to_have_text("1")
    await ann.page.get_by_role("tab", name="Chat").click()
    await expect(ann.page.locator(".chat-line").last).to_contain_text("Love the tee!")
    await expect(ann.page.locator(".chat-line .who").last).to_have_text("Cleo")

    # A reaction floats over everyone's videos with the sender's name. (Toasts first fade, for a
    # tidy screenshot.)
    await expect(ann.page.locator("#toasts .toast")).to_have_count(0)
    await bob.page.get_by_role("button", name="React with heart").click()
    await expect(ann.page.locator(".floater .by").last).to_have_text("Bob")
    await ann.screenshot(str(artifacts / "shopping-desktop.png"))

    for page in everyone:
        assert page.errors == [], page.errors
