"""Both ends of a call whose viewer has a slow downlink, for tests/impair/test_slow_downlink.py.

``publisher`` runs in the server's namespace (no impairment): Debian's Chromium on coshop's web
client, publishing VP8 L1T3 from a fake camera that shows one colour under moving noise (a
file, so every decoded frame can be checked for who it came from), and an aiortc viewer
("fast") that decodes it at full rate. ``viewer`` runs in the client namespace, behind the
router's bottleneck: one aiortc viewer ("slow"). Each prints ``ready`` (publisher) or
``measuring T0`` (viewer), then one ``result {json}`` line: when each frame was decoded
(monotonic seconds, one clock for both namespaces) and how many had the publisher's colour
(the viewer: frames per second and the longest wait within its window). With ``--browser``
the slow viewer is Chromium on the web client (frames its decoder counted).

    python -m tests.impair.layered_call publisher URL ROOM --seconds 60
    python -m tests.impair.layered_call viewer URL ROOM --settle 10 --seconds 25 [--browser]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import uvloop
from playwright.async_api import async_playwright

from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.impair.browser import BrowserViewer, launch
from tests.impair.clients import BundledStranger, _wait_healthy, renack_like_a_browser
from tests.interop.stranger import PALETTE, Stranger

#: The publisher's colour in tests.interop.stranger.PALETTE (blue).
COLOUR = 2
WIDTH, HEIGHT, FPS = 640, 360, 30


def write_camera(path: Path, frames: int = 30) -> None:
    """A Y4M clip (4:2:0, BT.601 limited range) of COLOUR under moving noise: busy enough that
    the encoder spends its whole bitrate, flat enough on average to tell who sent it."""
    r, g, b = PALETTE[COLOUR]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    rng = np.random.default_rng(9)
    chroma = np.concatenate(
        [np.full(WIDTH * HEIGHT // 4, u, np.uint8), np.full(WIDTH * HEIGHT // 4, v, np.uint8)]
    ).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            luma = rng.normal(y, 10, (HEIGHT, WIDTH))
            x = i * WIDTH // frames
            luma[:, x : x + 24] -= 30  # a moving bar, as in tests.interop.stranger
            out.write(b"FRAME\n" + np.clip(luma, 16, 235).astype(np.uint8).tobytes() + chroma)


def _report(person: Stranger, source: str, t0: float) -> dict[str, Any]:
    got = person.received.get(source)
    if got is None:
        return {"me": person.me, "arrivals": [], "right": 0, "wrong": 0}
    return {
        "me": person.me,
        "arrivals": [t for t in got.arrivals if t >= t0],
        "right": got.right_colour,
        "wrong": got.wrong_colour,
    }


_METRIC = re.compile(r"^(coshop_sfu_\w+) ([0-9.e+-]+)$", re.M)


async def publisher(url: str, room: str, seconds: float) -> dict[str, Any]:
    args = [
        *CHROMIUM_ARGS,
        "--unsafely-treat-insecure-origin-as-secure=" + url,  # getUserMedia over plain http
    ]
    with tempfile.TemporaryDirectory() as tmp:
        camera = Path(tmp) / "camera.y4m"
        write_camera(camera)
        args.append(f"--use-file-for-fake-video-capture={camera}")
        async with aiohttp.ClientSession() as http:
            await _wait_healthy(http, url, 20)
            # Pages join rooms, never create them.
            async with http.post(url + "/api/rooms", json={"id": room}) as resp:
                assert resp.status == 201, await resp.text()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=args)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 720})
                await page.goto(f"{url}/?room={room}")
                await page.wait_for_function("() => window.coshop && !window.coshop.media.starting")
                await page.get_by_label("Your name").fill("chromium")
                await page.locator("#join").click()
                await page.wait_for_function(
                    "() => document.body.dataset.phase === 'joined'", timeout=20_000
                )
                pub: str = await page.evaluate("() => window.coshop.room.you.id")
                fast = BundledStranger(
                    url, "fast", colour=None, role="viewer", colour_of=lambda _p: COLOUR
                )
                await fast.join(room)
                try:
                    deadline = time.monotonic() + 30
                    while fast.right_frames(pub) < 30:
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"fast viewer: {fast.received}")
                        await asyncio.sleep(0.1)
                    print("ready", flush=True)
                    t0 = time.monotonic()
                    await asyncio.sleep(seconds)
                    async with (
                        aiohttp.ClientSession() as http,
                        http.get(url + "/metrics") as resp,
                    ):
                        text = await resp.text()
                    metrics = {k: float(v) for k, v in _METRIC.findall(text)}
                    return {"fast": _report(fast, pub, t0), "server": metrics}
                finally:
                    with contextlib.suppress(aiohttp.ClientError, ConnectionError):
                        await fast.close()
            finally:
                await browser.close()


def window(arrivals: list[float], t0: float, t1: float) -> tuple[float, float]:
    """Frames per second and the longest wait for a frame within [t0, t1]."""
    times = [t0, *(t for t in arrivals if t0 <= t <= t1), t1]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return (len(times) - 2) / (t1 - t0), max(gaps)


async def browser_viewer(url: str, room: str, settle: float, seconds: float) -> dict[str, Any]:
    """The slow viewer as Debian's Chromium on the web client (its decoder's counts)."""
    async with async_playwright() as pw:
        chromium = await launch(pw)
        try:
            page = await BrowserViewer.join(chromium, url, room, "slow")
            me: str = await page.page.evaluate("() => window.coshop.room.you.id")
            deadline = time.monotonic() + 30
            while not any(t["frames"] for t in (await page.sample()).values()):
                if time.monotonic() > deadline:
                    raise TimeoutError("slow browser decodes nothing")
                await asyncio.sleep(0.2)
            await asyncio.sleep(settle)
            t0 = time.monotonic()
            print(f"measuring {t0}", flush=True)
            before = next(iter((await page.sample()).values()))
            await asyncio.sleep(seconds)
            after = next(iter((await page.sample()).values()))
            t1 = time.monotonic()
            gaps = [*after["all_gaps"][len(before["all_gaps"]) :], after["since_last"] or 0.0]
            return {
                "me": me,
                "fps": (after["frames"] - before["frames"]) / (t1 - t0),
                "longest": max(gaps),
                "right": None,  # the page's decoder counts frames; it does not look at them
                "wrong": None,
                "t0": t0,
                "t1": t1,
            }
        finally:
            await chromium.close()


async def viewer(url: str, room: str, settle: float, seconds: float) -> dict[str, Any]:
    """The slow viewer as an aiortc peer that checks every frame's colour."""
    slow = BundledStranger(url, "slow", colour=None, role="viewer", colour_of=lambda _p: COLOUR)
    await slow.join(room)
    renack = asyncio.get_running_loop().create_task(renack_like_a_browser([slow], 0.1, 10))
    try:
        deadline = time.monotonic() + 30
        while not slow.received:
            if time.monotonic() > deadline:
                raise TimeoutError("slow viewer decodes nothing")
            await asyncio.sleep(0.1)
        # The first seconds at full rate overflow the link until REMB says so.
        await asyncio.sleep(settle)
        t0 = time.monotonic()
        print(f"measuring {t0}", flush=True)
        await asyncio.sleep(seconds)
        t1 = time.monotonic()
        got = slow.received[next(iter(slow.received))]
        fps, longest = window(got.arrivals, t0, t1)
        return {
            "me": slow.me,
            "fps": fps,
            "longest": longest,
            "right": got.right_colour,
            "wrong": got.wrong_colour,
            "t0": t0,
            "t1": t1,
        }
    finally:
        renack.cancel()
        await asyncio.wait([renack])
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            await slow.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.impair.layered_call")
    p.add_argument("role", choices=["publisher", "viewer"])
    p.add_argument("url")
    p.add_argument("room")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--settle", type=float, default=10.0)
    p.add_argument("--browser", action="store_true", help="the viewer is Chromium")
    args = p.parse_args(argv)
    if args.role == "publisher":
        result = uvloop.run(publisher(args.url, args.room, args.seconds))
    else:
        run = browser_viewer if args.browser else viewer
        result = uvloop.run(run(args.url, args.room, args.settle, args.seconds))
    print("result " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
