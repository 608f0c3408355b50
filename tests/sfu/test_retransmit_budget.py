"""RetransmitBudget: duplicates within a round trip and RTX beyond its share are refused."""

from __future__ import annotations

import random

from sfu.retransmit_budget import RetransmitBudget

PACKET = 1_200


def test_a_packet_asked_again_within_50_ms_is_sent_once() -> None:
    budget = RetransmitBudget(share=0.25)
    assert budget.allow(7, PACKET, media_bytes=1_000_000, now=10.0)
    assert not budget.allow(7, PACKET, media_bytes=1_000_000, now=10.03)
    assert budget.refused_duplicate == 1
    assert budget.allow(7, PACKET, media_bytes=1_000_000, now=10.06)  # the re-send was lost too
    assert budget.allow(8, PACKET, media_bytes=1_000_000, now=10.06)  # another packet: fine


def test_retransmissions_stay_within_their_share_of_the_media() -> None:
    budget = RetransmitBudget(share=0.10, window=1.0, burst=12_000)
    media = 0
    # One second of 0.8 Mbit/s video (100 kB), then a subscriber that NACKs everything.
    media += 100_000
    budget.allow(0, PACKET, media_bytes=media, now=0.0)  # opens the window
    sent = PACKET
    for seq in range(1, 200):
        if budget.allow(seq, PACKET, media_bytes=media, now=0.5):
            sent += PACKET
    assert sent <= 12_000 + 0.10 * media
    assert sent >= 12_000  # the burst is always there
    assert budget.refused_budget > 100


def test_the_budget_refills_with_the_next_window() -> None:
    budget = RetransmitBudget(share=0.10, window=1.0, burst=0)
    assert budget.allow(0, 100, media_bytes=0, now=0.0) is False  # nothing sent yet, no burst
    media = 50_000  # sent during the first window
    assert budget.allow(1, 4_000, media_bytes=media, now=0.9)
    assert not budget.allow(2, 4_000, media_bytes=media, now=0.95)  # 5 kB allowed, 4 kB spent
    # A new window: the last one's media rate carries over before any new media is counted.
    assert budget.allow(3, 4_000, media_bytes=media, now=1.0)


def test_over_a_long_lossy_run_rtx_never_exceeds_share_plus_burst() -> None:
    rng = random.Random(5)
    budget = RetransmitBudget(share=0.10, window=1.0, burst=12_000)
    media = rtx = 0
    now = 0.0
    windows = 0
    last_window = -1
    for seq in range(30_000):  # ~100 s of 300 packets/s
        now += 1 / 300
        media += PACKET
        if int(now) != last_window:
            windows += 1
            last_window = int(now)
        for _ in range(rng.choice((0, 0, 0, 1, 3))):  # heavy, bursty NACKing
            asked = seq - rng.randrange(0, 40)
            if budget.allow(asked, PACKET, media_bytes=media, now=now):
                rtx += PACKET
    assert rtx <= 0.10 * media * 1.1 + 12_000 * windows
    assert rtx >= 0.05 * media  # and the budget is actually used
