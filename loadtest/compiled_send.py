"""The compiled send path of synthetic publishers: a frame's packets in one C call.

``loadtest._compiled_send`` is an optional C extension (setup.py builds it when a compiler
is there). Its ``FrameSender`` writes each packet of a frame as aiortc's
``RtpPacket.serialize(extensions_map)`` would (mid, abs-send-time, audio level: the ids of
the sender's ``HeaderExtensionsMap``), keeps the sequence number, protects with libsrtp's
``srtp_protect`` (the function pointer pylibsrtp holds, on aiortc's own send session) and
sends the frame with one ``sendmmsg`` to the nominated pair on the ICE socket's descriptor.

aiortc answers NACKs from the sender's RTP history (``_retransmit``: ``.get(seq %
RTP_HISTORY_SIZE)``, then the packet's fields); ``LazyHistory`` takes that dict's place and
builds the ``RtpPacket`` from the C ring only when a NACK asks.

Scenario key ``compiled_send`` (on by default, when built) says whether workers use it; the
worker logs which send path it runs.
"""

from __future__ import annotations

from typing import Any

import pylibsrtp
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensionsMap, RtpPacket
from pylibsrtp import Session

from loadtest import srtp_binding


def _binding_mismatch() -> str | None:
    """Why pylibsrtp's or aiortc's internals are not what the C extension expects, if so."""
    why = srtp_binding.mismatch("srtp_protect")
    if why is not None:
        return why
    if not isinstance(getattr(pylibsrtp, "ERRORS", None), list):
        return "pylibsrtp has no ERRORS table"
    if not hasattr(HeaderExtensionsMap(), "_HeaderExtensionsMap__ids"):
        return "aiortc's HeaderExtensionsMap keeps its ids elsewhere"
    return None


try:
    from loadtest._compiled_send import FrameSender
except ImportError as exc:  # not built: no C compiler where it was installed
    FrameSender = None  # type: ignore[assignment,misc]
    UNAVAILABLE_REASON: str | None = str(exc)
else:
    UNAVAILABLE_REASON = _binding_mismatch()
    if UNAVAILABLE_REASON is not None:
        FrameSender = None  # type: ignore[assignment,misc]

#: True when the extension was built and imports.
AVAILABLE = FrameSender is not None

__all__ = ["AVAILABLE", "UNAVAILABLE_REASON", "FrameSender", "LazyHistory", "frame_sender",
           "set_session", "socket_fd"]


def extension_ids(extensions_map: HeaderExtensionsMap) -> tuple[int, int, int] | None:
    """(mid, abs-send-time, audio level) ids of ``extensions_map``, 0 where not negotiated;
    None where aiortc would refuse them (it asserts 0 < id < 256)."""
    ids = extensions_map._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
    found = []
    for value in (ids.mid, ids.abs_send_time, ids.audio_level):
        if not value:  # aiortc: ``and self.__ids.x`` (None or 0: not written)
            found.append(0)
        elif isinstance(value, int) and 0 < value < 256:
            found.append(value)
        else:
            return None
    return found[0], found[1], found[2]


def frame_sender(*, payload_type: int, ssrc: int, sequence_number: int, mid: str | None,
                 extensions_map: HeaderExtensionsMap) -> FrameSender | None:
    """A FrameSender writing what aiortc would for these, or None if it cannot (not built,
    ids or a mid aiortc itself would refuse)."""
    if FrameSender is None:
        return None
    ids = extension_ids(extensions_map)
    encoded = None if mid is None else mid.encode("utf8")
    if ids is None or (encoded is not None and len(encoded) > 255):
        return None
    return FrameSender(payload_type=payload_type, ssrc=ssrc, sequence_number=sequence_number,
                       mid=encoded, mid_id=ids[0], abs_send_time_id=ids[1],
                       audio_level_id=ids[2], history_size=RTP_HISTORY_SIZE)


def set_session(sender: FrameSender, session: Session) -> None:
    """Protect with ``session`` (aiortc's send session) from now on."""
    protect, srtp = srtp_binding.handle(session, "srtp_protect")
    sender.set_srtp(protect=protect, srtp=srtp, session=session,
                    error_type=pylibsrtp.Error, errors=pylibsrtp.ERRORS)


def socket_fd(transport: Any) -> int:
    """The descriptor an ICE socket's transport sends on: the batched reader's own, or the
    event loop transport's socket; -1 if it has none."""
    reader = getattr(transport, "reader", None)
    if reader is not None and isinstance(getattr(reader, "fd", None), int):
        return int(reader.fd)
    sock = transport.get_extra_info("socket")
    return -1 if sock is None else int(sock.fileno())


class LazyHistory:
    """aiortc's RTP history (``seq % RTP_HISTORY_SIZE`` -> RtpPacket) read from a
    FrameSender's ring: ``get`` builds the packet aiortc's loop would have stored."""

    def __init__(self, sender: FrameSender, payload_type: int, ssrc: int,
                 mid: str | None) -> None:
        self._sender = sender
        self._payload_type = payload_type
        self._ssrc = ssrc
        self._mid = mid

    def get(self, index: int, default: RtpPacket | None = None) -> RtpPacket | None:
        entry = self._sender.entry(index)
        if entry is None:
            return default
        sequence_number, timestamp, marker, payload, abs_send_time, level = entry
        packet = RtpPacket(payload_type=self._payload_type, sequence_number=sequence_number,
                           timestamp=timestamp, ssrc=self._ssrc, marker=marker,
                           payload=payload)
        packet.extensions.abs_send_time = abs_send_time
        packet.extensions.mid = self._mid
        if level is not None:
            packet.extensions.audio_level = (False, -level)
        return packet

    def __getitem__(self, index: int) -> RtpPacket:
        packet = self.get(index)
        if packet is None:
            raise KeyError(index)
        return packet

    def __contains__(self, index: object) -> bool:
        return isinstance(index, int) and self._sender.entry(index) is not None

    def __len__(self) -> int:
        return sum(self._sender.entry(i) is not None for i in range(self._sender.history_size))
