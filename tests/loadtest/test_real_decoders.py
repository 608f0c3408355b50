"""Real decoders watch ``coshop loadtest`` publishers through a real ``coshop serve``: Chromium
(Playwright, its own getStats) and a decoding aiortc viewer. The pre-encoded loop must be a
stream no decoder can tell from a camera's: no keyframe request, no freeze, no decode error
over a minute of a clean link, however many times the loop wraps."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import async_playwright

from tests.chromium import chromium_missing
from tests.helpers import wait_for
from tests.impair.browser import INBOUND_VIDEO_JS, join_watch_only, launch
from tests.interop.stranger import Stranger
from tests.loadtest.conftest import Server, start_loadtest

pytestmark = [pytest.mark.media, pytest.mark.browser]

PUBLISHERS = 3
WINDOW_S = 60.0

class _DecodeErrors(logging.Handler):
    """aiortc logs a warning for every frame its decoder rejects (and then sends a PLI)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "failed to decode" in record.getMessage():
            self.messages.append(record.getMessage())


async def _server_plis(url: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
        text = await resp.text()
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith("coshop_sfu_plis_sent_total"))


@pytest.mark.timeout(240)
async def test_chromium_and_aiortc_decode_loadtest_publishers_with_no_keyframe_request(
    server: Server, tmp_path: Path
) -> None:
    if problem := chromium_missing():
        pytest.fail(problem, pytrace=False)
    prefix = f"dec{uuid.uuid4().hex[:6]}"
    scenario = tmp_path / "s.toml"
    # 180p keeps the shared machine's load low; the 3 s loop wraps twenty times in the window.
    scenario.write_text(
        f'rooms = 1\npeers = {PUBLISHERS}\npreset = "180p"\nduration = "180s"\n'
        f'room_prefix = "{prefix}"\nworkers = 1\n'
    )
    tester = await start_loadtest("--scenario", str(scenario), "--url", server.url)
    errors = _DecodeErrors()
    logging.getLogger("aiortc.rtcrtpreceiver").addHandler(errors)
    viewer = Stranger(server.url, "aiortc-viewer", colour=None, role="viewer",
                      bundle_policy="max-bundle")
    try:
        room = f"{prefix}-0"
        async with async_playwright() as pw:
            chromium = await launch(pw)
            try:
                await viewer.join(room)  # first: the page joins rooms that exist only
                page = await join_watch_only(chromium, server.url, room, "chromium")

                seen: dict[str, Any] = {}

                async def everyone_decodes() -> bool:
                    seen["chromium"] = await page.evaluate(INBOUND_VIDEO_JS)
                    seen["aiortc"] = {k: v.frames for k, v in viewer.received.items()}
                    return len(seen["chromium"]) == len(seen["aiortc"]) == PUBLISHERS

                try:
                    await wait_for(everyone_decodes, 60, interval=0.5)
                except AssertionError:
                    if tester.returncode is None:
                        tester.terminate()
                    out, err = await tester.communicate()
                    pytest.fail(f"not every publisher decoded: {seen}; tester: "
                                f"{out[-2000:]!r} {err[-2000:]!r}")
                await asyncio.sleep(3)  # past the join's keyframes
                load_before = os.getloadavg()
                before: dict[str, Any] = await page.evaluate(INBOUND_VIDEO_JS)
                plis_before = await _server_plis(server.url)
                aiortc_before = {k: (v.frames, len(v.gaps)) for k, v in viewer.received.items()}
                started = time.monotonic()
                await asyncio.sleep(WINDOW_S)
                after: dict[str, Any] = await page.evaluate(INBOUND_VIDEO_JS)
                plis_after = await _server_plis(server.url)
                seconds = time.monotonic() - started
                load = max(load_before[0], os.getloadavg()[0])
            finally:
                await chromium.close()
    finally:
        logging.getLogger("aiortc.rtcrtpreceiver").removeHandler(errors)
        await viewer.close()
        if tester.returncode is None:
            tester.terminate()
            await tester.communicate()
    saturated = load > (os.cpu_count() or 1)
    detail = f"before {before}, after {after}, load {load:.2f}, aiortc errors {errors.messages}"
    for mid, end in after.items():
        start = before[mid]
        # Not one keyframe request in a minute of twenty loop wraps, nor a keyframe.
        assert end["pli"] - start["pli"] == 0, detail
        assert end["fir"] - start["fir"] == 0, detail
        assert end["keyframes"] == start["keyframes"], detail
        assert end["decoded"] - start["decoded"] >= 0.9 * 30 * seconds, detail
        if not saturated:
            assert end["freezes"] - start["freezes"] == 0, detail
            assert end["dropped"] - start["dropped"] == 0, detail
    # Nobody (Chromium, aiortc or loadtest receivers) asked the SFU for a keyframe.
    assert plis_after - plis_before == 0, detail
    # aiortc decoded every frame: no decoder error, about 30 frames a second, no long gap.
    assert errors.messages == [], detail
    for source, got in viewer.received.items():
        frames0, gaps0 = aiortc_before[source]
        assert got.frames - frames0 >= 0.9 * 30 * seconds, detail
        longest = max(got.gaps[gaps0:], default=0.0)
        assert longest < (0.5 if not saturated else 1.5), (source, longest, detail)
