"""The outgoing half of a subscription: rewrites a source's RTP onto one sender.

aiortc's RTCRtpSender is kept for what it does well (SDP, SSRC, RTCP sender reports,
receiving the subscriber's RTCP), but it is given a track that never yields; this class
writes the packets itself, straight to the subscriber's DTLS transport, and answers the
subscriber's NACKs (RFC 4585 §6.2.1) and PLIs (§6.3.1) for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiortc import RTCRtpSender
from aiortc.codecs import is_rtx
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtpPacket,
    unpack_remb_fci,
)
from aiortc.stats import RTCStatsReport

from sfu import compiled_egress as compiled
from sfu import sender_reports
from sfu.egress import Egress
from sfu.retransmit_budget import RetransmitBudget
from sfu.rtp_writer import RtpWriter, wrap_rtx
from sfu.stream_rewriter import StreamRewriter
from sfu.traffic import Traffic
from sfu.vp8_layers import TemporalLayerFilter, Vp8Descriptor, with_picture_id

if TYPE_CHECKING:
    from sfu.track_source import TrackSource

logger = logging.getLogger(__name__)

_AUDIO_TS_STEP = 960  # 20 ms of Opus at 48 kHz
_VIDEO_TS_STEP = 3000  # one frame at 30 fps on the 90 kHz clock

#: Told (kind, seconds) when a new subscription forwards its first packet.
FirstForwardCallback = Callable[[str, float], None]
#: Told (bit/s, SSRCs) when the subscriber sends a REMB about this stream.
RembCallback = Callable[[int, list[int]], None]


class IdleTrack(MediaStreamTrack):
    """A track that never yields a frame, so aiortc's own RTP loop stays asleep."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> RtpPacket:  # type: ignore[override]
        await asyncio.get_running_loop().create_future()
        raise AssertionError("unreachable")  # pragma: no cover


class TrackForwarder:
    """Forwards one source at a time onto one subscriber sender."""

    def __init__(
        self,
        sender: RTCRtpSender,
        kind: str,
        *,
        history_size: int,
        retransmission_share: float,
        direct_send: bool = True,
        compiled_egress: bool = True,
        compiled_fanout: bool = True,
        on_first_forward: FirstForwardCallback | None = None,
        on_remb: RembCallback | None = None,
    ) -> None:
        self.kind = kind
        self._on_remb = on_remb
        self._direct_send = direct_send
        self._compiled_egress = compiled_egress
        self._egress: Egress | None = None
        self.source: TrackSource | None = None
        #: Video the subscriber does not show: nothing is sent (see set_paused).
        self.paused = False
        self._packets_sent = 0
        self._bytes_sent = 0
        self.retransmissions = 0
        self.nacks_received = 0
        self.plis_received = 0
        #: Copies whose forwarding raised (see TrackSource._on_packet); the first is logged.
        self.copy_failures = 0
        #: The counters when the current source was attached: what is since is its.
        self._base = Traffic()
        self._on_first_forward = on_first_forward
        #: When the current subscription was asked for, until its first packet goes out.
        self._first_wait: float | None = None
        self._sender = sender
        self._writer: RtpWriter | None = None
        self._rtx_pt: int | None = None
        self._rtx_seq = 0
        # Audio is not NACKed in practice (Opus conceals loss and carries in-band FEC,
        # RFC 7587), so only video keeps packets for retransmission.
        history_size = history_size if kind == "video" else 0
        self._history: list[tuple[int, bytes, int] | None] = [None] * history_size
        self._history_size = history_size
        self._budget = RetransmitBudget(share=retransmission_share)
        video = kind == "video"
        #: Which VP8 temporal layers this subscriber gets (see set_layer).
        self.layers = TemporalLayerFilter() if video else None
        #: With the compiled fan-out, this forwarder's state in C (read by TrackSource's
        #: fan-out through ``fan_out``): its steady-state copies never enter forward().
        self._copy: compiled.ForwardCopy | None = None
        rewriter_type: type[StreamRewriter | compiled.StreamRewriter] = StreamRewriter
        if compiled_fanout and compiled_egress and compiled.ForwardCopy is not None:
            rewriter_type = compiled.StreamRewriter
        self.rewriter = rewriter_type(
            first_seq=sender._ssrc & 0x7FFF,  # any value works; stay well clear of wrap
            first_ts=(sender._ssrc * 2654435761) & 0xFFFFFFFF,
            ts_step=_VIDEO_TS_STEP if video else _AUDIO_TS_STEP,
            video=video,
        )
        if not isinstance(self.rewriter, StreamRewriter):
            self._copy = compiled.ForwardCopy(
                rewriter=self.rewriter,
                sender=sender,
                history_size=history_size,
                layered=self.layers is not None,
            )
            self._history = []  # kept in C
        self._hook(sender)

    def _hook(self, sender: RTCRtpSender) -> None:
        # One RTCP compound per transport, not one per sender; with the compiled fan-out,
        # the figures it reports are copied in from C first.
        refresh = self._report_to_sender if self._copy is not None else None
        sender_reports.attach(sender, refresh)
        original_send = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            first = self._writer is None
            if first:
                self._configure(parameters)
            await original_send(parameters)
            if first and self.kind == "video" and self.source is not None:
                self.source.request_keyframe()  # a new subscriber starts on a keyframe

        original_rtcp = sender._handle_rtcp_packet

        async def handle_rtcp(packet: AnyRtcpPacket) -> None:
            # REMB (draft-alvestrand-rmcat-remb-03 §2): PSFB with FMT 15, the estimate
            # covering the SSRCs it lists. aiortc delivers it to each listed sender.
            if (
                self._on_remb is not None
                and isinstance(packet, RtcpPsfbPacket)
                and packet.fmt == RTCP_PSFB_APP
            ):
                try:
                    bitrate, ssrcs = unpack_remb_fci(packet.fci)
                except ValueError:
                    pass  # another application-layer message
                else:
                    self._on_remb(bitrate, ssrcs)
            self._report_to_sender()  # a receiver report's stats read the packet count
            await original_rtcp(packet)

        sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]
        sender.send = send  # type: ignore[method-assign]
        if self._copy is not None:
            self._hook_reports(sender)
        sender._retransmit = self._retransmit  # type: ignore[method-assign]
        sender._send_keyframe = self._on_keyframe_request  # type: ignore[method-assign]

    def _hook_reports(self, sender: RTCRtpSender) -> None:
        """With the compiled fan-out the sender-report figures are kept in C; aiortc's sender
        is given them where they are read: getStats (the reports: see ``_hook``)."""
        original_get_stats = sender.getStats

        async def get_stats() -> RTCStatsReport:
            self._report_to_sender()
            return await original_get_stats()

        sender.getStats = get_stats  # type: ignore[method-assign]

    def _report_to_sender(self) -> None:
        """Copy the sender-report figures kept in C into aiortc's sender."""
        copy = self._copy
        if copy is None:
            return
        ntp, rtp_ts, packets, octets = copy.report
        sender = self._sender
        sender._RTCRtpSender__ntp_timestamp = ntp  # type: ignore[attr-defined]
        sender._RTCRtpSender__rtp_timestamp = rtp_ts  # type: ignore[attr-defined]
        sender._RTCRtpSender__packet_count = packets  # type: ignore[attr-defined]
        sender._RTCRtpSender__octet_count = octets  # type: ignore[attr-defined]

    def _sync_copy(self) -> None:
        """Tell the compiled fan-out whether this forwarder's state allows its way: sending
        (negotiated, shown), its first packet out, temporal layers passing through."""
        copy = self._copy
        if copy is None:
            return
        layers = self.layers
        copy.ready = (
            self._writer is not None
            and not self.paused
            and self._first_wait is None
            and (layers is None or layers.passes_through)
        )

    @property
    def packets_sent(self) -> int:
        copy = self._copy
        return self._packets_sent if copy is None else copy.packets_sent

    @property
    def bytes_sent(self) -> int:
        copy = self._copy
        return self._bytes_sent if copy is None else copy.bytes_sent

    @property
    def fast_copies(self) -> int:
        """Copies the compiled fan-out sent without entering forward()."""
        return 0 if self._copy is None else self._copy.fast

    def _configure(self, parameters: RTCRtpSendParameters) -> None:
        codec = parameters.codecs[0]
        assert codec.payloadType is not None  # negotiated codecs always carry one
        for c in parameters.codecs:
            if is_rtx(c) and c.parameters.get("apt") == codec.payloadType:
                self._rtx_pt = c.payloadType
        ext_ids = {e.uri: e.id for e in parameters.headerExtensions}
        writer = RtpWriter(
            ssrc=self._sender._ssrc,
            payload_type=codec.payloadType,
            mid=parameters.muxId,
            ext_ids=ext_ids,
        )
        self._egress = Egress(
            self._sender.transport,
            direct=self._direct_send,
            layout=writer.layout() if self._compiled_egress else None,
        )
        self._writer = writer
        self._sync_copy()

    @property
    def negotiated(self) -> bool:
        """True once the sender started (DTLS up), so packets can flow."""
        return self._writer is not None

    # -- source ---------------------------------------------------------------------

    def attach(self, source: TrackSource, *, since: float | None = None) -> None:
        """Start forwarding ``source`` (continuing this slot's numbering). ``since``: when
        the subscription was asked for (time.monotonic), if earlier than now."""
        self.detach()
        self.source = source
        self._base = self._counts()
        if self._on_first_forward is not None and not self.paused:
            self._first_wait = time.monotonic() if since is None else since
        self.rewriter.switch_source(video=self.kind == "video")
        if self.layers is not None:
            self.layers.reset()
        source.forwarders.append(self)
        self._sync_copy()
        if self.kind == "video" and self._writer is not None:
            source.request_keyframe()

    def set_paused(self, paused: bool) -> None:
        """Stop sending video the subscriber does not show, or start again. Resuming waits
        for a keyframe and continues this slot's numbering, so no loss is seen (RFC 3550 §5.1)."""
        if self.kind != "video" or paused == self.paused:
            return
        self.paused = paused
        if paused:
            self._first_wait = None  # not shown: its start is the viewer's choice, not ours
        else:
            self.rewriter.switch_source(video=True)
            if self.layers is not None:
                self.layers.reset()
            if self.source is not None and self._writer is not None:
                self.source.request_keyframe()
        self._sync_copy()

    def resume_after_gap(self) -> None:
        """The source sent nothing for a while (a host muted it): continue this slot's
        numbering and timestamps from where they were, video at the next keyframe."""
        video = self.kind == "video"
        self.rewriter.switch_source(video=video)
        if self.layers is not None:
            self.layers.reset()
        self._sync_copy()
        if video and self.source is not None and self._writer is not None and not self.paused:
            self.source.request_keyframe()

    def restart_at_keyframe(self) -> None:
        """Send nothing more until the source's next keyframe (an unrepairable hole)."""
        if self.rewriter.started and self.layers is not None:
            self.layers.reset()
            self._sync_copy()
        self.rewriter.restart_at_keyframe()

    def forwarded_since(self, seq: int) -> bool:
        """True if this slot (re)started at or before the source's packet ``seq``."""
        if self.layers is not None:
            seq = self.layers.position(seq)
        return self.rewriter.forwarded_since(seq)

    def set_layer(self, target: int) -> None:
        """Forward VP8 temporal layers up to ``target`` (0-2) from the next switch point on."""
        if self.layers is not None:
            self.layers.target = target

    @property
    def layer_drops(self) -> int:
        return self.layers.dropped if self.layers is not None else 0

    def detach(self) -> None:
        """Stop forwarding (idempotent)."""
        source, self.source = self.source, None
        self._first_wait = None
        self._sync_copy()
        if source is not None and self in source.forwarders:
            source.forwarders.remove(self)
            source.fold_forwarded(self.attributed())

    def _counts(self) -> Traffic:
        return Traffic(
            packets_out=self.packets_sent,
            bytes_out=self.bytes_sent,
            nacks_received=self.nacks_received,
            retransmissions=self.retransmissions,
            retransmissions_refused=self._budget.refused,
            plis_received=self.plis_received,
            layer_drops=self.layer_drops,
            copy_failures=self.copy_failures,
        )

    def attributed(self) -> Traffic:
        """What this slot sent (and was asked) since the current source was attached."""
        base = self._base
        return Traffic(
            packets_out=self.packets_sent - base.packets_out,
            bytes_out=self.bytes_sent - base.bytes_out,
            nacks_received=self.nacks_received - base.nacks_received,
            retransmissions=self.retransmissions - base.retransmissions,
            retransmissions_refused=self._budget.refused - base.retransmissions_refused,
            plis_received=self.plis_received - base.plis_received,
            layer_drops=self.layer_drops - base.layer_drops,
            copy_failures=self.copy_failures - base.copy_failures,
        )

    # -- hot path ---------------------------------------------------------------------

    def forward(
        self,
        *,
        seq: int,
        ts: int,
        marker: bool,
        payload: bytes,
        keyframe_start: bool,
        abs_send_time: int | None,
        audio_level: tuple[bool, int] | None,
        ntp: int,
        vp8: Vp8Descriptor | None = None,
    ) -> bytes | None:
        """Rewrite and send one packet from the source (dropped until negotiated).

        Returns the rewritten bytes when they could not be sent synchronously; the
        caller then awaits ``send_slow`` with them.
        """
        writer = self._writer
        sender = self._sender
        if writer is None or self.paused or not sender._enabled:
            return None
        layers = self.layers
        if vp8 is not None and layers is not None:
            picked = layers.select(seq, ts, marker, vp8)
            if picked is None:
                return None
            seq, picture_id = picked
            if picture_id is not None:
                payload = with_picture_id(payload, vp8, picture_id)
            if vp8.tid is None and self._copy is not None:
                self._sync_copy()  # layers may pass through again: the compiled way applies
        mapped = self.rewriter.rewrite(seq, ts, keyframe_start)
        if mapped is None:
            return None
        seq, ts = mapped
        egress = self._egress
        packet_sender = egress.packet_sender() if egress is not None else None
        if packet_sender is not None:
            # Written, protected and sent in one C call (sfu/compiled_egress.py).
            data, header_len = packet_sender.send(
                marker, seq, ts, payload, abs_send_time, audio_level
            )
        else:
            data, header_len = writer.write(
                marker=marker,
                seq=seq,
                ts=ts,
                payload=payload,
                abs_send_time=abs_send_time,
                audio_level=audio_level,
            )
        copy = self._copy
        if copy is not None:
            # The history, counters and sender-report figures are kept in C (the same
            # bookkeeping as below); the compiled fan-out takes the next copies itself.
            copy.sent(seq, ts, marker, payload, abs_send_time, audio_level, len(data), ntp)
            if packet_sender is not None and copy.packet_sender is not packet_sender:
                assert egress is not None
                egress.bind_copy(copy)
        else:
            if self._history_size:
                self._history[seq % self._history_size] = (seq, data, header_len)
            self._packets_sent += 1
            self._bytes_sent += len(data)
            # Keep aiortc's RTCP sender reports truthful (RFC 3550 §6.4.1): the last
            # packet's NTP/RTP timestamp pair and the running packet/octet counts.
            sender._RTCRtpSender__ntp_timestamp = ntp  # type: ignore[attr-defined]
            sender._RTCRtpSender__rtp_timestamp = ts  # type: ignore[attr-defined]
            sender._RTCRtpSender__packet_count += 1  # type: ignore[attr-defined]
            sender._RTCRtpSender__octet_count += len(payload)  # type: ignore[attr-defined]
        if self._first_wait is not None:  # once per subscription: one attribute test per packet
            self._first_forwarded()
        if packet_sender is not None or (egress is not None and egress.try_send(data)):
            return None
        return data

    def _first_forwarded(self) -> None:
        since, self._first_wait = self._first_wait, None
        self._sync_copy()
        if since is not None and self._on_first_forward is not None:
            self._on_first_forward(self.kind, time.monotonic() - since)

    async def send_slow(self, data: bytes) -> None:
        """Send through aiortc's own (coroutine) path."""
        if self._egress is None:
            return
        try:
            await self._egress.send(data)
        except ConnectionError:
            return  # transport closing; the peer is being torn down

    # -- RTCP from the subscriber -------------------------------------------------------

    async def _retransmit(self, sequence_number: int) -> None:
        self.nacks_received += 1
        if not self._history_size:
            return
        entry = self._kept(sequence_number)
        if entry is None:
            return  # too old: the subscriber will ask for a keyframe instead
        data, header_len = entry
        if not self._budget.allow(sequence_number, len(data), self.bytes_sent, time.monotonic()):
            return  # asked again too soon, or over the RTX budget: a keyframe request follows
        if self._rtx_pt is not None:
            # RFC 4588 §4: retransmit on the RTX stream, original seq in front.
            data = wrap_rtx(
                data,
                header_len,
                payload_type=self._rtx_pt,
                seq=self._rtx_seq,
                ssrc=self._sender._rtx_ssrc,
            )
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        self.retransmissions += 1
        await self.send_slow(data)

    def _kept(self, seq: int) -> tuple[bytes, int] | None:
        """The packet sent as ``seq`` and its header length, if the RTX history has it."""
        copy = self._copy
        if copy is None:
            entry = self._history[seq % self._history_size]
            return None if entry is None or entry[0] != seq else (entry[1], entry[2])
        kept = copy.kept(seq)
        if kept is None or self._writer is None:
            return None
        # The compiled fan-out keeps what the packet was written from: written again, it
        # is the same bytes (RtpWriter and the compiled egress write alike).
        _, ts, marker, payload, abs_send_time, audio_level = kept
        return self._writer.write(
            marker=marker,
            seq=seq,
            ts=ts,
            payload=payload,
            abs_send_time=abs_send_time,
            audio_level=audio_level,
        )

    def _on_keyframe_request(self) -> None:
        self.plis_received += 1
        if self.source is not None:
            self.source.request_keyframe()
