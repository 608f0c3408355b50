"""The Chromium half of the join benchmark: Debian's Chromium, headless, with a fake camera/mic.

Launched the way tests/browser/conftest.py does (Playwright with ``executable_path``). The timing
runs inside the page: a capture-phase listener stamps the join click, and a 5 ms poll stamps the
first moment each remote tile's <video> reports a decoded frame
(``getVideoPlaybackQuality().totalVideoFrames > 0``), all on ``performance.now()``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.chromium import CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page


_INSTALL_TIMER = """
(expected) => {
  const t = (window.__joinbench = {
    click: null, joined: null, first: {}, expected, draw: null, drawn: null,
  });
  const call = window.coshop.call;
  const draw = call._draw.bind(call);
  call._draw = (message) => {
    if (t.click !== null && t.draw === null) t.draw = performance.now();
    const done = () => {
      if (t.click !== null && t.drawn === null) t.drawn = performance.now();
    };
    return Promise.resolve(draw(message)).then(done);
  };
  document.querySelector('#join').addEventListener('click', () => {
    t.click = performance.now();
  }, { capture: true });
  const poll = () => {
    if (t.click !== null && t.joined === null && document.body.dataset.phase === 'joined') {
      t.joined = performance.now();
    }
    for (const fig of document.querySelectorAll('#grid .tile:not(.self)')) {
      const id = fig.dataset.participant;
      const video = fig.querySelector('video');
      if (!(id in t.first) && video && video.getVideoPlaybackQuality().totalVideoFrames > 0) {
        t.first[id] = performance.now();
      }
    }
    if (Object.keys(t.first).length < expected) setTimeout(poll, 5);
  };
  poll();
}
"""

# Stamps the page's signaling: when the socket opened, each message type sent and received.
_WATCH_SOCKET = """
(() => {
  const log = (window.__joinbenchWs = { open: null, sent: {}, recv: {}, connected: null });
  const NativePc = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePc {
    constructor(...args) {
      super(...args);
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected' && log.connected === null) {
          log.connected = performance.now();
        }
      });
    }
  };
  const stamp = (table, data) => {
    try {
      const type = JSON.parse(data).type;
      (table[type] = table[type] || []).push(performance.now());
    } catch (e) { /* not JSON: not ours to time */ }
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('open', () => { log.open = performance.now(); });
      this.addEventListener('message', (event) => stamp(log.recv, event.data));
    }
    send(data) {
      stamp(log.sent, data);
      return super.send(data);
    }
  };
})();
"""

_PLAYING = """
(n) => [...document.querySelectorAll('#grid .tile:not(.self) video')]
  .filter((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0).length >= n
"""

Progress = Callable[[str], None]


def unavailable(chromium: Path) -> str | None:
    """Why the Chromium part cannot run here, or None if it can."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not chromium.exists():
        return f"{chromium} not found (apt-get install chromium)"
    return None


class BrowserRoom:
    """Chromium pages in one room: long-lived fillers, and a timed joiner opened per join."""

    def __init__(self, browser: Browser, url: str, room: str) -> None:
        self.browser = browser
        self.url = url
        self.room = room
        self.fillers: list[tuple[BrowserContext, Page]] = []

    async def _open(self) -> tuple[BrowserContext, Page]:
        context = await self.browser.new_context(
            viewport={"width": 1280, "height": 720}, permissions=["camera", "microphone"]
        )
        await context.add_init_script(_WATCH_SOCKET)
        page = await context.new_page()
        await page.goto(f"{self.url}/r/{self.room}")
        await page.wait_for_function("() => window.coshop && !window.coshop.media.starting")
        return context, page

    async def create(self) -> None:
        """Create the room (the page joins only rooms that exist; it never creates one)."""
        import aiohttp

        async with aiohttp.ClientSession() as session, session.post(
            f"{self.url}/api/rooms", json={"id": self.room}
        ) as response:
            assert response.status == 201, await response.text()

    async def add_filler(self, name: str) -> str:
        """A Chromium participant that stays in the room; returns its participant id."""
        context, page = await self._open()
        await page.fill("#name", name)
        await page.click("#join")
        await page.wait_for_function("() => document.body.dataset.phase === 'joined'")
        self.fillers.append((context, page))
        return str(await page.evaluate("() => window.coshop.room.you.id"))

    async def fillers_playing(self, limit: float = 60) -> None:
        """Every filler page shows every other filler's video decoding."""
        n = len(self.fillers) - 1
        for _context, page in self.fillers:
            await page.wait_for_function(_PLAYING, arg=n, timeout=limit * 1000)

    async def timed_join(self, name: str, expected: set[str], limit: float) -> dict[str, Any]:
        """Open a page, click join, wait until every expected remote tile plays; then leave."""
        context, page = await self._open()
        try:
            await page.fill("#name", name)
            await page.evaluate(_INSTALL_TIMER, len(expected))
            await page.click("#join")
            complete = True
            try:
                await page.wait_for_function(
                    "() => Object.keys(window.__joinbench.first).length >= "
                    "window.__joinbench.expected",
                    timeout=limit * 1000,
                )
            except Exception as exc:  # playwright's TimeoutError: keep what arrived
                if type(exc).__name__ != "TimeoutError":
                    raise
                complete = False
            t: dict[str, Any] = await page.evaluate("() => window.__joinbench")
            ws: dict[str, Any] = await page.evaluate("() => window.__joinbenchWs")
        finally:
            await context.close()
        click = t["click"]

        def nth(table: dict[str, list[float]], kind: str, i: int) -> float | None:
            stamps = table.get(kind, [])
            return stamps[i] - click if len(stamps) > i else None

        phases = {
            "ws_open": None if ws["open"] is None else ws["open"] - click,
            "join_sent": nth(ws["sent"], "join", 0),
            "joined": nth(ws["recv"], "joined", 0),
            "offer1": nth(ws["recv"], "offer", 0),
            "answer1": nth(ws["sent"], "answer", 0),
            "offer2": nth(ws["recv"], "offer", 1),
            "answer2": nth(ws["sent"], "answer", 1),
            "connected": None if ws["connected"] is None else ws["connected"] - click,
            "draw": None if t["draw"] is None else t["draw"] - click,
            "drawn": None if t["drawn"] is None else t["drawn"] - click,
            "joined_shown": None if t["joined"] is None else t["joined"] - click,
        }
        first = {pid: at - click for pid, at in t["first"].items() if pid in expected}
        return {
            "complete": complete and set(first) == expected,
            "joined_ms": phases["joined_shown"],
            "phases_ms": phases,
            "offers": len(ws["recv"].get("offer", [])),
            "first_ms": min(first.values()) if first else None,
            "all_ms": max(first.values()) if complete and set(first) == expected else None,
            "per_source_ms": first,
        }

    async def close(self) -> None:
        for context, _page in self.fillers:
            await context.close()
        self.fillers.clear()


async def run_browser_room(
    *,
    url: str,
    room: str,
    size: int,
    joins: int,
    chromium: Path,
    chromium_fill: bool,
    aiortc_fill: Callable[[str, int], Awaitable[dict[str, int]]],
    room_settled: Callable[[str, int], Awaitable[None]],
    progress: Progress,
    limit: float = 20,
) -> dict[str, Any]:
    """Time ``joins`` Chromium joins into a room of ``size`` (the joiner included)."""
    from playwright.async_api import async_playwright

    samples: list[dict[str, Any]] = []
    aborted: str | None = None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        broom = BrowserRoom(browser, url, room)
        try:
            await broom.create()
            if chromium_fill:
                ids = {await broom.add_filler(f"page{i}") for i in range(size - 1)}
                await broom.fillers_playing()
            else:
                ids = set(await aiortc_fill(room, size - 1))
            fill = "Chromium pages" if chromium_fill else "aiortc publishers"
            progress(f"  room ready ({size - 1} {fill}); warm-up join")
            await broom.timed_join("warmup", ids, limit)
            await room_settled(room, size - 1)
            for k in range(joins):
                started = time.monotonic()
                sample = await broom.timed_join(f"joiner{k}", ids, limit)
                samples.append(sample)
                try:
                    await room_settled(room, size - 1)
                except RuntimeError as exc:
                    # Keep what was measured; the room is no longer the one being measured.
                    aborted = f"stopped after join {k + 1}: {exc}"
                    progress(f"  chromium {size}-room {aborted}")
                    break
                progress(
                    f"  chromium {size}-room join {k + 1}/{joins}: "
                    f"first {_ms(sample['first_ms'])}, all {_ms(sample['all_ms'])} "
                    f"({time.monotonic() - started:.1f} s incl. page load)"
                )
        finally:
            await broom.close()
            await browser.close()
    fill = "chromium" if chromium_fill else "aiortc"
    return {"size": size, "fill": fill, "samples": samples, "aborted": aborted}


def _ms(v: float | None) -> str:
    return "timeout" if v is None else f"{v:.0f} ms"
