"""Types of the C extension built from loadtest/_compiled_send.c."""

from collections.abc import Callable, Sequence
from typing import Any

class FrameSender:
    """One RTP stream's send path: a frame's packets built, protected and sent at once."""

    def __init__(
        self,
        *,
        payload_type: int,
        ssrc: int,
        sequence_number: int,
        mid: bytes | None,
        mid_id: int,
        abs_send_time_id: int,
        audio_level_id: int,
        history_size: int,
    ) -> None: ...
    def build(self, payloads: Sequence[bytes], timestamp: int, abs_send_time: int,
              audio_level: int | None, /) -> list[bytes]: ...
    def send(self, payloads: Sequence[bytes], timestamp: int, abs_send_time: int,
             audio_level: int | None, fd: int, addr: tuple[Any, ...],
             error_received: Callable[[Exception], None], /) -> int: ...
    def set_srtp(self, *, protect: int, srtp: int, session: Any, error_type: type,
                 errors: list[str]) -> None: ...
    def entry(self, index: int, /) -> tuple[int, int, int, bytes, int, int | None] | None: ...
    @property
    def sequence_number(self) -> int: ...
    @property
    def history_size(self) -> int: ...
    @property
    def packets(self) -> int: ...
    @property
    def frames(self) -> int: ...
    @property
    def sent(self) -> int: ...
    @property
    def dropped(self) -> int: ...
