"""A direct aiortc-to-aiortc video link (no SFU) inside a benchmark worker process.

It runs in the same processes as the room's receivers, during the same window, so the
latency it measures carries the same tester load: the difference to the latency through the
SFU is then the SFU's, not the tester's queueing (which an idle process would not have).
"""

from __future__ import annotations

import time
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

from loadtest.media import VIDEO_CLOCK, EncodedLoop
from loadtest.metrics import RouteStats
from loadtest.peer import ReplayVideoTrack
from loadtest.stamp import read_stamp

WARMUP_FRAMES = 30
"""Frames of the link's start-up left out (ICE, DTLS, the first keyframe)."""


class DirectLink:
    """One publisher and one subscriber peer connection over loopback, timing every frame."""

    def __init__(self, video: EncodedLoop, publisher: int = 999) -> None:
        config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self._pub, self._sub = RTCPeerConnection(config), RTCPeerConnection(config)
        self.route = RouteStats("video")
        self._pub.addTrack(ReplayVideoTrack(video, publisher))
        self._sub.on("track", self._on_track)

    def _on_track(self, track: Any) -> None:
        receiver = next(t.receiver for t in self._sub.getTransceivers()
                        if t.receiver.track is track)
        route = self.route

        async def handle(packet: Any, arrival_time_ms: int) -> None:
            # Stands in for aiortc's receive path: no decoding, as the synthetic peers.
            route.on_packet(seq=packet.sequence_number, timestamp=packet.timestamp,
                            clock_rate=VIDEO_CLOCK, size=len(packet.payload),
                            marker=bool(packet.marker),
                            stamp=read_stamp(packet.payload) if packet.marker else None,
                            now=time.time())

        receiver._handle_rtp_packet = handle  # type: ignore[method-assign]

    async def start(self) -> None:
        await self._pub.setLocalDescription(await self._pub.createOffer())
        await self._sub.setRemoteDescription(self._pub.localDescription)
        await self._sub.setLocalDescription(await self._sub.createAnswer())
        await self._pub.setRemoteDescription(self._sub.localDescription)

    async def close(self) -> list[float]:
        """Close both ends; the one-way latencies (ms) of the frames after the start-up."""
        await self._pub.close()
        await self._sub.close()
        return self.route.latencies_ms[WARMUP_FRAMES:]
