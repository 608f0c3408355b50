"""A coshop client written from docs/PROTOCOL.md alone, the way an outside developer would.

It imports nothing from coshop or its test helpers: only aiohttp, aiortc, av and numpy. Each
publisher paints its own colour, so a receiver can tell WHO every decoded frame came from.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

WIDTH, HEIGHT = 160, 120
#: Distinct colours (RGB) a publisher can paint; a receiver matches the nearest one.
PALETTE: list[tuple[int, int, int]] = [
    (220, 30, 30),
    (30, 200, 30),
    (30, 60, 220),
    (230, 220, 30),
    (210, 40, 210),
    (30, 210, 210),
    (240, 240, 240),
    (130, 70, 20),
    (250, 140, 0),
    (90, 90, 90),
    (120, 0, 160),
]


def nearest_colour(rgb: tuple[float, float, float]) -> int:
    """Index of the palette colour closest to ``rgb``."""
    dists = [sum((a - b) ** 2 for a, b in zip(rgb, c, strict=True)) for c in PALETTE]
    return dists.index(min(dists))


class ColourTrack(VideoStreamTrack):
    """``fps`` frames a second of one colour with a moving stripe (content changes every frame),
    or a still picture (``moving=False``).

    aiortc's VP8 encoder makes a keyframe at start and then only when asked (PLI/FIR).
    """

    def __init__(
        self,
        colour: int,
        *,
        moving: bool = True,
        fps: int = 30,
        size: tuple[int, int] = (WIDTH, HEIGHT),
    ) -> None:
        super().__init__()
        self._rgb = np.array(PALETTE[colour], dtype=np.uint8)
        self._moving = moving
        self._fps = fps
        self._width, self._height = size
        self._n = 0
        self._began: float | None = None
        self._still: np.ndarray | None = None

    def _image(self) -> np.ndarray:
        img = np.empty((self._height, self._width, 3), dtype=np.uint8)
        img[:, :] = self._rgb
        if self._moving:
            x = (self._n * 3) % (self._width - 8)
            img[:, x : x + 4] = self._rgb // 2  # a darker stripe keeps the mean colour close
        else:
            img[::16, ::16] = self._rgb // 2  # a fixed dot pattern: a still picture
        return img

    async def recv(self) -> av.VideoFrame:
        if self._began is None:
            self._began = time.monotonic()
        due = self._began + self._n / self._fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        if self._moving or self._still is None:
            self._still = self._image()
        frame = av.VideoFrame.from_ndarray(self._still, format="rgb24")
        frame.pts = self._n * (90000 // self._fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._n += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames of 48 kHz mono: someone who keeps talking."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._n = 0
        self._began: float | None = None
        t = np.arange(960) / 48000
        self._samples = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16).reshape(1, -1)

    async def recv(self) -> av.AudioFrame:
        if self._began is None:
            self._began = time.monotonic()
        await asyncio.sleep(max(0.0, self._began + self._n * 0.02 - time.monotonic()))
        frame = av.AudioFrame.from_ndarray(self._samples, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += 1
        return frame


class JoinRefused(Exception):
    """The server answered ``join`` with an ``error`` (its message is the argument)."""

    def __str__(self) -> str:
        return f"join refused: {self.args[0].get('code')}: {self.args[0].get('message')}"


@dataclass
class Received:
    """What one receiver decoded from one source (participant id)."""

    frames: int = 0
    right_colour: int = 0
    wrong_colour: int = 0
    first_at: float | None = None
    last_at: float | None = None
    gaps: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # when each frame was decoded
    checked: int = 0  # frames whose colour was looked at
    last_right: bool = False  # the verdict of the last frame looked at


@dataclass
class Stranger:
    """One participant: signaling over a WebSocket, media over one aiortc peer connection."""

    base_url: str
    name: str
    colour: int | None  # None = does not publish video (audio only or viewer)
    moving: bool = True
    fps: int = 30
    size: tuple[int, int] = (WIDTH, HEIGHT)
    role: str = "guest"
    tone: bool = False  # send a tone (a talker) instead of silence
    check_every: int = 1  # check the colour of every Nth decoded frame (a busy room: fewer)
    #: Our RTCPeerConnection's bundlePolicy; "max-bundle" is also said in `join` (PROTOCOL.md).
    bundle_policy: str = "balanced"
    colour_of: Callable[[str], int | None] = lambda _pid: None
    me: str | None = None
    joined_at: float | None = None
    participants: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: dict[str, Received] = field(default_factory=dict)
    audio_frames: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    offers: int = 0
    left: str | None = None
    resume: str | None = None

    auto_reconnect: bool = False  # a lost socket: join again through base_url, as a browser
    redirects: list[dict[str, Any]] = field(default_factory=list)
    #: (when, url) of every WebSocket opened; monotonic seconds.
    connections: list[tuple[float, str]] = field(default_factory=list)
    lost_at: list[float] = field(default_factory=list)  # when an open socket was lost
    resets: list[float] = field(default_factory=list)  # when our media was dropped for a rejoin

    def __post_init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._mover: asyncio.Task[None] | None = None
        self._closing = False
        self._hops = 0  # redirects in a row, each from the node the previous one named
        self._ice_servers: list[dict[str, Any]] = []
        self._room: str | None = None
        self._extra: dict[str, Any] = {}
        self._joined = asyncio.Event()
        self._video_track = (
            None
            if self.colour is None
            else ColourTrack(self.colour, moving=self.moving, fps=self.fps, size=self.size)
        )
        self._audio_track: MediaStreamTrack | None = None
        if self.role != "viewer":
            self._audio_track = ToneTrack() if self.tone else AudioStreamTrack()
        self._consumers: list[asyncio.Task[None]] = []
        self._new_pc()

    def _new_pc(self) -> None:
        # PROTOCOL.md: configure the connection with the ice_servers of `joined`.
        self.pc = RTCPeerConnection(RTCConfiguration(
            iceServers=[
                RTCIceServer(urls=s["urls"], username=s.get("username"),
                             credential=s.get("credential"))
                for s in self._ice_servers
            ],
            bundlePolicy=RTCBundlePolicy(self.bundle_policy),
        ))
        self._slots: dict[str, str | None] = {}  # mid -> source participant id
        self._attached = False
        self.pc.on("track", self._on_track)

    # -- signaling ---------------------------------------------------------------------

    async def join(self, room: str, *, extra: dict[str, Any] | None = None) -> None:
        """Join ``room`` through ``base_url``, following ``redirect`` (PROTOCOL.md, Several
        nodes) to the node that serves it."""
        self._room, self._extra = room, dict(extra or {})
        self._session = aiohttp.ClientSession()
        self.joined_at = time.monotonic()
        await self._enter(self.base_url.replace("http", "ws", 1) + "/ws")
        await asyncio.wait_for(self._joined.wait(), 10)
        if self.me is None:
            raise JoinRefused(self.errors[-1])

    async def _enter(self, url: str) -> None:
        """Open a socket to ``url`` and send our join there (as ourselves again if we were
        in the room: ``resume``)."""
        assert self._session is not None and self._room is not None
        self._ws = await self._session.ws_connect(url, max_msg_size=0)
        self.connections.append((time.monotonic(), url))
        self._reader = asyncio.get_running_loop().create_task(self._read(self._ws))
        msg: dict[str, Any] = {"type": "join", "room": self._room, "name": self.name,
                               "role": self.role, "bundle_policy": self.bundle_policy}
        msg.update(self._extra)
        if self.resume is not None:
            msg["resume"] = self.resume
        await self._ws.send_json(msg)

    async def send(self, msg: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send_json(msg)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for raw in ws:
            if raw.type != aiohttp.WSMsgType.TEXT:
                break
            msg = json.loads(raw.data)
            self.messages.append(msg)
            kind = msg.get("type")
            if kind == "joined" and msg.get("ice_servers") and not self._attached:
                self._ice_servers = msg["ice_servers"]
                old = self.pc
                self._new_pc()
                await old.close()
            if kind in ("joined", "snapshot"):
                self.me = msg["you"]["id"]
                self.resume = msg.get("resume", self.resume)
                self.participants = {p["id"]: p for p in msg["participants"]}
                self._hops = 0
                self._joined.set()
            elif kind == "participant_joined":
                self.participants[msg["participant"]["id"]] = msg["participant"]
            elif kind == "participant_left":
                self.participants.pop(msg["participant_id"], None)
            elif kind == "offer":
                await self._answer(msg)
            elif kind == "slots":  # PROTOCOL.md: the slot map changed, no answer expected
                for slot in msg["slots"]:
                    self._slots[slot["mid"]] = (
                        slot["source"] if slot["direction"] == "sendonly" else None
                    )
            elif kind == "redirect":
                # PROTOCOL.md: this socket is of no more use; join at `url` instead (with the
                # redirect's `resume` when it has one).
                self.redirects.append(msg)
                if msg.get("resume"):
                    self.resume = msg["resume"]
                self._hops += 1
                if self._hops > 5:
                    self.errors.append({"code": "redirect_loop", "message": msg["url"]})
                    self._joined.set()
                    return
                self._move(msg["url"], delay=0.0)
                return
            elif kind == "error":
                self.errors.append(msg)
                if not self._joined.is_set() and msg.get("ref") == "join":
                    self._joined.set()  # join() raises with the error
            elif kind == "left":
                self.left = msg["reason"]
        if not self._closing and ws is self._ws:
            self.lost_at.append(time.monotonic())
            if self.auto_reconnect and self.me is not None:
                # Back through the first URL (the balancer): the node we were on may be dead.
                self._move(self.base_url.replace("http", "ws", 1) + "/ws", delay=0.25)

    def _move(self, url: str, *, delay: float) -> None:
        """Leave this socket (and our media, if we were in) and join again at ``url``."""
        self._mover = asyncio.get_running_loop().create_task(self._moving(url, delay))

    async def _moving(self, url: str, delay: float) -> None:
        ws = self._ws
        if ws is not None:
            self._ws = None
            await ws.close()
        if self.me is not None and self._attached:
            await self._reset_media()
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self._enter(url)
                return
            except (aiohttp.ClientError, OSError):
                # The node is gone: start over at the first URL, with backoff (not a loop:
                # the room is re-pinned once the node's heartbeat is old enough).
                self._hops = 0
                url = self.base_url.replace("http", "ws", 1) + "/ws"
                delay = min(2.0, max(0.25, delay * 2))

    async def _reset_media(self) -> None:
        self.resets.append(time.monotonic())
        for task in self._consumers:
            task.cancel()
        self._consumers = []
        old = self.pc
        self._new_pc()
        await old.close()
        # New tracks for the new connection: a track ends with its sender's connection.
        if self.colour is not None:
            self._video_track = ColourTrack(
                self.colour, moving=self.moving, fps=self.fps, size=self.size
            )
        if self.role != "viewer":
            self._audio_track = ToneTrack() if self.tone else AudioStreamTrack()

    async def _answer(self, msg: dict[str, Any]) -> None:
        assert self._ws is not None
        self.offers += 1
        for slot in msg["slots"]:
            self._slots[slot["mid"]] = slot["source"] if slot["direction"] == "sendonly" else None
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="offer"))
        if not self._attached:
            self._attached = True
            publish = {s["mid"]: s["kind"] for s in msg["slots"] if s["direction"] == "recvonly"}
            for t in self.pc.getTransceivers():
                if t.mid in publish:
                    track = self._video_track if t.kind == "video" else self._audio_track
                    if track is not None:
                        t.sender.replaceTrack(track)
                        t.direction = "sendonly"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._ws.send_json({"type": "answer", "sdp": self.pc.localDescription.sdp})

    # -- media -------------------------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(
            t for t in self.pc.getTransceivers() if t.receiver.track is track
        )
        task = asyncio.get_running_loop().create_task(self._consume(transceiver, track))
        self._consumers.append(task)

    async def _consume(self, transceiver: RTCRtpTransceiver, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                source = self._slots.get(transceiver.mid or "")
                if source is None:
                    continue
                if track.kind == "audio":
                    self.audio_frames[source] = self.audio_frames.get(source, 0) + 1
                    continue
                now = time.monotonic()
                got = self.received.setdefault(source, Received())
                if got.frames % self.check_every == 0 and isinstance(frame, av.VideoFrame):
                    rgb = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
                    expected = self.colour_of(source)
                    got.last_right = expected is not None and nearest_colour(tuple(rgb)) == expected
                    got.checked += 1
                # A frame not looked at counts as its route's last verdict.
                if got.last_right:
                    got.right_colour += 1
                else:
                    got.wrong_colour += 1
                if got.first_at is None:
                    got.first_at = now
                elif got.last_at is not None:
                    got.gaps.append(now - got.last_at)
                got.last_at = now
                got.arrivals.append(now)
                got.frames += 1

    def right_frames(self, source: str) -> int:
        got = self.received.get(source)
        return 0 if got is None else got.right_colour

    def last(self, kind: str) -> dict[str, Any] | None:
        """The latest message of type ``kind``."""
        return next((m for m in reversed(self.messages) if m.get("type") == kind), None)

    def freeze(self) -> None:
        """Go silent without closing anything: stop reading, so pings go unanswered."""
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()

    # -- lifecycle ---------------------------------------------------------------------

    async def leave(self) -> None:
        await self.send({"type": "leave"})

    async def close(self) -> None:
        self._closing = True
        if self._mover is not None:
            self._mover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._mover
        for task in self._consumers:
            task.cancel()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        await self.pc.close()
        for task in self._consumers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

