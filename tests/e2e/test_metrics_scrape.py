"""Issue 11: /metrics of a real node while real aiortc peers join and leave.

Totals never go down when a peer leaves, a room's label sets go when the room ends, and
the join / offer-answer / first-packet histograms fill as people join.
"""

from __future__ import annotations

import pytest

from signaling.node import Node
from tests.e2e.conftest import Client, MakeParticipant
from tests.helpers import wait_for
from tests.scrape import Scrape, scrape, value, with_label

pytestmark = pytest.mark.media


def _counters(page: Scrape) -> Scrape:
    return {k: v for k, v in page.items() if k[0].endswith("_total")}


def assert_no_counter_went_down(before: Scrape, after: Scrape, *, gone_room: str = "") -> None:
    for key, old in _counters(before).items():
        if gone_room and ("room", gone_room) in key[1]:
            assert key not in after, f"{key} outlived its room"
            continue
        assert key in after, f"{key} disappeared"
        assert after[key] >= old, f"{key} went down: {old} -> {after[key]}"


async def test_counters_survive_leaves_and_histograms_fill(
    client: Client, node: Node, participants: MakeParticipant
) -> None:
    ann, bob, cat = [await participants(n, i) for i, n in enumerate(("ann", "bob", "cat"))]
    for p in (ann, bob, cat):
        await p.join("shop")
    for p in (ann, bob, cat):
        for other in (ann, bob, cat):
            if other is not p:
                await wait_for(lambda p=p, o=other: p.peer.video_from(o.id).frames >= 10,
                               timeout=20)
    before = await scrape(client)
    assert value(before, "coshop_join_seconds_count") == 3
    assert value(before, "coshop_offer_answer_seconds_count") >= 3
    # Every joiner receives two others' video: six video subscriptions started.
    assert value(before, "coshop_sfu_first_packet_seconds_count", kind="video") >= 6
    assert value(before, "coshop_sfu_first_packet_seconds_count", kind="audio") >= 6
    assert value(before, "coshop_event_loop_lag_distribution_seconds_count") > 0
    assert "coshop_event_loop_lag_seconds" in {name for name, _ in before}
    assert value(before, "coshop_room_peers", room="shop") == 3
    cat_video = value(before, "coshop_track_packets_in_total",
                      room="shop", participant=cat.id, kind="video")
    assert cat_video > 0
    assert value(before, "coshop_sfu_packets_out_total") >= value(
        before, "coshop_room_packets_out_total", room="shop") > 0
    # Every packet forwarded to someone was one timed fan-out; the +Inf bucket holds them all.
    fanouts = value(before, "coshop_sfu_fanout_seconds_count")
    assert 0 < fanouts <= value(before, "coshop_sfu_packets_in_total")
    assert value(before, "coshop_sfu_fanout_seconds_bucket", le="+Inf") == fanouts
    assert 0 < value(before, "coshop_sfu_fanout_seconds_sum") < fanouts * 0.05
    # The pacer's send cost was measured here, not left at its starting guess.
    send_cost = value(before, "coshop_sfu_send_cost_seconds")
    assert send_cost != 25e-6 and 2e-6 <= send_cost <= 200e-6

    await cat.close()  # a publisher leaves: its own and its subscriptions' figures stay
    await wait_for(lambda: node.sfu.stats()["peers"] == 2, timeout=10)
    after_leave = await scrape(client)
    assert_no_counter_went_down(before, after_leave)
    assert value(after_leave, "coshop_room_peers", room="shop") == 2
    assert value(after_leave, "coshop_track_packets_in_total",
                 room="shop", participant=cat.id, kind="video") >= cat_video

    await ann.close()
    await bob.close()
    await wait_for(lambda: node.sfu.get_room("shop") is None, timeout=10)
    ended = await scrape(client)
    # The room's label sets went with it; the node's totals kept its figures.
    assert with_label(ended, "room", "shop") == {}
    assert_no_counter_went_down(after_leave, ended, gone_room="shop")
    for figure in ("packets_in", "packets_out", "bytes_out"):
        assert value(ended, f"coshop_sfu_{figure}_total") >= value(
            after_leave, f"coshop_room_{figure}_total", room="shop")
