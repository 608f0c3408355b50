"""TrafficLedger: totals that a closing track never lowers (sans-IO)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sfu.traffic import TRAFFIC_FIELDS, Traffic, TrafficLedger


@dataclass(eq=False)
class FakeSource:
    owner: str
    kind: str
    now: Traffic = field(default_factory=Traffic)

    def traffic(self) -> Traffic:
        return self.now.copy()


def test_closing_a_track_keeps_its_figures() -> None:
    room, node = TrafficLedger(per_track=True), TrafficLedger(per_track=False)
    a, b = FakeSource("a", "video"), FakeSource("b", "audio")
    for ledger in (room, node):
        ledger.open(a)
        ledger.open(b)
    a.now.packets_in, a.now.packets_out, b.now.packets_in = 10, 20, 5
    assert room.total().packets_in == node.total().packets_in == 15
    for ledger in (room, node):
        ledger.close(a)
        ledger.close(a)  # idempotent
    a.now.packets_in = 99  # late packets after the fold are not counted twice
    assert room.total() == node.total() == Traffic(packets_in=15, packets_out=20)
    assert room.by_track() == {
        ("a", "video"): Traffic(packets_in=10, packets_out=20),
        ("b", "audio"): Traffic(packets_in=5),
    }
    # The same participant back with a new track: its series continues, never restarts.
    again = FakeSource("a", "video", Traffic(packets_in=3))
    room.open(again)
    assert room.by_track()[("a", "video")].packets_in == 13
    assert node.by_track() == {("b", "audio"): Traffic(packets_in=5)}  # node keeps no history


def test_add_covers_every_figure() -> None:
    ones = Traffic(*range(1, len(TRAFFIC_FIELDS) + 1))
    t = ones.copy()
    t.add(ones)
    assert t == Traffic(*(2 * n for n in range(1, len(TRAFFIC_FIELDS) + 1)))
