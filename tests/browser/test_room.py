"""Three browsers and one aiortc peer in a room: everyone sees and hears everyone; leaving and
reloading behave (issue 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.aiortc_peer import ProtocolPeer
from tests.browser.api import create_room, mint_token
from tests.browser.conftest import OpenPage
from tests.browser.server import CoshopServer
from tests.helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ROOM = "browser-room"


async def test_three_browsers_and_an_aiortc_peer(
    open_page: OpenPage, server: CoshopServer, artifacts: Path
) -> None:
    # Ann opens the room from a host token link (as a brand's tool would mint it).
    await create_room(server.url, ROOM)
    token = await mint_token(server.url, ROOM, "Ann", "host")
    ann = await open_page(f"/r/{ROOM}?token={token}")
    await ann.join("Ann")
    bob = await open_page(f"/?room={ROOM}")
    await bob.join("Bob")
    cleo = await open_page(f"/r/{ROOM}", phone=True)
    await cleo.join("Cleo")
    dan = ProtocolPeer(server.url, "Dan", index=3)
    await dan.join(ROOM)
    pages = {"Ann": ann, "Bob": bob, "Cleo": cleo}
    try:
        # Every browser plays the other three: video advancing, audio tracks live and flowing.
        everyone = {"Ann", "Bob", "Cleo", "Dan"}
        try:
            for name, page in pages.items():
                await page.wait_playing(everyone - {name})
        except AssertionError as exc:
            # What every publisher sent helps tell a lost keyframe from a lost stream.
            others = [f"{name}: {await page.media()}" for name, page in pages.items()]
            raise AssertionError(f"{exc}\n" + "\n".join(others)) from None
        # ... and the aiortc peer decodes every browser's video and audio.
        ids = {name: (await page.you())["id"] for name, page in pages.items()}
        try:
            await wait_for(
                lambda: all(dan.frames_from(i) > 10 and dan.audio_frames_from(i) > 10
                            for i in ids.values()),
                timeout=20,
                message="Dan decoding every browser's audio and video",
            )
        except AssertionError as exc:
            # Which stream is missing tells a lost subscription from a lost keyframe.
            decoded = {name: (dan.frames_from(i), dan.audio_frames_from(i))
                       for name, i in ids.items()}
            raise AssertionError(f"{exc}; (video, audio) frames Dan decoded: {decoded}; "
                                 f"server log: {server.log(3000)}") from None

        # Someone is talking (the fake microphone beeps): an active-speaker highlight shows.
        await ann.page.locator("#grid .tile.speaking").first.wait_for()

        # Bob mutes: the others see his mute indicator (no renegotiation: same offers count);
        # camera off shows his avatar; both back on, and he plays again everywhere.
        offers = len(dan.of_type("offer"))
        bob_tile = ann.page.locator(f'#grid .tile[data-participant="{ids["Bob"]}"]')
        await bob.page.get_by_role("button", name="Microphone").click()
        await expect(bob_tile).to_have_attribute("data-audio", "off", timeout=10_000)
        await expect(bob_tile.locator(".mic-state.off")).to_be_visible()
        await bob.page.get_by_role("button", name="Camera").click()
        await expect(bob_tile).to_have_attribute("data-video", "off", timeout=10_000)
        await expect(bob_tile.locator(".avatar")).to_be_visible()
        await bob.page.get_by_role("button", name="Microphone").click()
        await bob.page.get_by_role("button", name="Camera").click()
        for name, page in pages.items():
            await page.wait_playing(everyone - {name})
        assert len(dan.of_type("offer")) == offers

        await ann.screenshot(str(artifacts / "room-desktop.png"))
        await cleo.screenshot(str(artifacts / "room-phone.png"))
        await cleo.screenshot(str(artifacts / "room-phone-full.png"), full_page=True)

        # Cleo leaves: her tile goes everywhere, and she sees why she is out.
        await cleo.page.get_by_role("button", name="Leave").click()
        await cleo.page.get_by_role("heading", name="You left the room").wait_for()
        await cleo.screenshot(str(artifacts / "left-phone.png"))
        await ann.wait_playing({"Bob", "Dan"})
        await bob.wait_playing({"Ann", "Dan"})
        await wait_for(
            lambda: any(m["type"] == "participant_left" and m["participant_id"] == ids["Cleo"]
                        for m in dan.messages),
            timeout=10,
        )

        # Bob reloads: the page goes straight back into the room (as a new participant in demo
        # mode) and everyone plays again.
        await bob.page.reload()
        await bob.wait_joined()
        await bob.wait_playing({"Ann", "Dan"})
        await ann.wait_playing({"Bob", "Dan"})

        for name, page in pages.items():
            assert page.errors == [], (name, page.errors)
    finally:
        await dan.close()
