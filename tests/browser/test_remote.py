"""The remote from the page (issue 13): the host passes it to a guest by name, the guest steers
for everyone and passes it back; what each page offers is the server's ``may``."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Locator, expect

from tests.browser.api import create_room, mint_token
from tests.browser.conftest import OpenPage
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ROOM = "remote-room"


def remote(page: RoomPage) -> Locator:
    return page.page.get_by_role("group", name="The remote")


async def pass_to(page: RoomPage, name: str) -> None:
    await remote(page).get_by_label("Pass the remote to").select_option(label=name)
    await remote(page).get_by_role("button", name="Pass the remote").click()


async def test_passing_the_remote_back_and_forth(
    open_page: OpenPage, server: CoshopServer, artifacts: Path
) -> None:
    await create_room(server.url, ROOM)
    token = await mint_token(server.url, ROOM, "Ann", "host")
    ann = await open_page(f"/r/{ROOM}?token={token}")
    await ann.join("Ann")
    bob = await open_page(f"/r/{ROOM}")
    await bob.join("Bob")
    title = "#product-title"

    # Demo rooms start with everyone steering; Ann makes it host-led.
    await expect(remote(bob)).to_contain_text("Everyone can steer")
    await remote(ann).get_by_label("Let everyone steer").uncheck()
    await expect(remote(bob)).to_contain_text("The host steers the carousel")
    # Bob may not take it, and his arrows only browse for himself.
    await expect(remote(bob).get_by_role("button")).to_have_count(0)
    await expect(bob.page.get_by_role("button", name="Next product, just for you")).to_be_visible()

    # Ann passes the remote to Bob by name.
    await pass_to(ann, "Bob")
    await expect(remote(bob)).to_contain_text("You have the remote")
    await expect(remote(ann)).to_contain_text("Bob has the remote")
    await expect(remote(ann).get_by_role("button", name="Take it back")).to_be_visible()
    before = await ann.page.locator(title).inner_text()
    await bob.page.get_by_role("button", name="Next product, for everyone").click()
    await expect(ann.page.locator(title)).not_to_have_text(before)
    await bob.screenshot(str(artifacts / "remote-guest-holds.png"))

    # Bob passes it back to Ann, by name too.
    await pass_to(bob, "Ann")
    await expect(remote(bob)).to_contain_text("Ann has the remote")
    await expect(bob.page.get_by_role("button", name="Next product, just for you")).to_be_visible()
    await expect(remote(bob).get_by_role("button")).to_have_count(0)

    # Again to Bob, who gives it back: nobody holds it, the host steers (and is offered no
    # pointless "Take the remote": she may steer anyway).
    await pass_to(ann, "Bob")
    await expect(remote(bob)).to_contain_text("You have the remote")
    await remote(bob).get_by_role("button", name="Give it back").click()
    await expect(remote(bob)).to_contain_text("The host steers the carousel")
    await expect(remote(ann)).to_contain_text("You steer the carousel")
    await expect(remote(ann).get_by_role("button", name="Take the remote")).to_have_count(0)
    # Ann passes it to Bob and takes it back while he holds it.
    await pass_to(ann, "Bob")
    await expect(remote(bob)).to_contain_text("You have the remote")
    await remote(ann).get_by_role("button", name="Take it back").click()
    await expect(remote(bob)).to_contain_text("Ann has the remote")
    for page in (ann, bob):
        assert page.errors == [], page.errors
