"""Chromium as a subscriber of an impaired call: the browser client, measured from inside the page.

Runs in the client namespace next to the protocol-only clients (``tests.impair.clients
--browsers N``). Each page is Debian's Chromium (Playwright, ``executable_path``) with a fake
camera and microphone, on coshop's own web client, joined to the call's room by its name. A
script in the page samples the peer connection's ``getStats()`` every 50 ms and keeps, per
publisher, the decoded frame count and every gap between two newly decoded frames.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, Playwright

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

# Per remote participant: frames decoded so far (the decoder's count, inbound-rtp
# framesDecoded, mapped to its publisher through the client's slot map), the time of the last
# newly decoded frame and every gap between them, on performance.now(), sampled every 50 ms.
# Decoded, not presented: a headless page on a busy machine skips painting frames it decoded,
# and what is measured here is what the network and the SFU deliver.
_WATCH_JS = """
() => {
  const w = (window.__impair = { tiles: {} });
  const tick = async () => {
    const session = window.coshop.call.session;
    if (!session) return;
    const now = performance.now();
    (await session.pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
      const slot = session.slots.get(s.mid);
      if (!slot || !slot.source) return;
      const t = (w.tiles[slot.source] ||= { frames: 0, last: null, gaps: [] });
      const frames = s.framesDecoded || 0;
      t.dropped = s.framesDropped || 0;
      t.nacks = s.nackCount || 0;
      t.lost = s.packetsLost || 0;
      if (frames > t.frames) {
        if (t.last !== null) t.gaps.push((now - t.last) / 1000);
        t.frames = frames;
        t.last = now;
      }
    });
  };
  setInterval(tick, 50);
  // What is painted, sampled synchronously: tells a decoder stall from a getStats stall.
  const paint = () => {
    const now = performance.now();
    document.querySelectorAll('#grid .tile:not(.self)').forEach((figure) => {
      const video = figure.querySelector('video');
      const id = figure.dataset.participant;
      if (!video || !id) return;
      const frames = video.getVideoPlaybackQuality().totalVideoFrames;
      const t = (w.tiles[id] ||= { frames: 0, last: null, gaps: [] });
      if (frames > (t.painted || 0)) {
        if (t.painted_at) t.paint_gaps = Math.max(t.paint_gaps || 0, (now - t.painted_at) / 1000);
        t.painted = frames;
        t.painted_at = now;
      }
    });
  };
  setInterval(paint, 20);
}
"""

_READ_JS = """
() => {
  const out = {};
  const now = performance.now();
  for (const [id, t] of Object.entries(window.__impair.tiles)) {
    out[id] = { frames: t.frames, gaps: t.gaps.length, dropped: t.dropped, nacks: t.nacks,
                lost: t.lost, longest_paint_gap: t.paint_gaps || 0,
                since_last: t.last === null ? null : (now - t.last) / 1000,
                all_gaps: t.gaps };
  }
  return out;
}
"""


class BrowserViewer:
    """One Chromium page on the web client, in a room; ``sample()`` reads its tiles."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = name

    @classmethod
    async def join(cls, browser: Browser, url: str, room: str, name: str) -> BrowserViewer:
        context = await browser.new_context(
            viewport={"width": 1366, "height": 820}, permissions=["camera", "microphone"]
        )
        page = await context.new_page()
        await page.goto(f"{url}/?room={room}")
        await page.wait_for_function("() => window.coshop && !window.coshop.media.starting")
        await page.get_by_label("Your name").fill(name)
        await page.locator("#join").click()
        await page.wait_for_function(
            "() => document.body.dataset.phase === 'joined'", timeout=20_000
        )
        await page.evaluate(_WATCH_JS)
        return cls(page, name)

    async def sample(self) -> dict[str, dict[str, Any]]:
        """Per remote participant id: frames decoded, gaps seen, seconds since the last frame."""
        tiles: dict[str, dict[str, Any]] = await self.page.evaluate(_READ_JS)
        return tiles


# Per received video stream of a page (by mid): the browser's own counters (webrtc-stats
# RTCInboundRtpStreamStats: pliCount/firCount/nackCount are what this receiver sent, freezeCount
# and framesDropped what it saw).
INBOUND_VIDEO_JS = """
async () => {
  const out = {};
  (await window.coshop.call.session.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0) {
      out[s.mid] = { pli: s.pliCount, fir: s.firCount, nacks: s.nackCount,
                     freezes: s.freezeCount, decoded: s.framesDecoded,
                     keyframes: s.keyFramesDecoded, dropped: s.framesDropped,
                     lost: s.packetsLost };
    }
  });
  return out;
}
"""


async def join_watch_only(browser: Browser, url: str, room: str, name: str) -> Page:
    """A page on the web client joined to ``room`` (which must exist) as a viewer: no camera."""
    context = await browser.new_context(viewport={"width": 1366, "height": 820})
    page = await context.new_page()
    await page.goto(f"{url}/?room={room}")
    await page.wait_for_function("() => window.coshop && !window.coshop.media.starting")
    await page.get_by_label("Your name").fill(name)
    await page.locator("#viewer").check()
    await page.locator("#join").click()
    await page.wait_for_function("() => document.body.dataset.phase === 'joined'", timeout=20_000)
    return page


async def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium (check ``tests.chromium.chromium_missing()`` first)."""
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
