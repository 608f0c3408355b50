"""A synthetic participant: joins through the real signaling, publishes pre-encoded
media, receives without decoding, and times every phase of its join."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import av
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.mediastreams import MediaStreamTrack

from loadtest.media import AUDIO_CLOCK, VIDEO_CLOCK, EncodedLoop
from loadtest.metrics import RouteStats
from loadtest.stamp import STAMP_SIZE, Stamp, append_stamp, read_stamp

logger = logging.getLogger(__name__)


class ReplayVideoTrack(MediaStreamTrack):
    """Replays a pre-encoded VP8 loop at its frame rate, stamping every frame."""

    kind = "video"

    def __init__(self, loop: EncodedLoop, publisher: int) -> None:
        super().__init__()
        self._loop = loop
        self._publisher = publisher
        self._pos = 0
        self._count = 0
        self._start: float | None = None
        self._step = VIDEO_CLOCK // loop.fps
        self.keyframe_requests = 0

    def request_keyframe(self) -> None:
        """Answer a PLI: the next frame sent is the loop's next keyframe."""
        self.keyframe_requests += 1
        keys = self._loop.keyframes
        self._pos = next((k for k in keys if k >= self._pos), keys[0])

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._count / self._loop.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        stamp = Stamp(self._publisher, self._count, int(time.time() * 1e6))
        packet = av.Packet(append_stamp(self._loop.frames[self._pos], stamp))
        packet.pts = self._count * self._step
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._pos = (self._pos + 1) % len(self._loop.frames)
        self._count += 1
        return packet


class ReplayAudioTrack(MediaStreamTrack):
    """Replays pre-encoded 20 ms Opus packets."""

    kind = "audio"

    def __init__(self, packets: tuple[bytes, ...]) -> None:
        super().__init__()
        self._packets = packets
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._count * 0.02 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        packet = av.Packet(self._packets[self._count % len(self._packets)])
        packet.pts = self._count * (AUDIO_CLOCK // 50)
        packet.time_base = fractions.Fraction(1, AUDIO_CLOCK)
        self._count += 1
        return packet


@dataclass
class JoinPhases:
    """Seconds from the start of the join to each milestone (None: not reached)."""

    started_at: float = 0.0
    socket_open: float | None = None
    joined: float | None = None
    offer: float | None = None
    answer_sent: float | None = None
    ice_connected: float | None = None
    dtls_connected: float | None = None
    first_rtp: float | None = None
    first_frame: float | None = None

    def mark(self, phase: str) -> None:
        if getattr(self, phase) is None:
            setattr(self, phase, time.time() - self.started_at)

    def as_dict(self) -> dict[str, float | None]:
        return {k: v for k, v in self.__dict__.items() if k != "started_at"}


@dataclass
class PeerResult:
    name: str
    phases: JoinPhases
    routes: dict[tuple[str, str], RouteStats] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class SyntheticPeer:
    """One synthetic participant (publisher or receive-only viewer)."""

    def __init__(
        self,
        *,
        url: str,
        room: str,
        name: str,
        index: int,
        video: EncodedLoop | None,
        audio: tuple[bytes, ...] | None,
        session: aiohttp.ClientSession,
    ) -> None:
        self.url = url.rstrip("/")
        self.room = room
        self.name = name
        self.index = index
        self.participant_id: str | None = None
        self.result = PeerResult(name, JoinPhases())
        self._session = session
        self._video_track = ReplayVideoTrack(video, index) if video is not None else None
        self._audio_track = ReplayAudioTrack(audio) if audio is not None else None
        self._pc: RTCPeerConnection | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._slots: dict[str, dict[str, Any]] = {}
        self._published = False
        self._receiving = False
        self._ssrc_slots: dict[int, dict[str, Any]] = {}
        self._task: asyncio.Task[None] | None = None
        self.joined = asyncio.Event()
        self.failed = asyncio.Event()

    @property
    def publishing(self) -> bool:
        return self._video_track is not None or self._audio_track is not None

    async def start(self) -> None:
        """Open the socket and join; the session then runs in the background."""
        self.result.phases.started_at = time.time()
        ws_url = self.url.replace("http", "ws", 1) + "/ws"
        self._ws = await self._session.ws_connect(ws_url, heartbeat=20)
        self.result.phases.mark("socket_open")
        role = "guest" if self.publishing else "viewer"
        await self._ws.send_str(
            json.dumps({"type": "join", "room": self.room, "name": self.name, "role": role})
        )
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"peer:{self.name}")

    async def _run(self) -> None:
        assert self._ws is not None
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                await self._handle(json.loads(msg.data))
        except (aiohttp.ClientError, ConnectionError) as exc:
            self.result.errors.append(f"signaling: {exc}")
        if not self.joined.is_set():
            self.failed.set()

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "joined":
            self.participant_id = message["you"]["id"]
            self.result.phases.mark("joined")
            self.joined.set()
        elif kind == "offer":
            self.result.phases.mark("offer")
            for slot in message["slots"]:
                self._slots[slot["mid"]] = slot
            sdp = await self._answer(message["sdp"])
            assert self._ws is not None
            await self._ws.send_str(json.dumps({"type": "answer", "sdp": sdp}))
            self.result.phases.mark("answer_sent")
        elif kind == "error":
            self.result.errors.append(f"{message.get('code')}: {message.get('message')}")
            if not self.joined.is_set():
                self.failed.set()

    def _new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))

        @pc.on("iceconnectionstatechange")
        def _ice() -> None:
            if pc.iceConnectionState in ("connected", "completed"):
                self.result.phases.mark("ice_connected")

        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc.connectionState == "connected":
                self.result.phases.mark("dtls_connected")
            elif pc.connectionState == "failed":
                self.result.errors.append("peer connection failed")

        return pc

    async def _answer(self, sdp: str) -> str:
        if self._pc is None:
            self._pc = self._new_pc()
        pc = self._pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self._learn_ssrcs(sdp)
        if not self._receiving:
            self._receiving = True
            self._receive_without_decoding(pc.getTransceivers()[0].receiver.transport)
        if not self._published and self.publishing:
            self._published = True
            for track in (self._audio_track, self._video_track):
                if track is None:
                    continue
                sender = pc.addTrack(track)
                if isinstance(track, ReplayVideoTrack):
                    # The pack path ignores PLIs; jump to the loop's next keyframe instead.
                    sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    def _learn_ssrcs(self, sdp: str) -> None:
        """Map each offered SSRC to its slot (a=mid + a=ssrc lines of the offer)."""
        for media in aiortc_sdp.SessionDescription.parse(sdp).media:
            slot = self._slots.get(media.rtp.muxId or "")
            if slot is None:
                continue
            # RFC 4588 §8.1: "a=ssrc-group:FID main rtx": retransmissions are not counted.
            rtx = {int(i) for g in media.ssrc_group if g.semantic == "FID" for i in g.items[1:]}
            for ssrc in media.ssrc:
                if ssrc.ssrc not in rtx:
                    self._ssrc_slots[ssrc.ssrc] = slot

    def _receive_without_decoding(self, transport: Any) -> None:
        """Replace the transport's RTP handler (after SRTP) with a counter: no parsing into
        objects, no jitter buffer, no decoding, so one process can receive many streams."""
        phases = self.result.phases
        routes = self.result.routes
        ssrc_slots = self._ssrc_slots

        async def handle(data: bytes, arrival_time_ms: int) -> None:
            slot = ssrc_slots.get(int.from_bytes(data[8:12], "big"))
            if slot is None or slot.get("source") is None:
                return  # RTX or a slot that carries nothing (any more)
            kind = slot["kind"]
            key = (slot["source"], kind)
            route = routes.get(key)
            if route is None:
                route = routes[key] = RouteStats(kind)
            marker = bool(data[1] & 0x80)
            end = len(data) - (data[-1] if data[0] & 0x20 else 0)  # RTP padding (RFC 3550 §5.1)
            stamp = read_stamp(data[end - STAMP_SIZE : end]) if marker and kind == "video" else None
            route.on_packet(
                seq=int.from_bytes(data[2:4], "big"),
                timestamp=int.from_bytes(data[4:8], "big"),
                clock_rate=VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK,
                size=len(data),
                marker=marker,
                stamp=stamp,
                now=time.time(),
            )
            phases.mark("first_rtp")
            if stamp is not None:
                phases.mark("first_frame")

        transport._handle_rtp_data = handle

    async def leave(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(aiohttp.ClientError, ConnectionError):
                await self._ws.send_str(json.dumps({"type": "leave"}))

    async def close(self) -> None:
        """Close the socket, the peer connection and the session task."""
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        if self._pc is not None:
            await self._pc.close()
