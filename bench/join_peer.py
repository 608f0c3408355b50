"""An aiortc participant for the join benchmark: paints its identity, times every join phase.

Each publisher sends flat VP8 frames of its own colour (a U/V pair in YUV), so a receiver that
decodes a frame can tell WHO it came from without trusting the slot table. Written from
docs/PROTOCOL.md; needs only the packages of a plain ``pip install -e .`` (no numpy).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

WIDTH, HEIGHT = 160, 120
_LEVELS = (48, 101, 154, 207)  # chroma values far enough apart to survive VP8 at any quality


def identity_uv(index: int) -> tuple[int, int]:
    """The (U, V) chroma pair publisher ``index`` (0-15) paints."""
    return _LEVELS[index % 4], _LEVELS[(index // 4) % 4]


def identity_of(u: int, v: int) -> int:
    """The publisher index whose colour is nearest to a decoded (U, V) sample."""
    return min(range(16), key=lambda i: (identity_uv(i)[0] - u) ** 2 + (identity_uv(i)[1] - v) ** 2)


def sample_uv(frame: av.VideoFrame) -> tuple[int, int]:
    """The chroma at the centre of a decoded yuv420p frame."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    u_plane, v_plane = frame.planes[1], frame.planes[2]
    row, col = u_plane.height // 2, u_plane.width // 2
    u = memoryview(u_plane)[row * u_plane.line_size + col]
    v = memoryview(v_plane)[row * v_plane.line_size + col]
    return int(u), int(v)


class PaintTrack(VideoStreamTrack):
    """30 fps of one flat colour: the publisher's identity."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self._planes = (128, *identity_uv(index))

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane, value in zip(frame.planes, self._planes, strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


@dataclass
class JoinTimeline:
    """Monotonic timestamps of one join, seen from the client."""

    started: float = 0.0  # `join` sent (SFU) or offer started (direct)
    joined: float | None = None
    offers: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    connected: float | None = None
    subscribed: dict[str, float] = field(default_factory=dict)  # source -> answer covering it
    first_frame: dict[str, float] = field(default_factory=dict)  # source -> first decoded video
    wrong_colour: dict[str, int] = field(default_factory=dict)

    def phases_ms(self) -> dict[str, float | None]:
        """Each phase as milliseconds after ``started``."""

        def rel(t: float | None) -> float | None:
            return None if t is None else 1000 * (t - self.started)

        out: dict[str, float | None] = {"joined": rel(self.joined)}
        for i in range(2):
            out[f"offer{i + 1}"] = rel(self.offers[i] if len(self.offers) > i else None)
            out[f"answer{i + 1}"] = rel(self.answers[i] if len(self.answers) > i else None)
        out["connected"] = rel(self.connected)
        return out


class Participant:
    """One peer connection with a painted camera and silent microphone.

    ``decode=False`` makes a room filler: it publishes but drops what it receives before
    aiortc's jitter buffer, so the load generator does not decode 9 streams per filler.
    """

    def __init__(self, name: str, colour: int | None, *, decode: bool = True) -> None:
        self.name = name
        self.colour = colour
        self.decode = decode
        # The ICE servers of `joined` (none on this server), as a browser: not aiortc's
        # default public STUN server, which would add its gathering to every join.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.timeline = JoinTimeline()
        self.video: MediaStreamTrack | None = None if colour is None else PaintTrack(colour)
        self.audio: MediaStreamTrack | None = None if colour is None else AudioStreamTrack()
        #: Which publisher colour each source should show (source -> colour index).
        self.expected_colour: Callable[[str], int | None] = lambda _source: None
        self.frames: dict[str, int] = {}
        self._slots: dict[str, str | None] = {}  # mid -> source
        self._consumers: list[asyncio.Task[None]] = []
        self._progress = asyncio.Event()
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def source_of(self, transceiver: RTCRtpTransceiver) -> str | None:
        return self._slots.get(transceiver.mid or "")

    def set_source(self, mid: str, source: str | None) -> None:
        self._slots[mid] = source

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.timeline.connected is None:
            self.timeline.connected = time.monotonic()

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        if not self.decode:

            async def drop(packet: Any, arrival_time_ms: int) -> None:
                return None

            transceiver.receiver._handle_rtp_packet = drop  # type: ignore[method-assign]
            return
        task = asyncio.get_running_loop().create_task(self._consume(transceiver, track))
        self._consumers.append(task)

    async def _consume(self, transceiver: RTCRtpTransceiver, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if track.kind != "video":
                    continue
                source = self.source_of(transceiver)
                if source is None:
                    continue
                self.frames[source] = self.frames.get(source, 0) + 1
                if source in self.timeline.first_frame:
                    continue
                now = time.monotonic()
                expected = self.expected_colour(source)
                assert isinstance(frame, av.VideoFrame)
                if expected is not None and identity_of(*sample_uv(frame)) != expected:
                    # Someone else's picture on this source's slot: not a first frame.
                    wrong = self.timeline.wrong_colour
                    wrong[source] = wrong.get(source, 0) + 1
                    continue
                self.timeline.first_frame[source] = now
                self._progress.set()

    async def wait_frames(self, sources: set[str], limit: float) -> bool:
        """Wait until a first frame arrived from every one of ``sources``; False on time-out."""
        deadline = time.monotonic() + limit
        while not sources <= set(self.timeline.first_frame):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), left)
        return True

    async def close(self) -> None:
        for task in self._consumers:
            task.cancel()
        await self.pc.close()
        for task in self._consumers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._consumers.clear()


class RoomClient(Participant):
    """A participant that joins a coshop room over the WebSocket protocol (docs/PROTOCOL.md)."""

    def __init__(self, base_url: str, name: str, colour: int | None, *, decode: bool = True):
        super().__init__(name, colour, decode=decode)
        self.base_url = base_url
        self.me: str | None = None
        self.participants: dict[str, dict[str, Any]] = {}
        self.slots: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.left: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._joined = asyncio.Event()
        self._left = asyncio.Event()
        self._attached = False
        self._answering = asyncio.Lock()
        self.pending_offer = False

    async def connect(self) -> None:
        """Open the WebSocket (not part of the timed join)."""
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self.base_url.replace("http", "ws", 1) + "/ws")
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def join(self, room: str, limit: float = 10) -> None:
        """Send ``join`` (the timeline starts here) and wait for ``joined``."""
        assert self._ws is not None
        self.timeline.started = time.monotonic()
        await self._ws.send_str(json.dumps({"type": "join", "room": room, "name": self.name}))
        await asyncio.wait_for(self._joined.wait(), limit)
        if self.me is None:
            raise RuntimeError(f"{self.name}: join refused: {self.errors[-1:]}")

    def remote_publishers(self) -> set[str]:
        return {pid for pid in self.participants if pid != self.me}

    def receiving(self) -> set[str]:
        """Sources whose video this client has answered a sendonly slot for."""
        return {
            s["source"]
            for s in self.slots
            if s["kind"] == "video" and s["direction"] == "sendonly" and s["source"]
        }

    async def _read(self) -> None:
        assert self._ws is not None
        async for raw in self._ws:
            if raw.type != aiohttp.WSMsgType.TEXT:
                break
            msg = json.loads(raw.data)
            kind = msg.get("type")
            if kind == "joined":
                self.timeline.joined = time.monotonic()
                self.me = msg["you"]["id"]
                self.participants = {p["id"]: p for p in msg["participants"]}
                self._joined.set()
            elif kind == "participant_joined":
                self.participants[msg["participant"]["id"]] = msg["participant"]
            elif kind == "participant_left":
                self.participants.pop(msg["participant_id"], None)
            elif kind == "offer":
                self.timeline.offers.append(time.monotonic())
                self.pending_offer = True
                await self._answer(msg)
            elif kind == "slots":
                for slot in msg["slots"]:
                    source = slot["source"] if slot["direction"] == "sendonly" else None
                    self.set_source(slot["mid"], source)
            elif kind == "error":
                self.errors.append(msg)
                if msg.get("ref") == "join":
                    self._joined.set()
            elif kind == "left":
                self.left = msg["reason"]
                self._left.set()

    async def _answer(self, msg: dict[str, Any]) -> None:
        assert self._ws is not None
        for slot in msg["slots"]:
            source = slot["source"] if slot["direction"] == "sendonly" else None
            self.set_source(slot["mid"], source)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="offer"))
        if not self._attached:
            self._attached = True
            publish = {s["mid"] for s in msg["slots"] if s["direction"] == "recvonly"}
            for t in self.pc.getTransceivers():
                track = self.video if t.kind == "video" else self.audio
                if t.mid in publish and track is not None:
                    t.sender.replaceTrack(track)
                    t.direction = "sendonly"
        # No trickle ICE: setLocalDescription returns once gathering is complete.
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._ws.send_str(json.dumps({"type": "answer", "sdp": self.pc.localDescription.sdp}))
        now = time.monotonic()
        self.timeline.answers.append(now)
        self.slots = msg["slots"]
        for source in self.receiving():
            self.timeline.subscribed.setdefault(source, now)
        self.pending_offer = False

    async def leave(self, limit: float = 5) -> None:
        """Send ``leave`` and wait for ``left`` (best effort), then close everything."""
        if self._ws is not None and not self._ws.closed and self.me is not None:
            with contextlib.suppress(ConnectionError):
                await self._ws.send_str(json.dumps({"type": "leave"}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._left.wait(), limit)
        await self.close()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        await super().close()


async def direct_first_frame(index_a: int, index_b: int, limit: float = 10) -> JoinTimeline:
    """A direct aiortc-to-aiortc call over loopback, signaled in-process: the baseline.

    The timeline starts when A begins its offer and ends at B's first decoded frame from A.
    Both sides send and receive, as a joiner in a room does.
    """
    a, b = Participant("direct-a", index_a), Participant("direct-b", index_b)
    b.expected_colour = lambda _source: index_a
    try:
        timeline = b.timeline
        timeline.started = time.monotonic()
        assert a.audio is not None and a.video is not None
        a.pc.addTrack(a.audio)
        a.pc.addTrack(a.video)
        await a.pc.setLocalDescription(await a.pc.createOffer())
        timeline.offers.append(time.monotonic())
        await b.pc.setRemoteDescription(a.pc.localDescription)
        for t in b.pc.getTransceivers():
            b.set_source(t.mid or "", "direct-a")
            track = b.video if t.kind == "video" else b.audio
            if track is not None:
                t.sender.replaceTrack(track)
                t.direction = "sendrecv"
        await b.pc.setLocalDescription(await b.pc.createAnswer())
        timeline.answers.append(time.monotonic())
        timeline.subscribed["direct-a"] = timeline.answers[-1]
        await a.pc.setRemoteDescription(b.pc.localDescription)
        if not await b.wait_frames({"direct-a"}, limit):
            raise RuntimeError("direct baseline: no frame decoded")
        return timeline
    finally:
        await a.close()
        await b.close()
