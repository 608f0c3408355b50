"""How the media plane tells its owner (signaling) what happened to a peer."""

from __future__ import annotations

from typing import Protocol

from sfu.slot import Offer, Slot


class PeerListener(Protocol):
    """Callbacks of one peer; each is awaited on the SFU's event loop."""

    async def on_offer(self, offer: Offer) -> None:
        """Deliver this offer to the participant; its answer goes to Peer.set_answer."""
        ...

    async def on_slots(self, slots: list[Slot]) -> None:
        """The participant's m-lines carry other sources now (no offer needed)."""
        ...

    async def on_track_published(self, peer_id: str, kind: str) -> None:
        """The participant's ``kind`` track started flowing into the SFU."""
        ...

    async def on_closed(self, peer_id: str, reason: str) -> None:
        """The peer connection ended (e.g. ICE failed); the peer is already removed."""
        ...
