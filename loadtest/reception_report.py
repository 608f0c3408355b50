"""What a receiver tells a sender about one received stream: RTCP reception statistics and
the report block built from them (RFC 3550 §6.4.1-6.4.2, Appendix A.3 and A.8), sans-IO.

Browsers send one such block per received media SSRC at a steady pace; libwebrtc's
RTCPSender does it every 1 s for video and 5 s for audio, each interval drawn from
[0.5, 1.5] times that (RFC 3550 §6.2 randomisation). The block's LSR/DLSR answer the
stream's last sender report, which is how the sender learns the round-trip time (§6.4.1).
"""

from __future__ import annotations

import random

from aiortc.rtp import RtcpReceiverInfo

from loadtest.receive_state import StatisticsCore

VIDEO_REPORT_INTERVAL_S = 1.0  # libwebrtc kDefaultVideoReportInterval
AUDIO_REPORT_INTERVAL_S = 5.0  # libwebrtc kDefaultAudioReportInterval
_MAX_LOST = 0x7FFFFF  # cumulative loss is a signed 24-bit field (RFC 3550 §6.4.1)
_MIN_LOST = -0x800000


def middle_ntp(ntp_timestamp: int) -> int:
    """The middle 32 bits of a 64-bit NTP timestamp: an SR's ``LSR`` (RFC 3550 §6.4.1)."""
    return (ntp_timestamp >> 16) & 0xFFFFFFFF


def next_report_delay(interval: float, rng: random.Random | None = None) -> float:
    """When the next report is due: ``interval`` times a draw from [0.5, 1.5] (§6.2)."""
    return interval * (0.5 + (rng or random).random())


class ReceptionStatistics(StatisticsCore):
    """RFC 3550 Appendix A reception statistics of one media SSRC, and its report blocks.

    Its fields are ``StatisticsCore``'s (``__slots__`` names them), C fields when built
    (``loadtest.receive_state``).
    """

    def __init__(self, clock_rate: int) -> None:
        self._clock_rate = clock_rate
        self._base: int | None = None  # the first sequence number, unwrapped (A.1 base_seq)
        self._top = 0  # the highest sequence number, unwrapped (A.1 cycles + max_seq)
        self._received = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._last_transit: float | None = None
        self.jitter = 0.0  # interarrival jitter in timestamp units (A.8)
        self._last_sr: int | None = None
        self._last_sr_at = 0.0

    def on_packet(self, seq: int, timestamp: int, now: float, *, retransmitted: bool) -> None:
        """Account a packet (its 16-bit sequence number, RTP timestamp and arrival time).
        A retransmission counts as received but not for jitter: it left the sender late."""
        if self._base is None:
            self._base = self._top = seq
        else:
            delta = (seq - self._top) & 0xFFFF
            if delta < 0x8000:
                self._top += delta
            elif self._top - (0x10000 - delta) < self._base:
                self._base = self._top - (0x10000 - delta)  # reordered before the first
        self._received += 1
        if retransmitted:
            return
        # A.8: transit in timestamp units; the estimate moves 1/16 of the way to each |D|.
        transit = now * self._clock_rate - timestamp
        if self._last_transit is not None:
            d = abs(transit - self._last_transit)
            self.jitter += (d - self.jitter) / 16
        self._last_transit = transit

    def on_sender_report(self, ntp_timestamp: int, now: float) -> None:
        """The stream's sender sent an SR with ``ntp_timestamp``; it arrived at ``now``."""
        self._last_sr = middle_ntp(ntp_timestamp)
        self._last_sr_at = now

    @property
    def has_packets(self) -> bool:
        return self._base is not None

    def report_block(self, ssrc: int, now: float) -> RtcpReceiverInfo:
        """The report block for ``ssrc`` now; starts the next fraction-lost interval (A.3)."""
        base = self._top if self._base is None else self._base
        expected = self._top - base + 1 if self._base is not None else 0
        lost = max(_MIN_LOST, min(_MAX_LOST, expected - self._received))
        expected_interval = expected - self._expected_prior
        received_interval = self._received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self._received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = (lost_interval << 8) // expected_interval
        lsr = dlsr = 0
        if self._last_sr is not None:
            lsr = self._last_sr
            # DLSR in units of 1/65536 s (§6.4.1); 0 would read as "no SR received".
            dlsr = min(max(int((now - self._last_sr_at) * 65536), 0), 0xFFFFFFFF)
        return RtcpReceiverInfo(
            ssrc=ssrc,
            fraction_lost=min(fraction, 255),
            packets_lost=lost,
            highest_sequence=self._top & 0xFFFFFFFF,
            jitter=int(self.jitter) & 0xFFFFFFFF,
            lsr=lsr,
            dlsr=dlsr,
        )
