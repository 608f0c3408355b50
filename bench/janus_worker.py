"""Benchmark worker for Janus's VideoRoom: hosts synthetic participants of one room, with the
same media (the load tester's pre-encoded VP8 and Opus loops, stamped frames), the same client
behaviour and the same figures (loadtest.metrics.RouteStats per received stream) as
bench/room_worker.py: publishers send through the load tester's lean send loop
(``loadtest.lean_sender``) and answer PLI/FIR with a keyframe; receivers take SRTP the lean way
(``loadtest.lean_transport``) and repair video as a browser does (``loadtest.receiver.Receiver``:
NACK, RTX, and a PLI every 200 ms while a stream has no keyframe, as libwebrtc), exactly as
coshop's synthetic peers do. JSON lines on stdio, the same commands plus one:

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
from loadtest import lean_sender, lean_transport
from loadtest.media import PRESETS, cached_video, encode_audio
from loadtest.metrics import RouteStats
from loadtest.nack import PROCESS_INTERVAL_S
from loadtest.peer import JoinPhases, ReplayAudioTrack, ReplayVideoTrack
from loadtest.receiver import Receiver, rtp_payload_offset, vp8_frame_start
from loadtest.worker import LoopLag


def emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def starts_keyframe(packet: bytes, *, rtx: bool) -> bool:
    """Whether an RTP packet (an RTX one: ``rtx``) carries the start of a VP8 keyframe."""
    offset = rtp_payload_offset(packet) + (2 if rtx else 0)  # RFC 4588 §4: the OSN first
    end = len(packet) - (packet[-1] if packet[0] & 0x20 else 0)  # RTP padding (§5.1)
    return offset < end and vp8_frame_start(packet[:end], offset)[1]


def learn_ssrcs(sdp: str, by_mid: dict[str, str], receiver: Receiver) -> None:
    """Tell ``receiver`` which source and kind each media SSRC of a Janus offer carries
    (``by_mid``: mid -> publisher feed id), and which RTX SSRC repairs which."""
    for media in aiortc_sdp.SessionDescription.parse(sdp).media:
        source = by_mid.get(media.rtp.muxId or "")
        if source is None:
            continue
        # RFC 4588 §8.1: "a=ssrc-group:FID main rtx": retransmissions are not counted.
        rtx = {int(i) for g in media.ssrc_group if g.semantic == "FID" for i in g.items[1:]}
        for group in media.ssrc_group:
            if group.semantic == "FID" and len(group.items) == 2:
                receiver.rtx_of[int(group.items[1])] = int(group.items[0])
        for ssrc in media.ssrc:
            if ssrc.ssrc not in rtx:
                receiver.ssrc_slots[ssrc.ssrc] = {"source": source, "kind": media.kind}


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
        self._keyframe_seen: set[str] = set()
        self._receiver = Receiver(self.routes, repair=True, keep_samples=True, tally=None,
                                  on_stamp=self._on_stamp)
        self._repair_task: asyncio.Task[None] | None = None

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
        lean_sender.install(pc.addTrack(ReplayAudioTrack(audio)))
        track = ReplayVideoTrack(video, self.index)
        sender = pc.addTrack(track)
        lean_sender.install(sender)
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
        learn_ssrcs(jsep["sdp"], by_mid, self._receiver)
        self._receive_without_decoding(pc)
        await pc.setLocalDescription(await pc.createAnswer())
        await self.session.message(handle, {"request": "start"},
                                   {"type": "answer", "sdp": pc.localDescription.sdp,
                                    "trickle": False})
        self.phases.mark("answer_sent")

    def _on_rtp(self, data: bytes, now: float) -> None:
        self.phases.mark("first_rtp")
        receiver = self._receiver
        ssrc = int.from_bytes(data[8:12], "big")
        media = receiver.rtx_of.get(ssrc)
        slot = receiver.ssrc_slots.get(ssrc if media is None else media)
        if (slot is not None and slot["kind"] == "video"
                and slot["source"] not in self._keyframe_seen
                and starts_keyframe(data, rtx=media is not None)):
            self._keyframe_seen.add(slot["source"])
        receiver.on_rtp(data, now)

    def _on_stamp(self, source: str, now: float) -> None:
        """A stamped frame arrived: a source's first frame is the first one from a keyframe
        on (what a decoder could show; coshop starts every new subscriber at a keyframe,
        Janus forwards from wherever the publisher is)."""
        if source in self._keyframe_seen:
            self.phases.mark("first_frame")
            self.first_frames.setdefault(source, now)

    def _receive_without_decoding(self, pc: RTCPeerConnection) -> None:
        """As the load tester's peers (``loadtest.peer.SyntheticPeer``): RTP as bytes after
        SRTP, through aiortc's handler until DTLS is up and then straight from the socket;
        no decoding; receiver reports, NACKs and PLIs as a browser sends them."""
        dtls = pc.getTransceivers()[0].receiver.transport
        on_rtp = self._on_rtp

        async def handle(data: bytes, arrival_time_ms: int) -> None:
            on_rtp(data, time.time())

        dtls._handle_rtp_data = handle  # type: ignore[method-assign]
        lean_transport.read_rtcp(dtls, self._receiver.on_rtcp)
        self._receiver.send_rtcp = lean_transport.RtcpWriter(dtls).send

        @pc.on("connectionstatechange")
        def _connected() -> None:
            if pc.connectionState == "connected":
                lean_transport.install(dtls, on_rtp)

        if self._repair_task is None:
            self._repair_task = asyncio.create_task(self._repair_loop(),
                                                    name=f"repair:{self.name}")

    async def _repair_loop(self) -> None:
        """Re-ask for missing packets and keyframes at the browser's pace."""
        while True:
            await asyncio.sleep(PROCESS_INTERVAL_S)
            self._receiver.tick()

    def reset_routes(self) -> None:
        self._receiver.new_window()

    async def close(self) -> None:
        task, self._repair_task = self._repair_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
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
