"""Real aiortc participants for tests: synthetic publishers and decoding receivers.

A ClientPeer plays the browser's part of the coshop protocol: it applies the server's
offers, puts its microphone/camera on the publish slots and answers. Received video is
decoded and checked: every publisher paints its frames a distinct flat luma level.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpsender import RTCRtpSender as _Sender
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket

WIDTH, HEIGHT, FPS = 160, 120, 30
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_RATE = 48000


def luma_for(index: int) -> int:
    """The flat luma level publisher ``index`` paints (distinct, far apart, not clipped)."""
    return 40 + (index % 8) * 25


class SyntheticVideoTrack(MediaStreamTrack):
    """WIDTHxHEIGHT@FPS frames of one flat luma level plus a moving bar (so VP8 has work)."""

    kind = "video"

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.frames_sent = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self.frames_sent / FPS - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        buf = np.full((HEIGHT * 3 // 2, WIDTH), 128, np.uint8)
        buf[:HEIGHT] = luma_for(self.index)
        x = (self.frames_sent * 4) % (WIDTH - 8)
        buf[: HEIGHT // 8, x : x + 8] = 250  # moving marker in the top strip only
        frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
        frame.pts = self.frames_sent * (90000 // FPS)
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame


class SineAudioTrack(MediaStreamTrack):
    """20 ms frames of a sine tone."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0) -> None:
        super().__init__()
        self.frequency = frequency
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        n = AUDIO_RATE // 50
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._samples / AUDIO_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(n) + self._samples) / AUDIO_RATE
        data = (np.sin(2 * math.pi * self.frequency * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples += n
        return frame


def ignore_remb(sender: _Sender) -> None:
    """Test publishers ignore REMB: aiortc restarts its VP8 encoder (a keyframe) on every
    large bitrate change, which would hide whether the SFU's PLI forwarding works."""
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            return
        await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


@dataclass
class ReceivedVideo:
    """What a receiver decoded from one publisher."""

    frames: int = 0
    first_frame_at: float | None = None
    sizes: set[tuple[int, int]] = field(default_factory=set)
    lumas: list[float] = field(default_factory=list)


@dataclass
class ReceivedAudio:
    frames: int = 0
    rms: list[float] = field(default_factory=list)


class ClientPeer:
    """One participant's browser, played by aiortc (decodes what it receives)."""

    def __init__(
        self, name: str, *, index: int = 0, publish: bool = True, decode: bool = True
    ) -> None:
        self.name = name
        self.index = index
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.video_track = SyntheticVideoTrack(index) if publish else None
        self.audio_track = SineAudioTrack(300 + 100 * index) if publish else None
        self.decode = decode
        self.slots: dict[str, dict[str, Any]] = {}
        self.video: dict[str, ReceivedVideo] = {}
        self.audio: dict[str, ReceivedAudio] = {}
        self.offers = 0
        self.packets: dict[str, int] = {}
        self._published = False
        self._tasks: list[asyncio.Task[None]] = []
        self._tracks_by_mid: dict[str, MediaStreamTrack] = {}
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        mid = transceiver.mid
        assert mid is not None
        self._tracks_by_mid[mid] = track
        receiver = transceiver.receiver
        original = receiver._handle_rtp_packet
        decode = self.decode

        async def count(packet: Any, arrival_time_ms: int) -> None:
            self.packets[mid] = self.packets.get(mid, 0) + 1
            if decode:
                await original(packet, arrival_time_ms)

        # Without decoding, packets are only counted (a cheap sink for big rooms).
        receiver._handle_rtp_packet = count  # type: ignore[method-assign]
        if decode:
            self._tasks.append(asyncio.ensure_future(self._consume(mid, track)))

    def source_of(self, mid: str) -> str | None:
        slot = self.slots.get(mid)
        return None if slot is None else slot.get("source")

    async def _consume(self, mid: str, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            source = self.source_of(mid)
            if source is None:
                continue
            if isinstance(frame, av.VideoFrame):
                got = self.video.setdefault(source, ReceivedVideo())
                got.frames += 1
                if got.first_frame_at is None:
                    got.first_frame_at = time.monotonic()
                got.sizes.add((frame.width, frame.height))
                # The raw Y plane (no range conversion), below the moving marker strip.
                y = frame.to_ndarray(format="yuv420p")[: frame.height]
                got.lumas.append(float(y[frame.height // 4 :, :].mean()))
            else:
                a = self.audio.setdefault(source, ReceivedAudio())
                a.frames += 1
                samples = frame.to_ndarray().astype(np.float64)
                a.rms.append(float(np.sqrt((samples**2).mean())))

    def apply_slots(self, slots: list[dict[str, Any]]) -> None:
        """A ``slots`` message (or an offer's slot map): what each mid carries now."""
        for slot in slots:
            self.slots[slot["mid"]] = slot

    async def answer(self, sdp: str, slots: list[dict[str, Any]]) -> str:
        """Apply a server offer and return the answer SDP."""
        self.offers += 1
        self.apply_slots(slots)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if not self._published and (self.audio_track or self.video_track):
            self._published = True
            for track in (self.audio_track, self.video_track):
                if track is not None:
                    sender = self.pc.addTrack(track)
                    ignore_remb(sender)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def packets_from(self, source: str, kind: str) -> int:
        """RTP packets received on the slots that carry ``source``'s ``kind`` track."""
        return sum(
            n
            for mid, n in self.packets.items()
            if self.slots.get(mid, {}).get("source") == source and self.slots[mid]["kind"] == kind
        )

    def video_from(self, source: str) -> ReceivedVideo:
        return self.video.get(source, ReceivedVideo())

    def audio_from(self, source: str) -> ReceivedAudio:
        return self.audio.get(source, ReceivedAudio())

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        await self.pc.close()


def codec_caps(kind: str, mime: str) -> list[Any]:
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() == mime]
