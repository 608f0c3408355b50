"""Issue 8 in the browser: four pages, a fifth late, one reload. Every tile's decoded frames
advance (getVideoPlaybackQuality), and the reloaded page is the same person with the same vote."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_four_then_a_late_fifth_then_a_reload(open_page: OpenPage) -> None:
    room = f"five-{uuid.uuid4().hex[:8]}"
    names = ["Ann", "Bob", "Cleo", "Dee"]
    pages = {name: await open_page(f"/r/{room}") for name in names}
    await asyncio.gather(*(page.join(name) for name, page in pages.items()))
    for name, page in pages.items():
        await page.wait_playing(set(names) - {name})

    # Bob votes, then Eve joins a call that is already going.
    bob = pages["Bob"]
    await bob.page.get_by_role("button", name="Vote Yes").click()
    await expect(pages["Ann"].page.locator("button.vote.yes .count")).to_have_text("1")
    eve = await open_page(f"/r/{room}")
    await eve.join("Eve")
    pages["Eve"] = eve
    everyone = set(pages)
    for name, page in pages.items():
        await page.wait_playing(everyone - {name})

    # Bob reloads: the same participant comes back, with his vote, and voting again does not
    # count twice; nobody is left with a nameless ghost.
    bob_id = (await bob.you())["id"]
    await bob.page.reload()
    await bob.wait_joined()
    assert (await bob.you())["id"] == bob_id
    assert (await bob.you())["name"] == "Bob"
    await expect(bob.page.locator("button.vote.yes .count")).to_have_text("1")
    # The page knows his vote is his: a click takes it back, another casts it again.
    vote = bob.page.get_by_role("button", name="Vote Yes")
    await vote.click()
    await expect(pages["Ann"].page.locator("button.vote.yes .count")).to_have_text("0")
    await vote.click()
    for page in pages.values():
        await expect(page.page.locator("button.vote.yes .count")).to_have_text("1")
        participants = await page.page.evaluate(
            "() => [...window.coshop.room.participants.values()].map((p) => p.name)"
        )
        assert sorted(participants) == sorted(everyone), participants
    for name, page in pages.items():
        await page.wait_playing(everyone - {name})
        assert page.errors == [], page.errors
