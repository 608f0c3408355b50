"""The README's live show screenshots: a viewer's phone (390x844) and the host's page on a laptop
(1280x800). The host is a Chromium page publishing the fake camera; aiortc viewers chat, react,
raise a hand and add to their own carts.

    nice -n 15 .venv/bin/python -m tests.browser.live_screenshots   # docs/screenshots/live-*.png
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

from tests.browser.aiortc_peer import ProtocolPeer
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ROOM = "spring-drop"
SAYS = [("Dan", "Is the jacket true to size?"), ("Eve", "Love that colour 😍"),
        ("Fay", "Does it come in navy?"), ("Gus", "Just added two!")]


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as logs:
        server = CoshopServer(Path(logs))
        await server.start()
        peers: list[ProtocolPeer] = []
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                laptop = await browser.new_context(
                    viewport={"width": 1280, "height": 800},
                    permissions=["camera", "microphone"],
                )
                host = RoomPage(await laptop.new_page(), server.url)
                await host.goto(f"/live/{ROOM}?host=Hana")
                await host.wait_joined()
                for i, (name, text) in enumerate(SAYS):
                    peer = ProtocolPeer(server.url, name, index=i + 1, decode=False)
                    peers.append(peer)
                    await peer.join(ROOM, role="viewer")
                    await peer.send({"type": "chat", "text": text})
                    await peer.send({"type": "react", "emoji": "❤️"})
                await peers[2].send({"type": "raise_hand", "raised": True})
                phone = await browser.new_context(
                    viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                    device_scale_factor=2,
                )
                viewer = RoomPage(await phone.new_page(), server.url)
                await viewer.goto(f"/live/{ROOM}")
                await viewer.page.get_by_label("Your name").fill("Ann")
                await viewer.page.get_by_role("button", name="Watch live").click()
                await viewer.wait_joined()
                await viewer.page.wait_for_function(
                    "() => { const v = document.querySelector('#live-main-video video');"
                    " return v && v.videoWidth > 0 && !v.paused; }", timeout=60_000,
                )
                title = await host.page.evaluate("() => window.coshop.shopping.ordered[1].title")
                await host.page.get_by_role("button", name=f"Pin — {title}").click()
                await viewer.page.get_by_role("button", name="Add to cart").click()
                await viewer.page.get_by_role("textbox", name="Message").fill("Ordering mine now")
                await viewer.page.get_by_role("textbox", name="Message").press("Enter")
                for peer in peers:
                    await peer.send({"type": "react", "emoji": "🔥"})
                await viewer.page.wait_for_timeout(700)  # reactions in the air, images loaded
                await viewer.screenshot(str(OUT / "live-phone.png"))
                await host.page.wait_for_function(
                    "() => { const v = document.querySelector('#live-main-video video');"
                    " return v && v.videoWidth > 0; }", timeout=60_000,
                )
                await host.page.wait_for_timeout(500)
                await host.screenshot(str(OUT / "live-host.png"))
                await browser.close()
        finally:
            for peer in peers:
                with contextlib.suppress(Exception):
                    await peer.close()
            await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
