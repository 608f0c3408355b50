"""A subscriber's downlink bandwidth, as its REMB feedback says (sans-IO).

A receiver estimates the bit rate it can take from the arrival times of packets stamped
with abs-send-time, and reports it in a REMB message (draft-alvestrand-rmcat-remb-03 §2,
an RTCP PSFB message of FMT 15): one number for the SSRCs it lists. Chromium sends one
report for all of a connection's streams; aiortc's receivers send one per video track.
"""

from __future__ import annotations

#: A report older than this no longer says anything about the link (receivers report
#: about once a second while media flows, sooner when the estimate drops).
REMB_MAX_AGE = 5.0


class DownlinkEstimate:
    """The sum of the latest REMB report about each set of streams."""

    __slots__ = ("_reports",)

    def __init__(self) -> None:
        self._reports: dict[frozenset[int], tuple[int, float]] = {}

    def on_remb(self, bitrate: int, ssrcs: list[int], now: float) -> None:
        """A REMB of ``bitrate`` bit/s about ``ssrcs`` arrived at ``now``."""
        key = frozenset(ssrcs)
        # A report replaces every earlier one about any of the same streams (a browser's
        # next report lists one more stream once it receives one more).
        stale = [k for k in self._reports if k & key]
        for k in stale:
            del self._reports[k]
        self._reports[key] = (bitrate, now)

    def bitrate(self, now: float) -> int | None:
        """The estimate in bit/s, or None without a recent report (then: no limit known)."""
        fresh = [rate for rate, at in self._reports.values() if now - at <= REMB_MAX_AGE]
        return sum(fresh) if fresh else None
