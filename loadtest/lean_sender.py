"""The lean send loop of synthetic publishers: aiortc's RTP loop with less per packet.

aiortc's ``RTCRtpSender._run_rtp`` awaits four coroutines deep per packet (DTLS transport,
ICE connection, its socket protocol) and reads the wall clock twice. This loop does what it
does — same packets, same header extensions (mid, abs-send-time), the same RTP history (so
aiortc still answers NACKs with RTX) and sender-report counters — but writes each packet
SRTP-protected straight to the nominated ICE pair, and reads the clock once per frame. Until
the pair is up it falls back to aiortc's own ``_send_rtp``.

``compiled``: where ``loadtest.compiled_send`` is built, a frame's packets are built,
protected and sent in one C call, and the RTP history is its lazy ring (``LazyHistory``);
otherwise (and with ``compiled_send = false``) the Python loop below does it packet by packet.

The private attributes used are those of the pinned aiortc (checked by ``install``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket
from aiortc.utils import random32

from loadtest import compiled_send
from loadtest.lean_transport import available
from loadtest.pacing import SocketDrain

logger = logging.getLogger(__name__)

_P = "_RTCRtpSender__"
_NEEDED = ("rtp_history", "rtp_header_extensions_map", "mid", "rtp_started", "rtp_exited",
           "ntp_timestamp", "rtp_timestamp", "octet_count", "packet_count", "track", "encoder")


def send_path(lean: bool, compiled: bool) -> str:
    """Which way publishers send, for the start-up log and the run's report."""
    if not lean:
        return "aiortc (aiortc's send loop)"
    if not compiled:
        return "lean (Python)"
    if compiled_send.AVAILABLE:
        return "compiled (loadtest._compiled_send, sendmmsg)"
    return f"lean (Python): the compiled path is unavailable: {compiled_send.UNAVAILABLE_REASON}"


def install(sender: Any, *, compiled: bool = True, clock: SocketDrain | None = None) -> bool:
    """Make ``sender`` (an RTCRtpSender not yet started) use the lean loop (``compiled``:
    its C path, when built; with ``clock``, the worker's, its frames go from the clock's
    ticks, ``loadtest.pacing``); False if the pinned aiortc's attributes are not there (it
    then keeps its own)."""
    if not all(hasattr(sender, _P + name) for name in _NEEDED):
        logger.warning("aiortc's RTCRtpSender changed: the lean send loop is off")
        return False

    async def run_rtp(codec: Any) -> None:
        getattr(sender, _P + "rtp_started").set()
        extensions_map = getattr(sender, _P + "rtp_header_extensions_map")
        mid = getattr(sender, _P + "mid")
        sequence_number = random_sequence_number()  # aiortc: no early wrap
        timestamp_origin = random32()
        fast = compiled_send.frame_sender(
            payload_type=codec.payloadType, ssrc=sender._ssrc, sequence_number=sequence_number,
            mid=mid, extensions_map=extensions_map) if compiled else None
        try:
            if fast is not None:
                history = compiled_send.LazyHistory(fast, codec.payloadType, sender._ssrc, mid)
                setattr(sender, _P + "rtp_history", history)
                await _compiled_loop(sender, codec, fast, timestamp_origin, clock)
            else:
                await _python_loop(sender, codec, sequence_number, timestamp_origin)
        except (asyncio.CancelledError, ConnectionError, MediaStreamError):
            pass
        except Exception:
            # As aiortc's loop: the exit must be flagged, or stopping the sender hangs.
            logger.warning(traceback.format_exc())
        track = getattr(sender, _P + "track")
        if track is not None:
            track.stop()
            setattr(sender, _P + "track", None)
        setattr(sender, _P + "encoder", None)
        getattr(sender, _P + "rtp_exited").set()

    sender._run_rtp = run_rtp
    return True


_NTP_EPOCH = 2_208_988_800  # 1900-01-01 to 1970-01-01, s (RFC 5905 §6)


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp (32.32 fixed point), as aiortc's
    ``clock.current_ntp_time`` reads it, without a datetime."""
    now = time.time()
    seconds = int(now)
    return ((seconds + _NTP_EPOCH) << 32) | int((now - seconds) * (1 << 32))


def _frame_times(origin: int, frame: Any) -> tuple[int, int, int]:
    """A frame's RTP timestamp (from the stream's random origin), the NTP time it leaves at
    and that time as abs-send-time (RFC 6051-style 6.18 fixed point)."""
    ntp = ntp_now()
    return (origin + frame.timestamp) & 0xFFFFFFFF, ntp, (ntp >> 14) & 0x00FFFFFF


def _frame_source(sender: Any, codec: Any) -> Callable[[], Awaitable[Any]]:
    """What the loop awaits for the next encoded frame: the track's own ``next_encoded``
    (the tester's replay tracks: the payloads aiortc's packer would make, without a PyAV
    packet), or aiortc's ``_next_encoded_frame``."""
    track = getattr(sender, _P + "track")
    encoded = getattr(track, "next_encoded", None)
    if encoded is None:
        return lambda: sender._next_encoded_frame(codec)

    async def next_frame() -> Any:
        frame = await encoded()
        return frame if sender._enabled else None  # as aiortc: a disabled sender drops it

    return next_frame


_NTP, _RTP_TS, _OCTETS, _PACKETS = (_P + name for name in (
    "ntp_timestamp", "rtp_timestamp", "octet_count", "packet_count"))


def _count(sender: Any, ntp: int, timestamp: int, octets: int, packets: int) -> None:
    """The sender-report counters, as aiortc's loop keeps them (per frame here)."""
    setattr(sender, _NTP, ntp)
    setattr(sender, _RTP_TS, timestamp)
    setattr(sender, _OCTETS, getattr(sender, _OCTETS) + octets)
    setattr(sender, _PACKETS, getattr(sender, _PACKETS) + packets)


class _Wire:
    """Where a compiled sender's frames go once the nominated pair and the keys are up: the
    pair's socket, through ``fast`` (one C call a frame), with the sender-report counters."""

    def __init__(self, sender: Any, fast: compiled_send.FrameSender,
                 timestamp_origin: int) -> None:
        self._sender = sender
        self._dtls = sender.transport
        self._fast = fast
        self._origin = timestamp_origin
        self._session: Any = None
        self._transport: Any = None
        self._fd = -1
        self._pair: Any = None
        self._addr: Any = None

    def pair(self) -> Any:
        """The nominated pair if frames can go the compiled way now, else None."""
        dtls = self._dtls
        pair = dtls.transport._connection._nominated.get(1) if available(dtls) else None
        if pair is None or pair.protocol.transport is None:
            return None
        return pair

    def send(self, frame: Any, pair: Any) -> None:
        timestamp, ntp, abs_send_time = _frame_times(self._origin, frame)
        pair_transport = pair.protocol.transport
        if self._dtls._tx_srtp is not self._session:
            self._session = self._dtls._tx_srtp
            compiled_send.set_session(self._fast, self._session)
        if pair_transport is not self._transport:
            self._transport = pair_transport
            self._fd = compiled_send.socket_fd(pair_transport)
        if pair is not self._pair:  # aioice makes the address tuple anew at each read
            self._pair, self._addr = pair, pair.remote_addr
        # A closing transport drops what it is given: so do we (its descriptor may go).
        octets = self._fast.send(frame.payloads, timestamp, abs_send_time, frame.audio_level,
                                 -1 if pair_transport.is_closing() else self._fd, self._addr,
                                 pair.protocol.error_received)
        _count(self._sender, ntp, timestamp, octets, len(frame.payloads))

    async def fallback(self, frame: Any) -> None:
        """``frame`` through aiortc's ``_send_rtp`` (the pair or the keys are not up)."""
        timestamp, ntp, abs_send_time = _frame_times(self._origin, frame)
        octets = 0
        for data, payload in zip(self._fast.build(frame.payloads, timestamp, abs_send_time,
                                                  frame.audio_level),
                                 frame.payloads, strict=True):
            await self._dtls._send_rtp(data)
            octets += len(payload)
        _count(self._sender, ntp, timestamp, octets, len(frame.payloads))


async def _compiled_loop(sender: Any, codec: Any, fast: compiled_send.FrameSender,
                         timestamp_origin: int, clock: SocketDrain | None) -> None:
    """One C call per frame once the pair and the keys are up; aiortc's ``_send_rtp`` with
    the same packets (and history) before. With the worker's ``clock`` and a track that
    has ``take_due`` (the replay tracks), frames then go from the clock's ticks: no task
    wakes up per frame."""
    wire = _Wire(sender, fast, timestamp_origin)
    take_due = getattr(getattr(sender, _P + "track"), "take_due", None)
    next_frame = _frame_source(sender, codec)
    while True:
        if clock is not None and take_due is not None and wire.pair() is not None:
            await _send_on_ticks(sender, wire, clock, take_due)
            continue  # the pair went away: frame by frame until it is back
        frame = await next_frame()
        if frame is None:
            continue
        pair = wire.pair()
        if pair is not None:
            wire.send(frame, pair)
        else:
            await wire.fallback(frame)


async def _send_on_ticks(sender: Any, wire: _Wire, clock: SocketDrain,
                         take_due: Callable[[float], list[Any]]) -> None:
    """Send the track's due frames at each tick of ``clock`` until the pair goes away
    (returns) or a send fails (raises)."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_tick(now: float) -> None:
        if done.done():
            return
        try:
            frames = take_due(now)
            if not frames:
                return
            pair = wire.pair()
            if pair is None:
                done.set_result(None)  # these frames go nowhere, as on a dropped link
                return
            for frame in frames:
                if sender._enabled:  # as aiortc: a disabled sender drops its frames
                    wire.send(frame, pair)
        except Exception as exc:
            done.set_exception(exc)

    clock.add_ticker(on_tick)
    try:
        await done
    finally:
        clock.discard_ticker(on_tick)


async def _python_loop(sender: Any, codec: Any, sequence_number: int,
                       timestamp_origin: int) -> None:
    """Packet by packet, in Python."""
    history: dict[int, RtpPacket] = getattr(sender, _P + "rtp_history")
    extensions_map = getattr(sender, _P + "rtp_header_extensions_map")
    mid = getattr(sender, _P + "mid")
    dtls = sender.transport
    next_frame = _frame_source(sender, codec)
    while True:
        frame = await next_frame()
        if frame is None:
            continue
        timestamp, ntp, abs_send_time = _frame_times(timestamp_origin, frame)
        last = len(frame.payloads) - 1
        octets = 0
        # The nominated pair, looked up once per frame (nothing awaits in between while
        # it is used; after a fallback await, the frame's later packets fall back too).
        pair = (dtls.transport._connection._nominated.get(1)
                if available(dtls) else None)
        sendto: Any = None
        if pair is not None and pair.protocol.transport is not None:
            sendto, remote_addr = pair.protocol.transport.sendto, pair.remote_addr
            protect = dtls._tx_srtp.protect
        for i, payload in enumerate(frame.payloads):
            packet = RtpPacket(payload_type=codec.payloadType,
                               sequence_number=sequence_number, timestamp=timestamp,
                               ssrc=sender._ssrc, marker=int(i == last), payload=payload)
            packet.extensions.abs_send_time = abs_send_time
            packet.extensions.mid = mid
            if frame.audio_level is not None:
                packet.extensions.audio_level = (False, -frame.audio_level)
            history[sequence_number % RTP_HISTORY_SIZE] = packet
            data = packet.serialize(extensions_map)
            if sendto is not None:
                sendto(protect(data), remote_addr)
            else:
                await dtls._send_rtp(data)
            octets += len(payload)
            sequence_number = (sequence_number + 1) & 0xFFFF
        _count(sender, ntp, timestamp, octets, last + 1)
