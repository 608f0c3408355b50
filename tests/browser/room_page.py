"""One browser participant: a Playwright page on the coshop client, read through its DOM."""

from __future__ import annotations

from typing import Any

from playwright.async_api import ConsoleMessage, Error, Page

from tests.helpers import wait_for

# Every tile of the grid as the test sees it: who, and whether its media really plays.
_TILES_JS = """
() => [...document.querySelectorAll('#grid .tile')].map((figure) => {
  const video = figure.querySelector('video');
  const stream = video.srcObject;
  return {
    id: figure.dataset.participant,
    name: figure.querySelector('.name').textContent,
    self: figure.classList.contains('self'),
    width: video.videoWidth,
    time: video.currentTime,
    frames: video.getVideoPlaybackQuality().totalVideoFrames,
    paused: video.paused,
    audioTracks: stream ? stream.getAudioTracks().map((t) => t.readyState) : [],
    videoTracks: stream ? stream.getVideoTracks().map((t) => t.readyState) : [],
    audio: figure.dataset.audio,
    video: figure.dataset.video,
  };
})
"""


# What the peer connection negotiated and receives, per m-line: for failure messages.
_MEDIA_JS = """
async () => {
  const session = window.coshop.call.session;
  if (!session) return "no media session";
  const inbound = {};
  let outbound = "";
  (await session.pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp") inbound[s.mid] = `ssrc ${s.ssrc} packets ${s.packetsReceived}`;
    if (s.type === "outbound-rtp" && s.kind === "video") {
      outbound = `sending video: frames ${s.framesEncoded} keyframes ${s.keyFramesEncoded} ` +
        `PLIs ${s.pliCount} FIRs ${s.firCount} ${s.frameWidth}x${s.frameHeight}`;
    }
  });
  return session.pc.getTransceivers().map((t) => {
    const slot = session.slots.get(t.mid) || {};
    return `${t.mid} ${slot.kind}/${slot.direction}/${slot.source} now ${t.currentDirection}: ` +
      (inbound[t.mid] || "no inbound-rtp");
  }).join("; ") + ` | ${outbound} | ${session.pc.connectionState} | ` +
    `signaling ${session.pc.signalingState}`;
}
"""


class RoomPage:
    """A page of the client; ``errors`` collects uncaught page errors (a test asserts none)."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self._last_times: dict[str, float] = {}
        self._last_frames: dict[str, int] = {}
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        # The browser itself logs each refused (re)connection attempt while a server is down:
        # that is the reconnect loop at work, not a client error.
        text = message.text
        if message.type == "error" and not ("WebSocket connection to" in text and "failed" in text):
            self.errors.append(f"console.error: {text}")

    async def goto(self, path: str) -> None:
        await self.page.goto(self.base_url + path)

    async def media_ready(self) -> None:
        """The landing page finished asking for the camera and microphone."""
        await self.page.wait_for_function("() => window.coshop && !window.coshop.media.starting")

    async def join(self, name: str) -> None:
        """Fill in the landing page and join; returns once the room's snapshot arrived."""
        await self.media_ready()
        await self.page.get_by_label("Your name").fill(name)
        await self.page.locator("#join").click()
        await self.wait_joined()

    async def wait_joined(self, seconds: float = 15) -> None:
        await self.page.wait_for_function(
            "() => document.body.dataset.phase === 'joined'", timeout=seconds * 1000
        )

    async def phase(self) -> str | None:
        phase = await self.page.evaluate("() => document.body.dataset.phase || null")
        return None if phase is None else str(phase)

    async def you(self) -> dict[str, Any]:
        you: dict[str, Any] = await self.page.evaluate("() => window.coshop.room.you")
        return you

    async def tiles(self) -> list[dict[str, Any]]:
        try:
            tiles: list[dict[str, Any]] = await self.page.evaluate(_TILES_JS)
        except Error:
            return []  # navigating (a reload): no page to ask right now
        return tiles

    async def remote_names(self) -> set[str]:
        return {t["name"] for t in await self.tiles() if not t["self"]}

    async def playing(self, names: set[str]) -> bool:
        """Exactly ``names`` have remote tiles, and each one's video advances and audio is live.

        "Advances" compares currentTime with the previous call's, so poll this.
        """
        tiles = {t["name"]: t for t in await self.tiles() if not t["self"]}
        if set(tiles) != names:
            return False
        ok = True
        for tile in tiles.values():
            key = tile["id"]
            # Both the clock and the decoded frame count (getVideoPlaybackQuality) move on:
            # a frozen picture with a running clock is not playing.
            advanced = tile["time"] > self._last_times.get(key, float("inf")) and tile[
                "frames"
            ] > self._last_frames.get(key, 1 << 62)
            self._last_times[key] = tile["time"]
            self._last_frames[key] = tile["frames"]
            ok = ok and (
                tile["width"] > 0
                and not tile["paused"]
                and advanced
                and tile["videoTracks"] == ["live"]
                and tile["audioTracks"] == ["live"]
                and tile["audio"] == "live"
                and tile["video"] == "live"
            )
        return ok

    async def wait_playing(self, names: set[str], seconds: float = 30) -> None:
        async def check() -> bool:
            return await self.playing(names)

        try:
            await wait_for(check, timeout=seconds, interval=0.3)
        except AssertionError:
            tiles = await self.tiles()
            raise AssertionError(
                f"{await self.name()}: expected {sorted(names)} playing; tiles: {tiles}; "
                f"media: {await self.media()}; errors: {self.errors}; trace: {await self.trace()}"
            ) from None

    async def trace(self) -> list[str]:
        """The client's own log of socket states, phases and messages (window.coshop)."""
        try:
            trace: list[str] = await self.page.evaluate("() => window.coshop.call.trace")
        except Error:
            return []
        return trace[-40:]

    async def media(self) -> str:
        """What the peer connection negotiated, receives and sends (for failure messages)."""
        try:
            return str(await self.page.evaluate(_MEDIA_JS))
        except Error as exc:
            return f"(no media report: {exc})"

    async def name(self) -> str:
        return str(await self.page.evaluate("() => window.coshop.room.you?.name ?? 'not joined'"))

    async def screenshot(self, path: str, *, full_page: bool = False) -> None:
        await self.page.screenshot(path=path, full_page=full_page)
