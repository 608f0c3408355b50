"""An edge's relay of a live room's stage: one receive-only peer connection to the origin.

The origin offers the edge every stage track (the edge is a hidden, receive-only subscriber
there, like any viewer, with every m-line bundled); the edge answers, and each received
m-line becomes a TrackSource of the edge's MediaRoom, fanned out to the edge's local viewers
by the same forwarding as a publisher's track. Nothing is decoded. A viewer's keyframe
request (PLI) reaches the edge's TrackSource, whose throttled PLI goes up the relay to the
origin, whose subscription asks the publisher (throttled again); losses are repaired hop by
hop: the edge NACKs the origin (sfu.upstream_repair), viewers NACK the edge.

The transport is DTLS-SRTP like every aiortc connection (RFC 5764): nothing crosses in the
clear. Which stage member an m-line carries is told by the origin's slot map (``set_slots``):
an m-line keeps its SSRC when it carries the next guest, so its TrackSource is re-owned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

from sfu.compat import check_transceiver
from sfu.media_room import MediaRoom
from sfu.pc_close import close_peer_connection
from sfu.slot import Slot
from sfu.track_source import TrackSource

logger = logging.getLogger(__name__)


def assigned_sources(
    slots: Sequence[Slot], sources: dict[str, TrackSource]
) -> list[tuple[str, TrackSource]]:
    """(stage member, source) of every m-line that carries someone now (sans-IO)."""
    out: list[tuple[str, TrackSource]] = []
    for slot in slots:
        source = sources.get(slot.mid)
        if source is not None and slot.source is not None and slot.direction != "inactive":
            out.append((slot.source, source))
    return out


class RelayIngest:
    """The edge side of one relay connection; feeds ``room`` until ``close``."""

    def __init__(self, room: MediaRoom) -> None:
        self.room = room
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        #: A TrackSource per m-line (by mid), made when the m-line first appears.
        self.sources: dict[str, TrackSource] = {}
        self._slots: list[Slot] = []
        self._closed = False

    async def answer(self, sdp: str, slots: Sequence[Slot]) -> str:
        """Apply the origin's offer and return the edge's answer (SDP)."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        for transceiver in self.pc.getTransceivers():
            mid = transceiver.mid
            if mid is None or mid in self.sources:
                continue
            check_transceiver(transceiver)
            # Hooked now, before setLocalDescription lets aiortc start the receiver.
            source = self.room.relay_source(
                transceiver.receiver, transceiver.kind, on_first_packet=self._started
            )
            self.sources[mid] = source
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        self.set_slots(slots)
        return str(self.pc.localDescription.sdp)

    def set_slots(self, slots: Sequence[Slot]) -> None:
        """The origin's slot map changed: (re)assign each m-line's stage member."""
        self._slots = list(slots)
        self._publish()

    def _started(self, source: TrackSource) -> None:
        self._publish()  # media flows on an m-line: its viewers can be offered it

    def _publish(self) -> None:
        if self._closed:
            return
        self.room.set_relayed(assigned_sources(self._slots, self.sources))

    async def close(self) -> None:
        """Take the relayed tracks out of the room and close the connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.room.set_relayed([])
        for source in self.sources.values():
            await source.close()
        self.room.relay_closed(list(self.sources.values()))
        await close_peer_connection(self.pc)

    def transport(self) -> dict[str, str]:
        """The relay's transport as aiortc holds it: its DTLS state, and whether an SRTP
        session was keyed from the DTLS handshake (RFC 5764 §4.2), for /healthz and tests."""
        for transceiver in self.pc.getTransceivers():
            dtls = transceiver.receiver.transport
            srtp = dtls._rx_srtp is not None
            return {"dtls": str(dtls.state), "srtp": "on" if srtp else "off"}
        return {"dtls": "new", "srtp": "off"}
