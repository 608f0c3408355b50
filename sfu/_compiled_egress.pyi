"""Types of the C extension built from sfu/_compiled_egress.c."""

from asyncio import DatagramTransport

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
