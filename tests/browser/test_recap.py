"""The recap at the end of a session (issue 13): after leaving, the page shows what the group
liked, what went into the cart and who added it (GET /api/rooms/{id}/recap)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.api import create_room
from tests.browser.axe import violations
from tests.browser.conftest import OpenPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_recap_after_leaving(
    open_page: OpenPage, server: CoshopServer, artifacts: Path
) -> None:
    await create_room(server.url, "recap-room")
    page = await open_page("/r/recap-room")
    await page.join("Ann")
    p = page.page
    title = await p.locator("#product-title").inner_text()
    await p.get_by_role("button", name="Vote Yes").click()
    await expect(p.locator("button.vote.yes .count")).to_have_text("1")
    await p.locator(".variants [role=radio]").first.click()
    await p.get_by_role("button", name="Add to cart").click()
    await expect(p.locator("#count-cart")).to_have_text("1")
    await p.get_by_role("button", name="Leave").click()

    await expect(p.get_by_role("heading", name="You left the room")).to_be_visible()
    recap = p.get_by_role("region", name="Your session")
    await expect(recap).to_be_visible()
    await expect(recap).to_contain_text("1 vote ·")
    favourites = recap.get_by_role("list").first
    await expect(favourites).to_contain_text(title)
    await expect(favourites).to_contain_text("1 yes")
    await expect(recap.get_by_role("list").nth(1)).to_contain_text("added by Ann")
    await page.screenshot(str(artifacts / "recap-desktop.png"))
    assert await violations(p) == []
    # Rejoining hides it again.
    await p.get_by_role("button", name="Rejoin").click()
    await page.wait_joined()
    await expect(recap).to_be_hidden()
    assert page.errors == []
