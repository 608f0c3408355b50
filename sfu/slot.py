"""What the signaling layer is told about each m-line of a peer connection."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Slot:
    """One m-line: ``recvonly`` = the participant publishes here, ``sendonly`` = it
    receives ``source``'s track here (``source`` None: nothing for now; the m-line waits
    for the next publisher)."""

    mid: str
    kind: str
    direction: str
    source: str | None


@dataclass(frozen=True, slots=True)
class Offer:
    """A server-made SDP offer and the meaning of each of its m-lines."""

    sdp: str
    slots: list[Slot] = field(default_factory=list)
