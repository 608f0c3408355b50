"""Chromium publishers, seen by stranger receivers: WHO each decoded frame came from.

Each Chromium runs in its own process with its own fake camera, a looping Y4M file of one
palette colour (``--use-file-for-fake-video-capture``), so an aiortc receiver written from
docs/PROTOCOL.md can tell the browsers apart by colour, whether it was there first or joined late.
The browser pages are the product's web client, driven like a person: a name, then Join.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.interop.conftest import Server
from tests.interop.stranger import PALETTE, Stranger

pytestmark = [pytest.mark.media, pytest.mark.browser]

CHROMIUM = Path(os.environ.get("COSHOP_TEST_CHROMIUM", "/usr/bin/chromium"))
W, H, FRAMES = 320, 240, 30


def colour_y4m(path: Path, colour: int) -> Path:
    """A one-second looping clip of ``colour`` with a moving darker stripe (I420, BT.601)."""
    r, g, b = (float(v) for v in PALETTE[colour])
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{W} H{H} F30:1 Ip A1:1 C420jpeg\n".encode())
        for n in range(FRAMES):
            luma = np.full((H, W), y, dtype=np.float32)
            x = (n * 8) % (W - 16)
            luma[:, x : x + 8] *= 0.6
            out.write(b"FRAME\n")
            out.write(luma.astype(np.uint8).tobytes())
            out.write(np.full((H // 2, W // 2), u, dtype=np.uint8).tobytes())
            out.write(np.full((H // 2, W // 2), v, dtype=np.uint8).tobytes())
    return path


async def chromium_page(
    playwright: object, tmp: Path, colour: int, url: str, name: str
) -> tuple[Browser, Page]:
    clip = colour_y4m(tmp / f"colour-{colour}.y4m", colour)
    browser = await playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}",
        ],
    )
    page = await browser.new_page()
    await page.goto(url)
    await page.get_by_label("Your name").fill(name)
    await page.wait_for_function("() => window.coshop && !window.coshop.media.starting")
    await page.locator("#join").click()
    await page.wait_for_function("() => document.body.dataset.phase === 'joined'")
    return browser, page


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (tests/run.sh does)")
    return CHROMIUM


@pytest.fixture
async def playwright(chromium: Path) -> AsyncIterator[object]:
    async with async_playwright() as pw:
        yield pw


async def test_stranger_receivers_tell_chromium_publishers_apart(
    serve: Callable[..., Server], playwright: object, tmp_path: Path
) -> None:
    server = serve()
    room = "chromium-publishers"
    colours: dict[str, int] = {}
    early = Stranger(server.url, "early", 2, colour_of=colours.get)
    late: Stranger | None = None
    browsers: list[Browser] = []
    try:
        await early.join(room)
        assert early.me is not None
        colours[early.me] = 2
        for colour, name in ((0, "Rosa"), (1, "Gus")):
            browser, page = await chromium_page(
                playwright, tmp_path, colour, f"{server.url}/r/{room}", name
            )
            browsers.append(browser)
            colours[await page.evaluate("() => window.coshop.room.you.id")] = colour
        chromes = [pid for pid, c in colours.items() if c in (0, 1)]

        def decodes(r: Stranger, sources: list[str]) -> bool:
            return all(r.right_frames(s) >= 20 for s in sources)

        deadline = time.monotonic() + 30
        while not decodes(early, chromes):
            assert time.monotonic() < deadline, {s: early.received.get(s) for s in chromes}
            await asyncio.sleep(0.2)
        # Someone joins the call late: every browser and the aiortc publisher, by colour.
        late = Stranger(server.url, "late", None, role="viewer", colour_of=colours.get)
        await late.join(room)
        joined_at = time.monotonic()
        everyone = [*chromes, early.me]
        while not decodes(late, everyone):
            assert time.monotonic() - joined_at < 20, {s: late.received.get(s) for s in everyone}
            await asyncio.sleep(0.1)
        for r in (early, late):
            for s in (chromes if r is early else everyone):
                got = r.received[s]
                assert got.wrong_colour <= got.frames // 10, (r.name, s, got)
        assert early.errors == [] and late.errors == []
    finally:
        for p in (early, late):
            if p is not None:
                await p.close()
        for browser in browsers:
            await browser.close()
