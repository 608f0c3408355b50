"""Benchmark worker for Janus's VideoRoom: hosts synthetic participants of one room, with the
same media (the load tester's pre-encoded VP8 and Opus loops, stamped frames) and the same
figures (loadtest.metrics.RouteStats per received stream) as bench/room_worker.py; JSON lines
on stdio, the same commands plus one:

    {"cmd": "join", "names": [...], "indices": [...], "publish": bool}
        publishers publish (they subscribe on "subscribe"); others subscribe to every
        publisher at once (a late joiner's first frames are timed from here)
    {"cmd": "subscribe", "publishers": N}   once N publish, each publisher here subscribes
        to every other publisher
    {"cmd": "routes"} | {"cmd": "reset"} | {"cmd": "stats"} | {"cmd": "quit"}
    {"cmd": "direct_start"} | {"cmd": "direct_stop"}

    python bench/janus_worker.py http://127.0.0.1:8088/janus ROOM_ID 360p
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp

from bench.direct_link import DirectLink
from bench.janus_api import JanusSession
from loadtest.media import AUDIO_CLOCK, PRESETS, VIDEO_CLOCK, cached_video, encode_audio
from loadtest.metrics import RouteStats
from loadtest.peer import JoinPhases, ReplayAudioTrack, ReplayVideoTrack
from loadtest.stamp import STAMP_SIZE, read_stamp
from loadtest.worker import LoopLag
from sfu.keyframe import is_vp8_keyframe_start


def emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def rtp_payload_offset(data: bytes) -> int:
    """Where an RTP packet's payload starts: after CSRCs and the header extension
    (RFC 3550 §5.1, §5.3.1)."""
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
    return offset


class Participant:
    """One person in the Janus room: a publisher handle and PC (if publishing) and a
    subscriber handle and PC receiving every other publisher, without decoding."""

    def __init__(self, session: JanusSession, room: int, name: str, index: int,
                 media: tuple[Any, tuple[bytes, ...]]) -> None:
        self.session, self.room, self.name, self.index = session, room, name, index
        self.media = media
        self.feed: int | None = None  # our publisher id
        self.phases = JoinPhases(started_at=time.time())
        self.routes: dict[tuple[str, str], RouteStats] = {}
        self.first_frames: dict[str, float] = {}
        self.errors: list[str] = []
        self._pcs: list[RTCPeerConnection] = []
        self._ssrcs: dict[int, tuple[str, str]] = {}  # ssrc -> (source, kind)
        self._keyframe_seen: set[str] = set()

    def _new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self._pcs.append(pc)

        @pc.on("iceconnectionstatechange")
        def _ice() -> None:
            if pc.iceConnectionState in ("connected", "completed"):
                self.phases.mark("ice_connected")

        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc.connectionState == "connected":
                self.phases.mark("dtls_connected")
            elif pc.connectionState == "failed":
                self.errors.append("peer connection failed")

        return pc

    async def publish(self) -> None:
        handle = await self.session.attach()
        data, _ = await self.session.message(handle, {
            "request": "join", "ptype": "publisher", "room": self.room, "display": self.name})
        self.feed = int(data["id"])
        self.phases.mark("joined")
        pc = self._new_pc()
        video, audio = self.media
        pc.addTrack(ReplayAudioTrack(audio))
        track = ReplayVideoTrack(video, self.index)
        sender = pc.addTrack(track)
        # The pack path ignores PLIs; jump to the loop's next keyframe instead (as the
        # load tester's peers do).
        sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
        await pc.setLocalDescription(await pc.createOffer())
        _, jsep = await self.session.message(
            handle, {"request": "publish", "audio": True, "video": True},
            # "trickle": false: every candidate is in the SDP (aiortc gathers before it
            # returns a description), so Janus waits for no trickled one.
            {"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))

    async def subscribe(self, feeds: list[int]) -> None:
        if not feeds:
            return
        handle = await self.session.attach()
        data, jsep = await self.session.message(handle, {
            "request": "join", "ptype": "subscriber", "room": self.room,
            "streams": [{"feed": f} for f in feeds]})
        self.phases.mark("offer")
        by_mid = {str(s["mid"]): str(s.get("feed_id")) for s in data.get("streams", [])}
        pc = self._new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="offer"))
        self._learn_ssrcs(jsep["sdp"], by_mid)
        transceivers = pc.getTransceivers()
        if transceivers:
            self._receive_without_decoding(transceivers[0].receiver.transport)
        await pc.setLocalDescription(await pc.createAnswer())
        await self.session.message(handle, {"request": "start"},
                                   {"type": "answer", "sdp": pc.localDescription.sdp,
                                    "trickle": False})
        self.phases.mark("answer_sent")

    def _learn_ssrcs(self, sdp: str, by_mid: dict[str, str]) -> None:
        for media in aiortc_sdp.SessionDescription.parse(sdp).media:
            source = by_mid.get(media.rtp.muxId or "")
            if source is None:
                continue
            # RFC 4588 §8.1: "a=ssrc-group:FID main rtx": retransmissions are not counted.
            rtx = {int(i) for g in media.ssrc_group if g.semantic == "FID" for i in g.items[1:]}
            for ssrc in media.ssrc:
                if ssrc.ssrc not in rtx:
                    self._ssrcs[ssrc.ssrc] = (source, media.kind)

    def _receive_without_decoding(self, transport: Any) -> None:
        """As the load tester's peers: count RTP after SRTP, no parsing into objects, no
        decoding. A source's first frame is the first complete frame from a keyframe on
        (what a decoder could show), as coshop starts every new subscriber at a keyframe."""
        ssrcs, routes, phases = self._ssrcs, self.routes, self.phases
        first_frames, keyframe_seen = self.first_frames, self._keyframe_seen

        async def handle(data: bytes, arrival_time_ms: int) -> None:
            known = ssrcs.get(int.from_bytes(data[8:12], "big"))
            if known is None:
                return
            source, kind = known
            route = routes.get(known)
            if route is None:
                route = routes[known] = RouteStats(kind, True)
            marker = bool(data[1] & 0x80)
            end = len(data) - (data[-1] if data[0] & 0x20 else 0)  # RTP padding (§5.1)
            stamp = read_stamp(data[end - STAMP_SIZE : end]) if marker and kind == "video" else None
            now = time.time()
            route.on_packet(seq=int.from_bytes(data[2:4], "big"),
                            timestamp=int.from_bytes(data[4:8], "big"),
                            clock_rate=VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK,
                            size=len(data), marker=marker, stamp=stamp, now=now)
            phases.mark("first_rtp")
            if kind == "video" and source not in keyframe_seen and is_vp8_keyframe_start(
                    data[rtp_payload_offset(data) : end]):
                keyframe_seen.add(source)
            if stamp is not None and source in keyframe_seen:
                phases.mark("first_frame")
                first_frames.setdefault(source, now)

        transport._handle_rtp_data = handle

    def reset_routes(self) -> None:
        self.routes.clear()

    async def close(self) -> None:
        for pc in self._pcs:
            await pc.close()


async def feeds_in(session: JanusSession, handle: int, room: int) -> list[int]:
    """The publishers of ``room`` now (VideoRoom ``listparticipants``)."""
    data, _ = await session.message(handle, {"request": "listparticipants", "room": room})
    return [int(p["id"]) for p in data.get("participants", []) if p.get("publisher")]


async def main() -> None:
    url, room, preset = sys.argv[1], int(sys.argv[2]), PRESETS[sys.argv[3]]
    media = (cached_video(preset), encode_audio())
    loop = asyncio.get_running_loop()
    lag = LoopLag()
    lag_task = asyncio.create_task(lag.run(), name="loop-lag")
    participants: list[Participant] = []
    direct: DirectLink | None = None
    window_start = time.time()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        session = JanusSession(http, url)
        await session.open()
        admin = await session.attach()
        emit({"ready": True})
        try:
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                cmd = json.loads(line)
                if cmd["cmd"] == "join":
                    for name, index in zip(cmd["names"], cmd["indices"], strict=True):
                        p = Participant(session, room, name, index, media)
                        participants.append(p)
                        if cmd["publish"]:
                            await p.publish()
                        else:
                            await p.subscribe(await feeds_in(session, admin, room))
                    emit({"joined": [p.name for p in participants]})
                elif cmd["cmd"] == "subscribe":
                    # A publisher is listed as one once its media is up (Janus's webrtcup).
                    deadline = loop.time() + 30
                    while len(feeds := await feeds_in(session, admin, room)) < cmd["publishers"]:
                        if loop.time() > deadline:
                            raise RuntimeError(f"only {len(feeds)} publishers in Janus's room")
                        await asyncio.sleep(0.1)
                    await asyncio.gather(*(p.subscribe([f for f in feeds if f != p.feed])
                                           for p in participants if p.feed is not None))
                    emit({"ok": True})
                elif cmd["cmd"] == "routes":
                    emit({"routes": {p.name: len(p.routes) for p in participants}})
                elif cmd["cmd"] == "reset":
                    window_start = time.time()
                    lag.window = type(lag.window)()
                    for p in participants:
                        p.reset_routes()
                    emit({"ok": True})
                elif cmd["cmd"] == "stats":
                    duration = time.time() - window_start
                    emit({"duration": duration, "loop_lag_ms": lag.window.summary(), "peers": [
                        {"id": p.name, "phases": p.phases.as_dict(),
                         "first_frames": {s: t - p.phases.started_at
                                          for s, t in p.first_frames.items()},
                         "routes": [{"source": src, **r.summary(duration),
                                     "latencies": r.latencies_ms[-2000:]}
                                    for (src, _), r in p.routes.items()],
                         "errors": p.errors} for p in participants]})
                elif cmd["cmd"] == "direct_start":
                    direct = DirectLink(media[0])
                    await direct.start()
                    emit({"ok": True})
                elif cmd["cmd"] == "direct_stop":
                    latencies = [] if direct is None else await direct.close()
                    direct = None
                    emit({"latencies": latencies})
                elif cmd["cmd"] == "quit":
                    break
        finally:
            if direct is not None:
                await direct.close()
            for p in participants:
                await p.close()
            await session.close()
            lag_task.cancel()
            await asyncio.gather(lag_task, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
