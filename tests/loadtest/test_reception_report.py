"""Reception statistics and report blocks (RFC 3550 §6.4.1, A.3, A.8), without sockets."""

from __future__ import annotations

import random

from aiortc import rtp as aiortc_rtp

from loadtest.reception_report import ReceptionStatistics, middle_ntp, next_report_delay

SSRC = 1234


def test_lsr_is_the_middle_of_the_last_sr_and_dlsr_the_delay_since_in_1_65536_s() -> None:
    stats = ReceptionStatistics(90000)
    stats.on_packet(1, 0, 100.0, retransmitted=False)
    ntp = (0x12345678 << 32) | 0x9ABCDEF0
    stats.on_sender_report(ntp, 100.0)
    block = stats.report_block(SSRC, 101.25)
    assert block.lsr == 0x56789ABC == middle_ntp(ntp)
    assert block.dlsr == int(1.25 * 65536)
    # The sender's RTT (§6.4.1): arrival - LSR - DLSR, in the same units; here none passed.
    assert (middle_ntp(ntp) + int(1.25 * 65536) - block.lsr - block.dlsr) == 0


def test_without_a_sender_report_lsr_and_dlsr_are_zero() -> None:
    stats = ReceptionStatistics(48000)
    stats.on_packet(7, 0, 1.0, retransmitted=False)
    block = stats.report_block(SSRC, 2.0)
    assert (block.lsr, block.dlsr) == (0, 0)


def test_loss_fraction_per_interval_and_cumulative_across_a_wrap() -> None:
    stats = ReceptionStatistics(90000)
    seqs = [65530 + i for i in range(20)]  # wraps after 65535
    for i, seq in enumerate(seqs):
        if i not in (3, 4, 5, 6, 7):  # five lost of twenty
            stats.on_packet(seq & 0xFFFF, i * 3000, 10 + i / 30, retransmitted=False)
    first = stats.report_block(SSRC, 11.0)
    assert first.packets_lost == 5
    assert first.fraction_lost == (5 << 8) // 20
    assert first.highest_sequence == 65530 + 19  # one cycle: 0x1_0000 + 13
    # One of them is retransmitted: cumulative loss falls, this interval's fraction is 0.
    stats.on_packet(65533, 3 * 3000, 11.5, retransmitted=True)
    for i in range(20, 30):
        stats.on_packet((65530 + i) & 0xFFFF, i * 3000, 10 + i / 30, retransmitted=False)
    second = stats.report_block(SSRC, 12.0)
    assert second.packets_lost == 4 and second.fraction_lost == 0
    assert second.highest_sequence == 65530 + 29
    # The block survives aiortc's serialisation.
    rr = aiortc_rtp.RtcpRrPacket(ssrc=1, reports=[second])
    (parsed,) = aiortc_rtp.RtcpPacket.parse(bytes(rr))
    assert isinstance(parsed, aiortc_rtp.RtcpRrPacket) and parsed.reports == [second]


def test_jitter_follows_a_8_and_ignores_retransmissions() -> None:
    stats = ReceptionStatistics(90000)
    # Packets 1/30 s apart in timestamp; every other one arrives 10 ms late.
    for i in range(400):
        late = 0.01 if i % 2 else 0.0
        stats.on_packet(i, i * 3000, 5 + i / 30 + late, retransmitted=False)
    # |D| is 900 units each time: the estimate converges to 900.
    assert abs(stats.jitter - 900) < 1
    stats.on_packet(3, 3 * 3000, 100.0, retransmitted=True)  # very late, not counted
    assert abs(stats.jitter - 900) < 1
    assert stats.report_block(SSRC, 20.0).jitter in (899, 900)


def test_report_delay_is_randomised_around_the_interval() -> None:
    rng = random.Random(1)
    delays = [next_report_delay(1.0, rng) for _ in range(1000)]
    assert min(delays) >= 0.5 and max(delays) <= 1.5
    assert 0.45 < sum(delays) / len(delays) - 0.5 < 0.55
