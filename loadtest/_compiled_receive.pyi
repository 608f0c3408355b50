"""Types of the C extension built from loadtest/_compiled_receive.c."""

from collections.abc import Callable
from typing import Any

from pylibsrtp import Session

class PacketReader:
    """One connection's received SRTP: unprotect and account, one call per packet."""

    def __init__(
        self,
        *,
        unprotect: int,
        srtp: int,
        session: Session,
        original: Any,
        handler: Callable[[bytes, float], None],
        rtx_of: dict[int, int],
        ssrc_slots: dict[int, dict[str, Any]],
        streams: dict[int, Any],
        repair_packet: Callable[..., None],
        on_stamp: Callable[[str, float], None],
        stamp_type: type,
        report_delay: Callable[[float], float],
        max_age: int,
    ) -> None: ...
    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None: ...
    def on_rtp(self, data: bytes, now: float) -> None: ...
    @property
    def fast(self) -> int: ...
    @property
    def slow(self) -> int: ...

class SocketReader:
    """An ICE socket read in batches: SRTP through a PacketReader, the rest handed on."""

    def __init__(
        self,
        *,
        fd: int,
        reader: PacketReader,
        error_received: Callable[[Exception], None],
        clock: Callable[[], float] | None = None,
    ) -> None: ...
    def read_ready(self) -> int: ...
    def sendto(self, data: bytes, addr: tuple[Any, ...]) -> None: ...
    def close(self) -> None: ...
    @property
    def fd(self) -> int: ...
    @property
    def datagrams(self) -> int: ...
    @property
    def batches(self) -> int: ...
    @property
    def truncated(self) -> int: ...

# The hot receive state's C bases (loadtest.receive_state); their subclasses type the fields.

class RouteCore:
    """loadtest.metrics.RouteStats' per-packet fields, in C."""

class StatisticsCore:
    """loadtest.reception_report.ReceptionStatistics' fields, in C."""

    __slots__: tuple[str, ...]

class UnwrapCore:
    """loadtest.nack.SequenceUnwrapper's field, in C."""

    __slots__: tuple[str, ...]

class NackCore:
    """loadtest.nack.NackRequester's per-packet field, in C."""

    __slots__: tuple[str, ...]

class StreamCore:
    """loadtest.receiver._Stream's fields, in C."""

    __slots__: tuple[str, ...]

class ReceptionCore:
    """loadtest.receiver._Reception's fields, in C."""

    __slots__: tuple[str, ...]

class RepairCore:
    """loadtest.receiver._Repair's per-packet fields, in C."""

    __slots__: tuple[str, ...]
