"""A publisher's track as the SFU sees it: parsed RTP in, fanned out to forwarders.

The receiver keeps doing what aiortc does well (SRTP, NACKs and REMB to the publisher,
receiver reports); the SFU taps each parsed packet before aiortc's own handling and
switches off aiortc's jitter buffer and decoder, which it never needs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from aiortc import RTCRtpCodecParameters, RTCRtpReceiver
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci, unwrap_rtx

from sfu import compiled_egress, ingress, remb_estimator
from sfu.keyframe import (
    KeyframeDetector,
    KeyframePacer,
    KeyframeSize,
    KeyframeThrottle,
    keyframe_detector,
)
from sfu.layer_rates import LayerRates
from sfu.ntp_clock import ntp_now
from sfu.remb_estimator import CompiledRembEstimator, RembEstimator
from sfu.tasks import cancel_and_wait
from sfu.traffic import Traffic
from sfu.upstream_repair import UpstreamRepair
from sfu.vp8_layers import Vp8Descriptor, parse_vp8_descriptor

if TYPE_CHECKING:
    from sfu.forwarder import TrackForwarder

logger = logging.getLogger(__name__)

#: What a packet's handling still has to await, in order (rare: a NACK, a slow send, REMB).
_Later = list[Callable[[], Awaitable[None]]]


class _NullJitterBuffer:
    """Stands in for the receiver's jitter buffer: the SFU never reassembles frames."""

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        return False, None


class PacketTap(Protocol):
    """Sees every media packet of a source as it arrives (a recording); must not block."""

    def on_rtp(
        self,
        source: TrackSource,
        seq: int,
        timestamp: int,
        marker: bool,
        payload: bytes,
        vp8: Vp8Descriptor | None,
    ) -> None: ...


class TrackSource:
    """One published track (audio or video) of one participant."""

    def __init__(
        self,
        *,
        owner: str,
        kind: str,
        receiver: RTCRtpReceiver,
        keyframe_interval: float,
        on_first_packet: Callable[[TrackSource], None],
        pacer: KeyframePacer | None = None,
        direct_receive: bool = True,
        compiled_fanout: bool = True,
        compiled_ingress: bool = True,
    ) -> None:
        #: The C fan-out (sfu._compiled_egress.fan_out) for the copies it can take.
        self._fan_out = compiled_egress.fan_out if compiled_fanout else None
        #: Take RTP straight off the socket (sfu/ingress.py) once the transport is up.
        self._direct_receive = direct_receive
        self._compiled_ingress = compiled_ingress
        self._ingress: ingress.Ingress | None = None
        self._pacer = pacer  # shared by the room: PLIs to its publishers spaced out
        #: The node's fan-out timing (the pacer's send cost), fed by every fan-out here.
        self._timing = pacer.timing if pacer is not None else None
        self.owner = owner
        self.kind = kind
        self.codec: RTCRtpCodecParameters | None = None
        self.forwarders: list[TrackForwarder] = []
        #: Also handed every packet (recordings), forwarded or not.
        self.taps: list[PacketTap] = []
        self.packets_in = 0
        self.bytes_in = 0
        self.keyframe_requests = 0
        self.plis_sent = 0
        self.nacks_sent = 0
        self.unrepaired = 0
        #: Payload bytes received per VP8 temporal layer (a stream without layers counts
        #: as layer 0): what each layer costs a subscriber (sfu/layer_rates.py).
        self.layer_bytes = [0, 0, 0, 0]
        self.layer_rates = LayerRates()
        self._vp8 = False
        #: What forwarders sent of this track while attached, up to their detaching.
        self._forwarded = Traffic()
        #: Latest RFC 6464 audio level, (voice activity, -dBov), and when it arrived.
        self.audio_level: tuple[bool, int] | None = None
        self.audio_level_at = 0.0
        self._receiver = receiver
        self._codecs: dict[int, RTCRtpCodecParameters] = {}
        self._rtx_ssrcs: dict[int, int] = {}
        self._media_ssrc: int | None = None
        self._detector: KeyframeDetector | None = None
        self._on_first_packet = on_first_packet
        self._throttle = KeyframeThrottle(keyframe_interval)
        #: How many packets this source's keyframes take (the pacer's cost estimate).
        self._keyframe_size = KeyframeSize()
        self._keyframe_wanted = asyncio.Event()
        self._keyframe_task: asyncio.Task[None] | None = None
        # Video losses are NACKed by the SFU itself, and asked again until repaired.
        self._repair = UpstreamRepair() if kind == "video" else None
        self._repair_wanted = asyncio.Event()
        self._repair_task: asyncio.Task[None] | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._closed = False
        #: A host muted this track: nothing of it is forwarded (see set_muted).
        self.muted = False
        self._hook(receiver)

    def _hook(self, receiver: RTCRtpReceiver) -> None:
        original_receive = receiver.receive

        async def receive(parameters: RTCRtpReceiveParameters) -> None:
            for codec in parameters.codecs:
                if codec.payloadType is not None:
                    self._codecs[codec.payloadType] = codec
            for encoding in parameters.encodings:
                if encoding.rtx is not None:
                    self._rtx_ssrcs[encoding.rtx.ssrc] = encoding.ssrc
            await original_receive(parameters)
            # aiortc starts a decoder thread per receiver; the SFU forwards instead.
            receiver._RTCRtpReceiver__stop_decoder()  # type: ignore[attr-defined]
            if self._direct_receive and self._ingress is None and not self._closed:
                self._ingress = ingress.attach(
                    receiver.transport, receiver, self.receive_rtp, compiled=self._compiled_ingress
                )

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            rest = self.receive_rtp(packet, arrival_time_ms)
            if rest is not None:
                await rest

        receiver.receive = receive  # type: ignore[method-assign]
        receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
        receiver._RTCRtpReceiver__jitter_buffer = _NullJitterBuffer()  # type: ignore[attr-defined]
        if receiver._RTCRtpReceiver__remote_bitrate_estimator is not None:  # type: ignore[attr-defined]
            # The same estimates, with the per-packet part inlined or, with the compiled
            # ingress, in C (sfu/remb_estimator.py).
            remb = (
                CompiledRembEstimator()
                if self._compiled_ingress and remb_estimator.AVAILABLE
                else RembEstimator()
            )
            receiver._RTCRtpReceiver__remote_bitrate_estimator = remb  # type: ignore[attr-defined]
        if self.kind == "video":
            # aiortc NACKs each gap once; UpstreamRepair asks until repaired or given up.
            receiver._RTCRtpReceiver__nack_generator = None  # type: ignore[attr-defined]

    def receive_rtp(
        self, packet: RtpPacket, arrival_time_ms: int
    ) -> Coroutine[Any, Any, None] | None:
        """Handle one packet from the publisher now; what it still has to await (rare) is
        returned as a coroutine for the caller to run before the next packet's."""
        later = self._on_packet(packet)
        later = self._feedback(packet, arrival_time_ms, later)
        return None if later is None else _run(later)

    def _feedback(
        self, packet: RtpPacket, arrival_time_ms: int, later: _Later | None
    ) -> _Later | None:
        """What aiortc's own ``_handle_rtp_packet`` does that the SFU still needs: REMB and
        receiver-report statistics towards the publisher.

        The rest of it is per-packet work for a decoder the SFU never runs: depayloading
        into a frame buffer (~1.1 us a packet), a datetime per packet for
        getSynchronizationSources, the codec lookup again. Same order and conditions as
        aiortc 1.16's method, minus those.
        """
        receiver = self._receiver
        if not receiver._enabled:
            return later
        estimator = receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
        abs_send_time = packet.extensions.abs_send_time
        if estimator is not None and abs_send_time is not None:
            remb = estimator.add(
                abs_send_time=abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            rtcp_ssrc = receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
            if rtcp_ssrc is not None and remb is not None:
                # draft-alvestrand-rmcat-remb-03 §2: the publisher's send estimate.
                rtcp = RtcpPsfbPacket(
                    fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(*remb)
                )
                later = later or []
                later.append(partial(receiver._send_rtcp, rtcp))
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return later
        # RFC 3550 §6.4.1: loss, jitter and highest sequence for the receiver reports.
        streams: dict[int, StreamStatistics] = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        stats = streams.get(packet.ssrc)
        if stats is None:
            stats = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stats.add(packet)
        # No NACKs here: aiortc has no NACK generator for audio, and the SFU removed the
        # video one (UpstreamRepair NACKs instead, see _hook).
        return later

    def _start(self, codec: RTCRtpCodecParameters) -> None:
        # The codec of the first media packet is what flows; subscribers get exactly it.
        self.codec = codec
        self._vp8 = codec.name.upper() == "VP8"
        if self.kind == "video":
            self._detector = keyframe_detector(codec.name)
            loop = asyncio.get_running_loop()
            self._keyframe_task = loop.create_task(
                self._keyframe_loop(), name=f"keyframes:{self.owner}"
            )
            if self._repair is not None:
                self._repair_task = loop.create_task(
                    self._repair_loop(), name=f"repair:{self.owner}"
                )
        self._on_first_packet(self)

    def set_muted(self, muted: bool) -> None:
        """Stop forwarding this track to anyone (a host muted it), or start again. Each
        subscriber's numbering continues across the gap (RFC 3550 §5.1: no loss is seen) and
        video resumes at a keyframe."""
        if muted == self.muted:
            return
        self.muted = muted
        if not muted:
            for fwd in self.forwarders:
                fwd.resume_after_gap()

    @property
    def ready(self) -> bool:
        """True once media flows, so subscribers can be offered this track."""
        return self.codec is not None and not self._closed

    # -- forwarding (hot path: every incoming packet) --------------------------------

    def _on_packet(self, packet: RtpPacket) -> _Later | None:
        """Everything synchronous; what must be awaited is returned, in order."""
        start = time.perf_counter()
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return None  # unknown payload type
        if is_rtx(codec):
            ssrc = self._rtx_ssrcs.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if ssrc is None or len(packet.payload) < 2 or not isinstance(apt, int):
                return None  # also RTX padding (bandwidth probes): no original packet inside
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=ssrc)
        elif packet.payload:
            self._media_ssrc = packet.ssrc
            if self.codec is None:
                self._start(codec)
        now = time.monotonic()
        later: _Later | None = None
        repair = self._repair
        if repair is not None:
            # A padding-only packet uses up a sequence number too (RFC 3550 §5.1): it is
            # not missing, even though there is nothing in it to forward.
            gaps = repair.received(packet.sequence_number, now)
            if gaps.nack:
                later = [partial(self._nack, packet.ssrc, gaps.nack)]
                self._repair_wanted.set()
            elif gaps.stale:
                self._unrepairable(gaps.stale)
        if not packet.payload:
            return later
        self.packets_in += 1
        size = len(packet.payload)
        self.bytes_in += size
        vp8 = parse_vp8_descriptor(packet.payload) if self._vp8 else None
        if vp8 is not None and vp8.tid is not None:
            self.layer_bytes[vp8.tid] += size
        else:
            self.layer_bytes[0] += size
        if self.muted:
            # Enforced here, once for every subscriber (later ones too): a muted track's
            # packets go nowhere, and its audio level never makes it the active speaker.
            return later
        level = packet.extensions.audio_level
        if level is not None:
            self.audio_level = level
            self.audio_level_at = now
        for tap in self.taps:
            tap.on_rtp(self, packet.sequence_number, packet.timestamp, bool(packet.marker),
                       packet.payload, vp8)
        forwarders = self.forwarders
        if not forwarders:
            return later
        keyframe_start = False
        detector = self._detector
        if detector is not None:
            wanted = self._keyframe_wanted.is_set()
            if vp8 is not None:
                keyframe_start = vp8.keyframe  # parsed anyway, for temporal layers
            elif wanted or any(fwd.rewriter.waiting_for_keyframe() for fwd in forwarders):
                keyframe_start = detector(packet.payload)
            if keyframe_start and wanted:
                # Every subscriber gets this keyframe: it answers the request that is still
                # waiting out the throttle, so no PLI (and no second keyframe) for it.
                self._keyframe_wanted.clear()
        ntp = ntp_now()
        # Everything per packet is read once here, not once per subscriber.
        seq = packet.sequence_number
        ts = packet.timestamp
        marker = bool(packet.marker)
        if keyframe_start:
            self._keyframe_size.started(ts, marker)
        elif self._keyframe_size.counting:
            self._keyframe_size.packet(ts, marker)
        payload = packet.payload
        # abs-send-time: 6.18 fixed-point seconds, 24 bits (webrtc abs-send-time spec).
        abs_send_time = (ntp >> 14) & 0xFFFFFF if self.kind == "video" else None
        slow: list[TrackForwarder] = forwarders
        fan_out = self._fan_out
        if fan_out is not None:
            # Every copy whose forwarder allows it goes out in this one call (rewritten,
            # protected, sent, accounted for); the others come back for forward() below.
            rest = fan_out(
                forwarders,
                seq,
                ts,
                marker,
                payload,
                keyframe_start,
                abs_send_time,
                level,
                ntp,
                vp8 is not None and vp8.tid is not None,
            )
            slow = []
            for fwd, failure in rest or ():
                if failure is None:
                    slow.append(fwd)
                else:
                    self._copy_failed(fwd, failure)
        for fwd in slow:
            try:
                pending = fwd.forward(
                    seq=seq,
                    ts=ts,
                    marker=marker,
                    payload=payload,
                    keyframe_start=keyframe_start,
                    abs_send_time=abs_send_time,
                    audio_level=level,
                    ntp=ntp,
                    vp8=vp8,
                )
            except Exception as exc:
                self._copy_failed(fwd, exc)
                continue
            if pending is not None:
                later = later or []
                later.append(partial(fwd.send_slow, pending))
        timing = self._timing
        if timing is not None and later is None:
            # Sends left for later (or a NACK): the time says nothing of the loop's cost.
            timing.observe(time.perf_counter() - start, len(forwarders))
        return later

    def _copy_failed(self, fwd: TrackForwarder, exc: BaseException) -> None:
        # One subscriber's copy failing costs that subscriber the packet, never the
        # subscribers after it; logged once per forwarder, not once per packet.
        if not isinstance(exc, Exception):
            raise exc  # KeyboardInterrupt and the like are not a copy's failure
        fwd.copy_failures += 1
        if fwd.copy_failures == 1:
            logger.error("%s %s: forwarding a copy failed", self.owner, self.kind, exc_info=exc)

    # -- repairing losses (RFC 4585 §6.2.1) -----------------------------------------

    async def _nack(self, media_ssrc: int, lost: list[int]) -> None:
        self.nacks_sent += 1
        try:
            await self._receiver._send_rtcp_nack(media_ssrc, lost)
        except ConnectionError:
            logger.debug("NACK to %s not sent: transport closed", self.owner)

    @property
    def repaired_late(self) -> int:
        """Upstream losses repaired only after asking again (aiortc alone would not have)."""
        return self._repair.repaired_late if self._repair else 0

    def _wanted(self) -> bool:
        """True while some subscriber is being sent this stream (and so wants repairs)."""
        return any(f.rewriter.started for f in self.forwarders)

    async def _repair_loop(self) -> None:
        repair = self._repair
        assert repair is not None
        while True:
            deadline = repair.next_deadline()
            if deadline is None:
                self._repair_wanted.clear()
                await self._repair_wanted.wait()
                continue
            # Gaps found meanwhile are younger, so their deadlines come later.
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            again, lost = repair.poll(time.monotonic())
            if not self._wanted():
                repair.forget()
                continue
            if again and self._media_ssrc is not None:
                await self._nack(self._media_ssrc, again)
            if lost:
                self._unrepairable(lost)

    def _unrepairable(self, lost: list[int]) -> None:
        """A hole upstream that retransmission did not fill in time.

        Forwarding what follows it would hand subscribers undecodable frames (a stale
        burst once their buffers give up), so every started subscriber stops until a
        fresh keyframe, which is requested now (RFC 4585 §6.3.1).
        """
        self.unrepaired += len(lost)
        logger.info("%s video: %d packets lost upstream for good; keyframe", self.owner, len(lost))
        hit = [f for f in self.forwarders if any(f.forwarded_since(s) for s in lost)]
        for fwd in hit:
            fwd.restart_at_keyframe()
        if hit:
            self.request_keyframe()

    # -- keyframes ------------------------------------------------------------------

    @property
    def keyframe_packets(self) -> int:
        """Packets in this source's latest keyframe (a guess before the first one)."""
        return self._keyframe_size.packets

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (throttled; see KeyframeThrottle)."""
        if self.kind != "video" or self._closed:
            return
        self.keyframe_requests += 1
        self._keyframe_wanted.set()

    async def _keyframe_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._keyframe_wanted.wait()
            delay = self._throttle.delay(loop.time())
            if delay:
                await asyncio.sleep(delay)
                if not self._keyframe_wanted.is_set():
                    continue  # a keyframe arrived meanwhile and answered the request
            self._keyframe_wanted.clear()
            if self._media_ssrc is None:
                # Nothing received yet: the first packets will start with a keyframe
                # anyway once the encoder starts; ask again when media flows.
                await asyncio.sleep(self._throttle.interval)
                self._keyframe_wanted.set()
                continue
            if self._pacer is not None:
                sends = self.keyframe_packets * len(self.forwarders)
                wait = self._pacer.reserve(loop.time(), sends)
                if wait:
                    await asyncio.sleep(wait)
            self._throttle.sent(loop.time())
            self.plis_sent += 1
            try:
                # RFC 4585 §6.3.1: Picture Loss Indication towards the publisher.
                await self._receiver._send_rtcp_pli(self._media_ssrc)
            except ConnectionError:
                logger.debug("PLI to %s not sent: transport closed", self.owner)
            # Encoders may ignore a request that comes too soon after the last keyframe
            # (Chrome: ~300 ms), so keep asking while a started subscriber still waits. A
            # timer, not a sleep here: a new subscriber's request must only wait out the
            # throttle interval, not twice that.
            if self._retry is not None:
                self._retry.cancel()
            self._retry = loop.call_later(2 * self._throttle.interval, self._retry_if_waiting)

    def _retry_if_waiting(self) -> None:
        self._retry = None
        if any(f.negotiated and f.rewriter.waiting_for_keyframe() for f in self.forwarders):
            self._keyframe_wanted.set()

    # -- lifecycle ------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "kind": self.kind,
            "codec": self.codec.mimeType if self.codec else None,
            "packets_in": self.packets_in,
            "subscribers": len(self.forwarders),
            "keyframe_requests": self.keyframe_requests,
            "plis_sent": self.plis_sent,
            "nacks_sent": self.nacks_sent,
            "unrepaired": self.unrepaired,
            "upstream_rtt_ms": round(1000 * self._repair.srtt) if self._repair else None,
        }

    def fold_forwarded(self, sent: Traffic) -> None:
        """A forwarder detached: keep what it sent of this track."""
        self._forwarded.add(sent)

    def traffic(self) -> Traffic:
        """Everything this track received and had forwarded so far (never decreases)."""
        out = self._forwarded.copy()
        out.packets_in += self.packets_in
        out.bytes_in += self.bytes_in
        out.bytes_in_layer1 += self.layer_bytes[1]
        out.bytes_in_layer2 += self.layer_bytes[2]
        out.keyframe_requests += self.keyframe_requests
        out.plis_sent += self.plis_sent
        out.nacks_sent += self.nacks_sent
        out.unrepaired += self.unrepaired
        out.repaired_late += self.repaired_late
        for fwd in self.forwarders:
            out.add(fwd.attributed())
        return out

    async def close(self) -> None:
        """Stop the keyframe task and detach every forwarder (idempotent)."""
        if self._closed:
            return
        self._closed = True
        direct, self._ingress = self._ingress, None
        if direct is not None:
            await direct.detach(self._receiver)
        for fwd in list(self.forwarders):
            fwd.detach()
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        task, self._keyframe_task = self._keyframe_task, None
        await cancel_and_wait(task)
        task, self._repair_task = self._repair_task, None
        await cancel_and_wait(task)


async def _run(later: _Later) -> None:
    for step in later:
        await step()
