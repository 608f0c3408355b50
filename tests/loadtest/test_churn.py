"""Issue 18: people coming and going never disturb the others.

A full room of real aiortc peers (the load tester's, each in worker processes apart from the
server) publishes and receives while peers leave and rejoin; every video route's frames are
timed on arrival (W3C webrtc-stats freeze rule: an inter-frame gap above max(3 x the mean
interval, mean + 150 ms)). A long freeze, a route that freezes again and again, or a rejoin that
meets ``room_full`` (a seat still held by the leaver's own previous session) fails the test.

Two causes found with this set-up (the load tester, 360p): every change renegotiated every
other participant (now a ``slots`` message), and asyncio's loop read one datagram per socket
per loop turn, so a slower turn left media queued in the kernel for seconds (now uvloop, in the
server and in the tester's workers).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.loadtest.conftest import Server, loadtest

pytestmark = pytest.mark.media

PEERS = 10
CHURN = 0.15  # a leave and a rejoin every ~7 s
DURATION = 45
WARMUP = 8  # the room filling up (ten joins at once) is not what is measured here


async def test_a_full_room_with_churn_never_freezes_the_others(
    own_server: Server, tmp_path: Path
) -> None:
    out = tmp_path / "churn.json"
    # 180p: a full room at 360p plus its ten peers is this 2-core machine's whole capacity,
    # and a saturated machine freezes video whatever the server does.
    result = await loadtest(
        "--url", own_server.url, "--rooms", "1", "--peers", str(PEERS), "--preset", "180p",
        "--duration", f"{DURATION}s", "--warmup", f"{WARMUP}s", "--churn", str(CHURN),
        "--workers", "2", "--json", str(out),
        seconds=DURATION + 60,
    )
    report = json.loads(out.read_text())
    summary = result.stdout[-3000:]
    assert report["peers"]["churned"] >= 3, summary  # the room really changed
    assert report["errors"]["count"] == 0, report["errors"]  # room_full would show here
    assert report["peers"]["active"] == PEERS, summary  # every seat taken again at the end
    video = [d for d in report["routes_detail"] if d["kind"] == "video"]
    gaps = [gap for d in video for _end, gap in d["freeze_log"]]
    figures = (
        f"{report['freezes']['count']} freezes across {report['peers']['churned']} changes, "
        f"longest {max(gaps, default=0):.2f} s (latency p99 {report['latency_ms']['p99']:.0f} ms, "
        f"load at end {report['load_average_at_end']})"
    )
    # Before the fixes each change froze nearly every continuing route for 0.3 s to seconds
    # (a renegotiation of everyone; media queued in the kernel behind a slow loop turn).
    # Left now, now and then: one publisher's routes stall ~0.2 s once, cause not found
    # (issue 18 stays open for it). So: no long freeze, and no route freezing again and again.
    assert max(gaps, default=0) < 0.4, figures
    repeated = [(d["receiver"], d["source"], d["freezes"]) for d in video if d["freezes"] > 2]
    assert not repeated, f"{figures}: {repeated}\n{summary}"
