"""A synthetic participant: joins through the real signaling, publishes pre-encoded
media, receives without decoding, and times every phase of its join."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import av
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.codecs import vpx
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpsender import RTCEncodedFrame

from loadtest import compiled_receive, lean_sender, lean_transport
from loadtest.media import AUDIO_CLOCK, VIDEO_CLOCK, EncodedLoop
from loadtest.metrics import LiveTally, RouteStats
from loadtest.nack import PROCESS_INTERVAL_S
from loadtest.pacing import SocketDrain, sleep_to_tick
from loadtest.receiver import Receiver
from loadtest.stamp import Stamp, append_stamp, stamp_padding

logger = logging.getLogger(__name__)

REPORT_TICK_S = 0.1  # how often a non-repairing peer looks for due receiver reports

# aiortc's VP8 packetizer cuts a frame into PACKET_MAX-byte payloads less its 4-byte payload
# descriptor (RFC 7741 §4.2; aiortc always writes the 15-bit picture id).
_VP8_CHUNKS = (vpx.PACKET_MAX - 4,)
_VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
_AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_CLOCK)


MAX_REDIRECTS = 5
"""``redirect`` messages followed in a row before a join counts as failed."""

MAX_BACKOFF_S = 2.0
"""Longest wait between attempts to reach a node after a move (PROTOCOL.md: with backoff)."""
PC_CLOSE_TIMEOUT_S = 5.0


async def _close_pc(pc: RTCPeerConnection) -> None:
    """Close ``pc``, waiting at most PC_CLOSE_TIMEOUT_S: the connection of a node that was
    killed may never finish closing, and a peer stuck there would still count as joined, so
    the run would never notice that its server went away."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(pc.close()), PC_CLOSE_TIMEOUT_S)


async def _tick_on_clock(clock: SocketDrain, interval: float, tick: Callable[[], None]) -> None:
    """Call ``tick`` from ``clock``'s ticks, one at least ``interval`` s after the last (less
    half a clock period), until cancelled."""
    last = -math.inf
    slack = clock.period / 2

    def on_tick(now: float) -> None:
        nonlocal last
        if now - last >= interval - slack:
            last = now
            tick()

    clock.add_ticker(on_tick)
    try:
        await asyncio.get_running_loop().create_future()  # until cancelled
    finally:
        clock.discard_ticker(on_tick)


class _PacedTrack(MediaStreamTrack):
    """A track that yields one item every ``period`` seconds and can be paused; with a
    ``pacing`` period, each item at the first tick of that grid at or after its due time
    (``loadtest.pacing``)."""

    def __init__(self, period: float, pacing: float = 0.0) -> None:
        super().__init__()
        self._period = period
        self._pacing = pacing
        self._count = 0
        self._start: float | None = None
        self._running = asyncio.Event()
        self._running.set()

    def pause(self) -> None:
        """Stop producing (for a clean end of a measurement window) until ``resume``."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def restart_clock(self) -> None:
        """A new connection takes this track: go on from now, with no catch-up burst for the
        time no sender pulled from it."""
        self._start = None

    async def _wait_turn(self) -> None:
        """Sleep until item ``_count`` is due; while paused, wait (and then restart the clock)."""
        while True:
            if not self._running.is_set():
                await self._running.wait()
                self._start = None  # no catch-up burst after a pause
            if self._start is None:
                self._start = time.monotonic() - self._count * self._period
            await sleep_to_tick(self._start + self._count * self._period, self._pacing)
            if self._running.is_set():
                return

    def take_due(self, now: float) -> list[RTCEncodedFrame]:
        """The frames due by ``now`` (``time.monotonic()``, a tick of the worker's clock), as
        ``next_encoded`` would hand them out one by one at their turns: none while paused
        (and the clock restarts after it), a catch-up of what a late tick missed."""
        if not self._running.is_set():
            self._start = None  # no catch-up burst after a pause
            return []
        if self._start is None:
            self._start = now - self._count * self._period
        frames: list[RTCEncodedFrame] = []
        while self._start + self._count * self._period <= now + 1e-9:
            frame = self._encoded_now()
            if frame is not None:
                frames.append(frame)
        return frames

    def _encoded_now(self) -> RTCEncodedFrame | None:
        """Item ``_count``, due now, as ``next_encoded`` makes it (None: it goes nowhere)."""
        raise NotImplementedError


class ReplayVideoTrack(_PacedTrack):
    """Replays a pre-encoded VP8 loop at its frame rate, stamping every frame.

    The keyframe goes first and again whenever a PLI or FIR asks for one; otherwise the
    delta frames go round the loop, which a decoder cannot tell from a camera's stream
    (see ``EncodedLoop``). Picture ids, RTP timestamps and sequence numbers run on
    unbroken: aiortc's packetizer numbers every frame it is handed.
    """

    kind = "video"

    def __init__(self, loop: EncodedLoop, publisher: int, pacing: float = 0.0) -> None:
        super().__init__(1 / loop.fps, pacing)
        self._media = loop
        self._publisher = publisher
        self._pos = 0  # the next delta frame of the loop
        self._step = VIDEO_CLOCK // loop.fps
        self._keyframe_due = True
        self._blocked_until = 0.0
        self.keyframe_requests = 0
        self.keyframes_sent = 0
        self._picture_id = random.randint(0, (1 << 15) - 1)  # as aiortc's Vp8Encoder starts

    @property
    def frames_sent(self) -> int:
        """Frame numbers used so far (blocked frames included): the next frame's number."""
        return self._count

    def block(self, seconds: float | None) -> None:
        """Fault injection: drop the outgoing video for ``seconds`` (None: for good)."""
        self._blocked_until = math.inf if seconds is None else time.monotonic() + seconds

    def request_keyframe(self) -> None:
        """Answer a PLI or FIR: the next frame sent is the keyframe."""
        self.keyframe_requests += 1
        self._keyframe_due = True

    def _next_frame(self) -> bytes:
        if self._keyframe_due:
            self._keyframe_due = False
            self.keyframes_sent += 1
            return self._media.keyframe
        data = self._media.deltas[self._pos]
        self._pos = (self._pos + 1) % len(self._media.deltas)
        return data

    async def _next_stamped(self) -> tuple[bytes, int]:
        """The next frame, stamped, and its RTP timestamp (from 0), when it is due."""
        await self._wait_turn()
        while time.monotonic() < self._blocked_until:
            # A blocked frame still takes its number, so receivers see the gap as loss.
            self._count += 1
            self._next_frame()
            await self._wait_turn()
        return self._stamped()

    def _encoded_now(self) -> RTCEncodedFrame | None:
        if time.monotonic() < self._blocked_until:
            self._count += 1  # as in _next_stamped: the number is used, the frame dropped
            self._next_frame()
            return None
        return self._packetized(*self._stamped())

    def _stamped(self) -> tuple[bytes, int]:
        stamp = Stamp(self._publisher, self._count, int(time.time() * 1e6))
        data = self._next_frame()
        pad = stamp_padding(len(data), _VP8_CHUNKS)
        pts = self._count * self._step
        self._count += 1
        return append_stamp(data + bytes(pad), stamp), pts

    async def recv(self) -> av.Packet[Any]:
        data, pts = await self._next_stamped()
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = _VIDEO_TIME_BASE
        return packet

    async def next_encoded(self) -> RTCEncodedFrame:
        """The next frame as aiortc's VP8 packetizer cuts it, as ``recv`` and aiortc's
        ``Vp8Encoder.pack`` would make it, without a PyAV packet (``loadtest.lean_sender``)."""
        return self._packetized(*await self._next_stamped())

    def _packetized(self, data: bytes, pts: int) -> RTCEncodedFrame:
        payloads = vpx.Vp8Encoder._packetize(data, self._picture_id)
        self._picture_id = (self._picture_id + 1) % (1 << 15)
        return RTCEncodedFrame(payloads, pts, None)  # type: ignore[arg-type]


class ReplayAudioTrack(_PacedTrack):
    """Replays pre-encoded 20 ms Opus packets."""

    kind = "audio"

    def __init__(self, packets: tuple[bytes, ...], pacing: float = 0.0) -> None:
        super().__init__(0.02, pacing)
        self._packets = packets

    async def _next_packet(self) -> tuple[bytes, int]:
        """The next packet and its RTP timestamp (from 0), when it is due."""
        await self._wait_turn()
        return self._packet()

    def _encoded_now(self) -> RTCEncodedFrame | None:
        data, pts = self._packet()
        return RTCEncodedFrame([data], pts, None)  # type: ignore[arg-type]

    def _packet(self) -> tuple[bytes, int]:
        data = self._packets[self._count % len(self._packets)]
        pts = self._count * (AUDIO_CLOCK // 50)
        self._count += 1
        return data, pts

    async def recv(self) -> av.Packet[Any]:
        data, pts = await self._next_packet()
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = _AUDIO_TIME_BASE
        return packet

    async def next_encoded(self) -> RTCEncodedFrame:
        """The next packet as aiortc's ``OpusEncoder.pack`` would hand it on (no audio level:
        aiortc measures it on raw frames only), without a PyAV packet."""
        data, pts = await self._next_packet()
        return RTCEncodedFrame([data], pts, None)  # type: ignore[arg-type]


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
    redirected: float | None = None  # the server sent us to the room's node (PROTOCOL.md)

    def mark(self, phase: str) -> None:
        if getattr(self, phase) is None:
            setattr(self, phase, time.time() - self.started_at)

    def as_dict(self) -> dict[str, float | None]:
        return {k: v for k, v in self.__dict__.items() if k != "started_at"}


@dataclass
class Move:
    """One ``redirect`` received while in the room (its node drains, or the room moved):
    epoch seconds it came, and seconds from then to the rejoin and to the next video frame."""

    at: float
    reason: str
    url: str
    rejoined: float | None = None
    media_back: float | None = None

    def as_dict(self) -> dict[str, float | str | None]:
        return dict(self.__dict__)


@dataclass
class PeerResult:
    """What one session of a synthetic peer saw: phases, routes, errors."""

    name: str
    phases: JoinPhases
    routes: dict[tuple[str, str], RouteStats] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # Epoch time of the first video frame from each source; kept when routes are reset.
    first_frames: dict[str, float] = field(default_factory=dict)
    redirects: int = 0  # `redirect` messages followed before getting in
    moves: list[Move] = field(default_factory=list)  # `redirect`s followed once in the room


class SyntheticPeer:
    """One synthetic participant (publisher or receive-only viewer).

    ``tally`` gets every route's bytes, losses and latencies (for live progress);
    ``keep_samples=False`` keeps latencies in histograms only. ``repair``: receive video like a
    browser (NACK, RTX, PLI, playout model; ``loadtest.receiver``) instead of counting packets
    as they come; ``lean``: take SRTP straight from the socket (``loadtest.lean_transport``)
    and send it the same way (``loadtest.lean_sender``); ``compiled``: on the lean path,
    receive through the C extension when it is built (``loadtest.compiled_receive``);
    ``batched``: the compiled path reads the ICE socket itself (``loadtest.batched_socket``);
    ``pacing``: the period of the worker's grid (s, 0: none) on which repair ticks fall, and
    ``drain`` the ``SocketDrain`` that reads the taken-over sockets on it (``loadtest.pacing``;
    None: on readiness); ``paced_sends``: frames go out on that grid too, from the drain's
    ticks (off by default: Chromium viewers of publishers so paced froze about twice as often
    under loss, tests/impair/test_loadtest_repair.py; see docs/LOADTEST.md).
    ``compiled_send``: on the lean path, send each frame in one call of the C extension when
    it is built (``loadtest.compiled_send``).
    """

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
        tally: LiveTally | None = None,
        keep_samples: bool = True,
        repair: bool = True,
        lean: bool = True,
        compiled: bool = True,
        batched: bool = True,
        pacing: float = 0.0,
        drain: SocketDrain | None = None,
        paced_sends: bool = False,
        compiled_send: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.room = room
        self.name = name
        self.index = index
        self.participant_id: str | None = None
        self.result = PeerResult(name, JoinPhases())
        self._session = session
        self._tally = tally
        self._keep_samples = keep_samples
        send_pacing = pacing if paced_sends else 0.0
        self._video_track = (ReplayVideoTrack(video, index, send_pacing)
                             if video is not None else None)
        self._audio_track = (ReplayAudioTrack(audio, send_pacing)
                             if audio is not None else None)
        self._send_clock = drain if paced_sends else None
        self._pc: RTCPeerConnection | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._slots: dict[str, dict[str, Any]] = {}
        self._published = False
        self._receiving = False
        self._lean = lean
        self._compiled = compiled
        self._batched = batched
        self._pacing = pacing
        self._drain = drain
        self._compiled_send = compiled_send
        self._receiver = Receiver(self.result.routes, repair=repair, keep_samples=keep_samples,
                                  tally=tally, on_stamp=self._on_stamp,
                                  learn_rtt=self.publishing)
        self._ssrc_slots = self._receiver.ssrc_slots
        self._repair_task: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._leaving = False
        self._closing = False
        self._redirect_to: str | None = None
        self._hops = 0  # redirects in a row without a `joined` (PROTOCOL.md: a loop after 5)
        self._resume: str | None = None  # the credential of `joined`: rejoin as ourselves
        # The ICE servers of `joined`, as a browser uses them (never aiortc's default public
        # STUN server: a round trip to the internet per join that no browser makes).
        self._ice_servers: list[RTCIceServer] = []
        self._in_room = False  # joined, and not sent elsewhere since
        self.joined = asyncio.Event()
        self.failed = asyncio.Event()
        self.ended = asyncio.Event()  # the signaling session is over, for whatever reason

    @property
    def publishing(self) -> bool:
        return self._video_track is not None or self._audio_track is not None

    @property
    def last_frame_sent(self) -> int | None:
        """The stamp frame number of the newest video frame produced (None: no video)."""
        if self._video_track is None or self._video_track.frames_sent == 0:
            return None
        return self._video_track.frames_sent - 1

    def pause(self) -> None:
        """Stop producing media until ``resume`` (ends a measurement window cleanly)."""
        for track in (self._audio_track, self._video_track):
            if track is not None:
                track.pause()

    def resume(self) -> None:
        for track in (self._audio_track, self._video_track):
            if track is not None:
                track.resume()

    def block_video(self, seconds: float | None) -> None:
        """Fault injection: drop this peer's outgoing video for ``seconds`` (None: for good)."""
        if self._video_track is not None:
            self._video_track.block(seconds)

    def reset_routes(self) -> None:
        """Start a new measurement window: routes restart at their next packet."""
        self._receiver.new_window()

    async def start(self) -> None:
        """Open the socket and join; the session then runs in the background.

        A failure to connect is recorded in ``result.errors`` and sets ``failed``.
        """
        self.result.phases.started_at = time.time()
        ws_url = self.url.replace("http", "ws", 1) + "/ws"
        try:
            self._ws = await self._session.ws_connect(ws_url, heartbeat=20)
            self.result.phases.mark("socket_open")
            await self._send_join()
        except (aiohttp.ClientError, OSError) as exc:
            self.result.errors.append(f"connect: {exc or type(exc).__name__}")
            self.failed.set()
            self.ended.set()
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"peer:{self.name}")

    async def _send_join(self) -> None:
        assert self._ws is not None
        role = "guest" if self.publishing else "viewer"
        join = {"type": "join", "room": self.room, "name": self.name, "role": role}
        if self._resume is not None:
            join["resume"] = self._resume
        await self._ws.send_str(json.dumps(join))

    async def _run(self) -> None:
        assert self._ws is not None
        try:
            while True:
                async for msg in self._ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    await self._handle(json.loads(msg.data))
                    if self._redirect_to is not None:
                        break
                if self._redirect_to is None:
                    break
                # Another node serves the room: join there instead (docs/PROTOCOL.md).
                url, self._redirect_to = self._redirect_to, None
                await self._ws.close()
                if self._pc is not None:
                    await self._drop_media()  # we were in the room: it moves
                await self._reconnect(url)
                await self._send_join()
        except (aiohttp.ClientError, ConnectionError) as exc:
            self.result.errors.append(f"signaling: {exc or type(exc).__name__}")
        except Exception as exc:  # e.g. an offer aiortc rejects: report, not crash
            self.result.errors.append(f"session: {exc!r}")
        else:
            if not self._closing:
                self.result.errors.append(
                    f"signaling: socket closed by the server (code {self._ws.close_code})"
                )
        finally:
            if not self.joined.is_set():
                self.failed.set()
            self.ended.set()

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "joined":
            you = message["you"]["id"]
            if self.participant_id is not None and you != self.participant_id:
                self.result.errors.append(
                    f"moved: came back as {you}, not as {self.participant_id}")
            self.participant_id = you
            self._resume = message.get("resume", self._resume)
            self._ice_servers = [
                RTCIceServer(urls=server["urls"], username=server.get("username"),
                             credential=server.get("credential"))
                for server in message.get("ice_servers") or []
            ]
            self._hops = 0
            self._in_room = True
            self.result.phases.mark("joined")
            if self.result.moves and self.result.moves[-1].rejoined is None:
                self.result.moves[-1].rejoined = time.time() - self.result.moves[-1].at
            self.joined.set()
        elif kind == "offer":
            self.result.phases.mark("offer")
            self._apply_slots(message["slots"])
            sdp = await self._answer(message["sdp"])
            assert self._ws is not None
            await self._ws.send_str(json.dumps({"type": "answer", "sdp": sdp}))
            self.result.phases.mark("answer_sent")
        elif kind == "slots":
            self._apply_slots(message["slots"])
        elif kind == "redirect":
            # PROTOCOL.md, Several nodes: this socket is of no more use; join at `url`. In the
            # room already (our node drains, or the room moved): we are out of it here, and
            # come back there as ourselves with the `resume` of `joined`.
            self._hops += 1
            if self._hops > MAX_REDIRECTS:
                self.result.errors.append(f"redirected more than {MAX_REDIRECTS} times in a row")
                self.failed.set()
                self.ended.set()
                return
            if self._in_room:
                self._in_room = False
                self.result.moves.append(
                    Move(time.time(), str(message.get("reason")), str(message["url"])))
            else:
                self.result.redirects += 1
                self.result.phases.mark("redirected")
            self._redirect_to = str(message["url"])
        elif kind == "left":
            if not self._leaving:
                self.result.errors.append(f"left the room: {message.get('reason')}")
            self.ended.set()
        elif kind == "error":
            self.result.errors.append(f"{message.get('code')}: {message.get('message')}")
            if not self.joined.is_set():
                self.failed.set()
                self.ended.set()
            elif not self._in_room and message.get("ref") == "join":
                self.ended.set()  # the rejoin after a move was refused: out for good

    async def _drop_media(self) -> None:
        """Close the connection to the node we leave; the next ``offer`` (from the node we
        move to) makes a new one, and our tracks and routes go on there."""
        pc, self._pc = self._pc, None
        self._published = self._receiving = False
        self._slots.clear()
        self._receiver.reset()
        for route in self.result.routes.values():
            route.new_stream()
        for track in (self._audio_track, self._video_track):
            if track is not None:
                track.restart_clock()
        if pc is not None:
            await _close_pc(pc)

    async def _reconnect(self, url: str) -> None:
        """Open a socket at ``url``; if that node cannot be reached, go back to the URL we
        started with (a load balancer) and try again with backoff (PROTOCOL.md)."""
        delay = 0.25
        for attempt in range(MAX_REDIRECTS + 1):
            try:
                self._ws = await self._session.ws_connect(url, heartbeat=20)
                return
            except (aiohttp.ClientError, OSError):
                if attempt == MAX_REDIRECTS:
                    raise
            url = self.url.replace("http", "ws", 1) + "/ws"
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF_S, delay * 2)

    def _new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=self._ice_servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )

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
            self._receive_without_decoding(pc)
            if self._repair_task is None:
                self._repair_task = asyncio.get_running_loop().create_task(
                    self._repair_loop(), name=f"rtcp:{self.name}")
        if not self._published and self.publishing:
            self._published = True
            for track in (self._audio_track, self._video_track):
                if track is None:
                    continue
                sender = pc.addTrack(track)
                if self._lean:
                    lean_sender.install(sender, compiled=self._compiled_send,
                                        clock=self._send_clock)
                if isinstance(track, ReplayVideoTrack):
                    # The pack path ignores PLIs; jump to the loop's next keyframe instead.
                    sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    def _apply_slots(self, slots: list[dict[str, Any]]) -> None:
        """An offer's or a ``slots`` message's map: updated in place, so the SSRC table
        (which holds these same dicts) follows a reused m-line to its new source."""
        for slot in slots:
            known = self._slots.get(slot["mid"])
            if known is None:
                self._slots[slot["mid"]] = dict(slot)
            else:
                known.clear()
                known.update(slot)

    def _learn_ssrcs(self, sdp: str) -> None:
        """Map each offered SSRC to its slot (a=mid + a=ssrc lines of the offer)."""
        for media in aiortc_sdp.SessionDescription.parse(sdp).media:
            slot = self._slots.get(media.rtp.muxId or "")
            if slot is None:
                continue
            # RFC 4588 §8.1: "a=ssrc-group:FID main rtx": retransmissions are not counted.
            rtx = {int(i) for g in media.ssrc_group if g.semantic == "FID" for i in g.items[1:]}
            for group in media.ssrc_group:
                if group.semantic == "FID" and len(group.items) == 2:
                    self._receiver.rtx_of[int(group.items[1])] = int(group.items[0])
            for ssrc in media.ssrc:
                if ssrc.ssrc not in rtx:
                    self._ssrc_slots[ssrc.ssrc] = slot

    def _on_stamp(self, source: str, now: float) -> None:
        phases, moves = self.result.phases, self.result.moves
        phases.mark("first_frame")
        self.result.first_frames.setdefault(source, now)
        if moves and moves[-1].media_back is None:
            moves[-1].media_back = now - moves[-1].at

    def _on_rtp(self, data: bytes, now: float) -> None:
        if self.result.phases.first_rtp is None:
            self.result.phases.mark("first_rtp")
        self._receiver.on_rtp(data, now)

    def _receive_without_decoding(self, pc: RTCPeerConnection) -> None:
        """Take the RTP of ``pc`` (after SRTP) as bytes: no parsing into objects, no decoding,
        so one process can receive many streams. Until DTLS is up (and with the lean path
        off) through aiortc's handler; then straight from the socket (``lean_transport``)."""
        dtls = pc.getTransceivers()[0].receiver.transport
        on_rtp = self._on_rtp

        async def handle(data: bytes, arrival_time_ms: int) -> None:
            on_rtp(data, time.time())

        dtls._handle_rtp_data = handle  # type: ignore[method-assign]
        lean_transport.read_rtcp(dtls, self._receiver.on_rtcp)
        writer = lean_transport.RtcpWriter(dtls)
        self._receiver.send_rtcp = writer.send

        @pc.on("connectionstatechange")
        def _connected() -> None:
            if pc.connectionState == "connected" and self._lean and not (
                    self._compiled and compiled_receive.install(
                        dtls, self._receiver, on_rtp, batched=self._batched,
                        drain=self._drain, rtcp=self._receiver.on_rtcp)):
                lean_transport.install(dtls, on_rtp, self._receiver.on_rtcp)

    async def _repair_loop(self) -> None:
        """Send receiver reports, and re-ask for missing packets and keyframes, at the
        browser's pace (reports alone need a tenth of a second's precision)."""
        interval = PROCESS_INTERVAL_S if self._receiver.repair else REPORT_TICK_S
        if self._drain is not None:
            # On the worker clock's ticks (no task wakes up per peer): every ``interval``.
            await _tick_on_clock(self._drain, interval, self._receiver.tick)
        while True:
            await sleep_to_tick(time.monotonic() + interval, self._pacing)
            self._receiver.tick()

    async def leave(self, *, wait: float = 5.0) -> None:
        """Ask the server to take this peer out of its room and wait (at most ``wait`` s) for
        its ``left``: the seat is free then, so a rejoin right after never meets room_full."""
        self._leaving = True
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(aiohttp.ClientError, ConnectionError):
                await self._ws.send_str(json.dumps({"type": "leave"}))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.ended.wait(), wait)

    async def close(self) -> None:
        """Close the socket, the peer connection and the session task (idempotent)."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        for task in (self._task, self._repair_task):
            if task is not None:
                task.cancel()
                await asyncio.wait([task])
        if self._pc is not None:
            await _close_pc(self._pc)
