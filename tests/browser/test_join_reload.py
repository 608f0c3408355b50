"""Issue 8 in the browser: four pages, a fifth late, one reload. Every tile's decoded frames
advance (getVideoPlaybackQuality), and the reloaded page is the same person with the same vote."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from playwright.async_api import expect

from tests.browser.api import create_room
from tests.browser.conftest import OpenPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_four_then_a_late_fifth_then_a_reload(
    open_page: OpenPage, server: CoshopServer
) -> None:
    room = f"five-{uuid.uuid4().hex[:8]}"
    await create_room(server.url, room)
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
    for page in pages.values():  # Bob's page too, so it knows the vote is gone
        await expect(page.page.locator("button.vote.yes .count")).to_have_text("0")
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


async def test_a_hidden_tile_is_paused_and_plays_again_when_shown(
    open_page: OpenPage, server: CoshopServer
) -> None:
    room = f"hide-{uuid.uuid4().hex[:8]}"
    await create_room(server.url, room)
    ann, bob = await open_page(f"/r/{room}"), await open_page(f"/r/{room}")
    await ann.join("Ann")
    await bob.join("Bob")
    await ann.wait_playing({"Bob"})
    bob_id = (await bob.you())["id"]
    frames_js = (
        "(id) => document.querySelector(`#grid .tile[data-participant='${id}'] video`)"
        ".getVideoPlaybackQuality().totalVideoFrames"
    )
    # What the grid does when Bob's tile scrolls away (or the tab hides): his video stops.
    await ann.page.evaluate("(id) => window.coshop.call.setView([id])", bob_id)
    await asyncio.sleep(1.0)
    paused_at = await ann.page.evaluate(frames_js, bob_id)
    await asyncio.sleep(2.0)
    assert await ann.page.evaluate(frames_js, bob_id) - paused_at <= 2
    # Shown again: it plays on (the server resumes at a keyframe).
    await ann.page.evaluate("() => window.coshop.call.setView([])")
    await ann.wait_playing({"Bob"}, seconds=10)
    assert ann.errors == [] and bob.errors == []
