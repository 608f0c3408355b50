"""Real calls through the impaired network: coshop serve vs decoding aiortc peers.

2 % loss and 40 ms one-way delay in both directions (80 ms RTT): every lost packet has to
be repaired by NACK/RTX (RFC 4585 §6.2.1, RFC 4588) on the publisher's uplink, the
subscribers' downlinks or both, fast enough that no viewer freezes. The viewers are aiortc
peers and a Chromium page on the web client (its decoder's own frame count, getStats).
"""

from __future__ import annotations

import pytest

from tests.impair.harness import CallResult, impaired_network, namespaces_available
from tests.impair.link import Conditions


def describe(result: CallResult) -> str:
    """Everything measured, for a failing assertion's message."""
    return (
        f"{result.decoded_ratio:.2%} decoded, {result.freezes} freezes, longest "
        f"{result.longest:.2f}s, rtx {result.rtx} ({result.rtx_share:.1%}), "
        f"plis {result.plis}, load {result.load_before}->{result.load_after}, "
        f"router {result.router}, server {result.server}, streams {result.streams}"
    )


@pytest.fixture(autouse=True)
def _namespaces() -> None:
    # A skipped test passes nothing: without network namespaces (root and iproute2, which
    # tests/run.sh installs) this fails and says why.
    problem = namespaces_available()
    if problem is not None:
        pytest.fail(f"the impairment harness cannot run here: {problem}", pytrace=False)


@pytest.mark.timeout(240)
async def test_two_percent_loss_and_40_ms_keeps_every_viewer_decoding() -> None:
    conditions = Conditions(loss=0.02, delay=0.04)
    async with impaired_network() as net:
        result = await net.call(
            conditions.label(),
            publishers=2,
            viewers=2,
            duration=30,
            conditions=conditions,
            # Receivers re-ask every ~RTT like browsers; aiortc's own receiver asks once
            # per new gap, which this SFU cannot change (see tests/impair/clients.py).
            renack=0.1,
            browsers=1,
        )
    detail = describe(result)
    # Chromium received and was measured like the others (one stream per publisher).
    assert sum(s["receiver"].startswith("chromium") for s in result.streams) == 2, detail
    # Loss really happened in both directions, and the SFU repaired it.
    assert all(d["dropped"] > 10 for d in result.router.values()), detail
    assert result.rtx > 0, detail
    # De-duplicated and budgeted (COSHOP_RTX_SHARE): repair costs a few % of the media.
    assert result.rtx_share < 0.10, detail
    if not result.saturated:
        # Four asks about an RTT apart repair everything at 2 % loss.
        assert result.server.get("coshop_sfu_unrepaired_total", 0) == 0, detail
        assert result.decoded_ratio >= 0.99, detail
        assert result.longest <= 0.5, detail
    else:
        # More runnable threads than cores (other jobs on the shared machine): the one
        # client process that encodes and decodes every stream stalls now and then, so
        # only gross failures are told apart, e.g. an unrepaired hole that stalls an
        # aiortc receiver until its 512-packet jitter buffer overflows (10 s and more).
        assert result.decoded_ratio >= 0.90, detail
        assert result.longest <= 5.0, detail


@pytest.mark.timeout(240)
async def test_five_percent_loss_and_40_ms_decodes_nearly_everything() -> None:
    conditions = Conditions(loss=0.05, delay=0.04)
    async with impaired_network() as net:
        result = await net.call(
            conditions.label(),
            publishers=2,
            viewers=1,
            duration=20,
            conditions=conditions,
            renack=0.1,
            browsers=1,
        )
    detail = describe(result)
    assert all(d["dropped"] > 20 for d in result.router.values()), detail
    assert result.rtx_share < 0.10, detail
    # Issue 9: >= 97 % decoded, freezes rare and under 1 s (measured on this machine at
    # load 4.5: 100 %, no freeze, longest gap 0.29 s aiortc / 0.40 s Chromium).
    floor, longest = (0.97, 1.0) if not result.saturated else (0.90, 3.0)
    for s in result.streams:
        assert s["decoded"] >= floor * s["sent"], detail
        assert s["freezes"] <= 1, detail
        assert s["longest"] <= longest, detail


@pytest.mark.timeout(240)
async def test_after_a_two_second_blackout_fresh_video_within_a_second_and_no_stale_burst() -> None:
    blackout = 2.0
    async with impaired_network() as net:
        result = await net.call(
            "2 s blackout",
            publishers=2,
            viewers=1,
            duration=12,
            blackout_after=4,
            blackout=blackout,
            renack=0.1,
            browsers=1,
        )
    detail = describe(result)
    # The hole the silence left upstream was given up at once (nothing NACKed for it) ...
    assert result.server.get("coshop_sfu_unrepaired_total", 0) > 0, detail
    slack = 1.0 if not result.saturated else 2.0
    for s in result.streams:
        # ... so no viewer decodes a burst of seconds-old frames: it cannot decode more
        # than was produced in the window (before: 370 decoded of 271 produced) ...
        assert s["decoded"] <= s["sent"] + 3, detail
        assert s["freezes"] <= 1, detail  # the blackout itself, nothing after
        if s["receiver"].startswith("chromium"):
            # Chromium decodes the restart keyframe within 0.1 s on a quiet machine
            # (longest gap 2.0-2.1 s in 12 of 12 streams, 2026-12-04) but was seen ~1 s
            # late while other tests loaded the machine (2.9-3.05 s): half a second more.
            assert s["longest"] <= blackout + slack + 0.5, detail
        else:
            # ... and fresh video follows the link's return within a second.
            assert s["longest"] <= blackout + slack, detail
