"""The README's screenshots: the room on a laptop (1280x800) and a phone (390x844) with 2, 4 and
10 people (one Chromium page, the others aiortc participants that vote, chat and fill the cart).

    nice -n 15 .venv/bin/python -m tests.browser.screenshots   # writes docs/screenshots/*.png
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path

from playwright.async_api import Browser, async_playwright

from tests.browser.aiortc_peer import ProtocolPeer
from tests.browser.api import call, create_room
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NAMES = ["Dan", "Eve", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea"]
SIZES = {
    "laptop": {"viewport": {"width": 1280, "height": 800}, "is_mobile": False},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True},
}
SAYS = ["Love the red one", "Is it true to size?", "Add the navy M too", "Ooh, the boots next!"]


async def shoot(browser: Browser, server: CoshopServer, people: int) -> None:
    room = f"shop-with-{people}"
    await create_room(server.url, room)
    catalog = await call(server.url, "GET", f"/api/rooms/{room}/catalog")
    products = catalog["products"]
    peers = [
        ProtocolPeer(server.url, name, index=i + 1, decode=False)
        for i, name in enumerate(NAMES[: people - 1])
    ]
    try:
        for i, peer in enumerate(peers):
            await peer.join(room)
            first, other = products[0], products[(i % 3) + 1]
            await peer.send({"type": "vote", "product_id": first["id"], "value": "yes",
                             "variant_id": first["variants"][i % 2]["id"]})
            await peer.send({"type": "vote", "product_id": other["id"],
                             "value": "yes" if i % 2 == 0 else "no"})
            if i < 2:
                await peer.send({"type": "cart_add", "product_id": other["id"],
                                 "variant_id": other["variants"][0]["id"]})
            if i < len(SAYS):
                await peer.send({"type": "chat", "text": SAYS[i]})
        for size, options in SIZES.items():
            context = await browser.new_context(
                viewport=options["viewport"], is_mobile=options["is_mobile"],
                has_touch=options["is_mobile"], permissions=["camera", "microphone"],
            )
            try:
                page = RoomPage(await context.new_page(), server.url)
                await page.goto(f"/r/{room}")
                await page.join("Ann")
                if size == "laptop" or people <= 4:
                    await page.wait_playing({p.name for p in peers}, seconds=60)
                else:
                    # A phone's strip shows a few people; the others' video is paused (the
                    # client's `view`) until scrolled to: wait for those on screen.
                    await page.page.wait_for_function(
                        "(n) => [...document.querySelectorAll('#grid .tile')]"
                        ".slice(0, n).every((t) => t.dataset.video === 'live')",
                        arg=3, timeout=60_000,
                    )
                if size == "laptop":
                    await page.page.get_by_role("tab", name="Chat").click()
                await page.page.wait_for_timeout(500)  # let toasts and images settle
                await page.screenshot(str(OUT / f"{size}-{people}.png"))
                await page.page.get_by_role("button", name="Leave").click()
            finally:
                await context.close()
    finally:
        for peer in peers:
            with contextlib.suppress(Exception):
                await peer.close()


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as logs:
        server = CoshopServer(Path(logs))
        await server.start()
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                try:
                    for people in (2, 4, 10):
                        await shoot(browser, server, people)
                finally:
                    await browser.close()
        finally:
            await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
