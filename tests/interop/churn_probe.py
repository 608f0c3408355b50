"""Issue 18 probe (not collected by the suite: it still fails now and then; run it with
``pytest tests/interop/churn_probe.py -s``): a join or a leave never disturbs the others.

Status: with the room's SDP lane and keyframe pacing, most changes now show worst continuing
gaps of 140-190 ms; one receiver now and then still freezes on every incoming route at once for
1.2-2.7 s around a change (cause not found yet; nothing is logged server side).

A full room of stranger publishers; one leaves and another takes the seat, twice, while every
continuing route's decoded frames are timed. A freeze (W3C webrtc-stats: an inter-frame gap above
max(3 x the mean interval, mean + 150 ms)) on a route that was not itself joining or leaving fails
the test; the margin for this shared 2-core machine is a floor of 500 ms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.interop.conftest import Server
from tests.interop.stranger import Stranger

pytestmark = pytest.mark.media

ROOM_SIZE = 6  # publishers decoding each other in this one test process: 6 x 5 routes
FPS = 15
SIZE = (96, 64)
FREEZE_FLOOR = 0.5


async def _until(predicate: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.1)


def _route_gaps(receiver: Stranger, source: str, since: float) -> list[float]:
    got = receiver.received.get(source)
    if got is None:
        return []
    return [g for at, g in zip(got.arrivals[1:], got.gaps, strict=False) if at >= since]


async def test_leave_and_join_never_freeze_the_others(serve: Callable[..., Server]) -> None:
    server = serve()
    colours: dict[str, int] = {}
    people: list[Stranger] = []

    async def enter(i: int) -> Stranger:
        p = Stranger(server.url, f"p{i}", i % 11, fps=FPS, size=SIZE, colour_of=colours.get,
                     check_every=5)
        await p.join("churn")
        assert p.me is not None
        colours[p.me] = i % 11
        people.append(p)
        return p

    def all_flowing(among: list[Stranger], frames: int) -> bool:
        return all(
            r.right_frames(s.me or "") >= frames for r in among for s in among if s is not r
        )

    try:
        for i in range(ROOM_SIZE):
            await enter(i)
        try:
            await _until(lambda: all_flowing(people, 2 * FPS), 40, "full room flowing")
        except AssertionError:
            short = [(r.name, s.name, r.right_frames(s.me or "")) for r in people for s in people
                     if s is not r and r.right_frames(s.me or "") < 2 * FPS]
            raise AssertionError(f"routes short of frames: {short}") from None
        stayers = list(people)
        for change in range(2):
            since = time.monotonic()
            leaver = stayers.pop(0)
            await leaver.close()
            newcomer = await enter(ROOM_SIZE + change)
            await _until(lambda n=newcomer: all_flowing([*stayers, n], FPS), 20,
                         "newcomer decoded and decoding")
            await asyncio.sleep(2)  # the room settles: frames after the change are timed too
            worst: list[tuple[float, float, str, str]] = []
            for r in stayers:
                for s in stayers:
                    if s is r:
                        continue
                    gaps = _route_gaps(r, s.me or "", since)
                    assert gaps, f"{r.name} got no frames from {s.name} across the change"
                    mean = sum(gaps) / len(gaps)
                    limit = max(FREEZE_FLOOR, 3 * mean, mean + 0.15)
                    worst.append((max(gaps), limit, r.name, s.name))
            worst.sort(reverse=True)
            print(f"change {change}: worst continuing-route gaps {worst[:4]}")
            frozen = [(round(g, 2), r, s) for g, limit, r, s in worst if g > limit]
            assert not frozen, f"change {change}: froze (s, receiver, publisher): {frozen}"
    finally:
        await asyncio.gather(*(p.close() for p in people))
