"""Types of the C extension built from sfu/_compiled_egress.c."""

from asyncio import DatagramTransport
from typing import Any

from pylibsrtp import Session

class SrtpError(RuntimeError): ...

class PacketSender:
    """One negotiated stream's header, SRTP session and socket, one call per packet."""

    def __init__(
        self,
        *,
        ssrc: int,
        payload_type: int,
        mid_element: bytes,
        abs_send_time_id: int,
        audio_level_id: int,
        protect: int,
        srtp: int,
        session: Session,
        fd: int,
        family: int,
        remote_addr: tuple[str, int],
        transport: DatagramTransport,
    ) -> None: ...
    def send(
        self,
        marker: bool,
        seq: int,
        ts: int,
        payload: bytes,
        abs_send_time: int | None,
        audio_level: tuple[bool, int] | None,
        /,
    ) -> tuple[bytes, int]: ...
    @property
    def direct(self) -> int: ...
    @property
    def through_transport(self) -> int: ...

class StreamRewriter:
    """sfu.stream_rewriter.StreamRewriter in C: the same API, state and outputs."""

    needs_keyframe: bool
    def __init__(self, *, first_seq: int, first_ts: int, ts_step: int, video: bool) -> None: ...
    @property
    def started(self) -> bool: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def last_ts(self) -> int: ...
    def waiting_for_keyframe(self) -> bool: ...
    def switch_source(self, *, video: bool) -> None: ...
    def forwarded_since(self, seq: int, /) -> bool: ...
    def restart_at_keyframe(self) -> None: ...
    def rewrite(self, seq: int, ts: int, keyframe_start: bool, /) -> tuple[int, int] | None: ...
    def _state(self) -> dict[str, int | bool]: ...

class ForwardCopy:
    """One forwarder's state for fan_out: rewriter, bound sender, history, counters."""

    #: The forwarder's state allows the compiled way (it keeps this up to date).
    ready: bool
    def __init__(
        self,
        *,
        rewriter: StreamRewriter,
        sender: Any,
        history_size: int,
        layered: bool,
    ) -> None: ...
    def bind(
        self,
        *,
        packet_sender: PacketSender,
        nominated: dict[int, Any],
        pair: object,
        dtls: object,
        connected: object,
        srtp: Session,
        transport: DatagramTransport,
    ) -> None: ...
    def unbind(self) -> None: ...
    def sent(
        self,
        seq: int,
        ts: int,
        marker: bool,
        payload: bytes,
        abs_send_time: int | None,
        audio_level: tuple[bool, int] | None,
        packet_len: int,
        ntp: int,
        /,
    ) -> None: ...
    def kept(
        self, seq: int, /
    ) -> tuple[int, int, bool, bytes, int | None, tuple[bool, int] | None] | None: ...
    @property
    def packets_sent(self) -> int: ...
    @property
    def bytes_sent(self) -> int: ...
    @property
    def fast(self) -> int: ...
    @property
    def report(self) -> tuple[int, int, int, int]: ...
    @property
    def packet_sender(self) -> PacketSender | None: ...

def fan_out(
    forwarders: list[Any],
    seq: int,
    ts: int,
    marker: bool,
    payload: bytes,
    keyframe_start: bool,
    abs_send_time: int | None,
    audio_level: tuple[bool, int] | None,
    ntp: int,
    layered: bool,
    /,
) -> list[tuple[Any, BaseException | None]] | None: ...
