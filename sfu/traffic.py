"""Forwarding totals that never go down, per track, per room and per node (sans-IO).

The hot path only bumps plain integer attributes on ``TrackSource`` and ``TrackForwarder``.
A ``TrafficLedger`` sums the sources still open when it is read, and folds a source's
final figures in once when its peer has closed, so a peer leaving never lowers a total.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Protocol

#: A published track: (publishing participant id, "audio" | "video").
TrackKey = tuple[str, str]


@dataclass(slots=True)
class Traffic:
    """What flowed through the SFU for one track (or a sum of tracks)."""

    packets_in: int = 0  # RTP packets received from the publisher (RTX unwrapped)
    bytes_in: int = 0  # their payload bytes
    packets_out: int = 0  # RTP packets forwarded to subscribers
    bytes_out: int = 0  # their bytes (RTP header included, before SRTP)
    nacks_received: int = 0  # sequence numbers NACKed by subscribers (RFC 4585 §6.2.1)
    retransmissions: int = 0  # packets re-sent for those NACKs (RTX, RFC 4588)
    retransmissions_refused: int = 0  # NACKed packets not re-sent: asked again too soon, or
    # over the subscriber's RTX budget (sfu/retransmit_budget.py)
    plis_received: int = 0  # PLI/FIR from subscribers (RFC 4585 §6.3.1, RFC 5104 §4.3.1)
    keyframe_requests: int = 0  # keyframes wanted for any reason (before throttling)
    plis_sent: int = 0  # PLIs sent to the publisher (after throttling)
    nacks_sent: int = 0  # sequence numbers the SFU NACKed upstream (its own repair)
    unrepaired: int = 0  # upstream holes given up on (a keyframe restart followed)
    repaired_late: int = 0  # holes repaired only after asking more than once
    layer_drops: int = 0  # VP8 packets of temporal layers above a subscriber's target, not sent
    copy_failures: int = 0  # copies whose forwarding raised (logged once per forwarder)
    bytes_in_layer1: int = 0  # of bytes_in: VP8 temporal layer 1 (layer 0 is the rest)
    bytes_in_layer2: int = 0  # of bytes_in: VP8 temporal layer 2

    def add(self, other: Traffic) -> None:
        """Add ``other`` into this one (spelt out: a scrape calls it per forwarder)."""
        self.packets_in += other.packets_in
        self.bytes_in += other.bytes_in
        self.packets_out += other.packets_out
        self.bytes_out += other.bytes_out
        self.nacks_received += other.nacks_received
        self.retransmissions += other.retransmissions
        self.retransmissions_refused += other.retransmissions_refused
        self.plis_received += other.plis_received
        self.keyframe_requests += other.keyframe_requests
        self.plis_sent += other.plis_sent
        self.nacks_sent += other.nacks_sent
        self.unrepaired += other.unrepaired
        self.repaired_late += other.repaired_late
        self.layer_drops += other.layer_drops
        self.copy_failures += other.copy_failures
        self.bytes_in_layer1 += other.bytes_in_layer1
        self.bytes_in_layer2 += other.bytes_in_layer2

    def copy(self) -> Traffic:
        out = Traffic()
        out.add(self)
        return out


TRAFFIC_FIELDS = tuple(f.name for f in fields(Traffic))
"""The names of Traffic's figures, in order."""


class Metered(Protocol):
    """A published track as the ledger sees it (TrackSource fits)."""

    owner: str
    kind: str

    def traffic(self) -> Traffic: ...


class TrafficLedger:
    """Totals of a set of tracks: the open ones read live, the closed ones folded in once.

    With ``per_track`` the closed figures are kept per ``TrackKey`` (a room's ledger, dropped
    with the room); without it only their sum is kept (the node's, which lives forever).
    """

    def __init__(self, *, per_track: bool) -> None:
        self._per_track = per_track
        self._live: set[Metered] = set()
        self._closed = Traffic()
        self._closed_tracks: dict[TrackKey, Traffic] = {}

    def open(self, source: Metered) -> None:
        """Count ``source`` from now on."""
        self._live.add(source)

    def close(self, source: Metered) -> None:
        """Fold ``source``'s final figures in (idempotent; call once nothing more flows)."""
        if source not in self._live:
            return
        self._live.discard(source)
        final = source.traffic()
        self._closed.add(final)
        if self._per_track:
            self._closed_tracks.setdefault((source.owner, source.kind), Traffic()).add(final)

    def total(self) -> Traffic:
        """Everything counted so far."""
        out = self._closed.copy()
        for source in self._live:
            out.add(source.traffic())
        return out

    def by_track(self) -> dict[TrackKey, Traffic]:
        """Per track (closed ones too, when ``per_track``); a rejoining participant's track
        continues its predecessor's figures."""
        out = {key: t.copy() for key, t in self._closed_tracks.items()}
        for source in self._live:
            out.setdefault((source.owner, source.kind), Traffic()).add(source.traffic())
        return out
