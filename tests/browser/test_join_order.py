"""The page answers its first offer before it draws the room (issue 8): the server sends the
offer right behind `joined`, and drawing the room (~100 ms of the page's main thread on a
small machine) used to hold the offer back, and every remote tile with it."""

from __future__ import annotations

import pytest

from tests.browser.aiortc_peer import ProtocolPeer
from tests.browser.api import create_room
from tests.browser.conftest import OpenPage
from tests.browser.server import CoshopServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ROOM = "join-order"


def _first(trace: list[str], what: str) -> int:
    """Index of the first trace line (``"<seconds> <what>..."``) about ``what``."""
    return next(i for i, line in enumerate(trace) if line.split(" ", 1)[1].startswith(what))


async def test_the_first_offer_is_answered_before_the_room_is_drawn(
    open_page: OpenPage, server: CoshopServer
) -> None:
    await create_room(server.url, ROOM)
    dan = ProtocolPeer(server.url, "Dan", index=3)
    await dan.join(ROOM)
    try:
        page = await open_page(f"/r/{ROOM}")
        await page.join("Ann")
        await page.wait_playing({"Dan"})
        trace = await page.trace()
        joined, offer, drawn = (
            _first(trace, "got joined"),
            _first(trace, "got offer"),
            _first(trace, "phase joined"),
        )
        assert joined < offer < drawn, trace
    finally:
        await dan.close()
