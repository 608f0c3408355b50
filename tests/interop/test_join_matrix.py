"""Every join shows everyone's video: the join-order matrix, with stranger clients.

Publishers are aiortc peers whose VP8 encoder makes a keyframe only when asked, or that send
a still picture; each paints its own colour and every receiver checks WHO each decoded frame
came from, per slot.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import pytest

from tests.interop.conftest import Server
from tests.interop.stranger import Stranger

pytestmark = pytest.mark.media

FRAMES = 15  # decoded frames of the right colour that prove a route works


class Room:
    """The people of one test room; each publisher's colour is known to every receiver."""

    def __init__(self, server: Server, room: str) -> None:
        self.server = server
        self.room = room
        self.people: list[Stranger] = []
        self.colours: dict[str, int] = {}

    def person(self, name: str, colour: int | None, **kw: object) -> Stranger:
        p = Stranger(self.server.url, name, colour, colour_of=self.colours.get, **kw)  # type: ignore[arg-type]
        self.people.append(p)
        return p

    async def join(self, p: Stranger) -> Stranger:
        await p.join(self.room)
        assert p.me is not None
        if p.colour is not None:
            self.colours[p.me] = p.colour
        return p

    def publishers(self) -> list[Stranger]:
        return [p for p in self.people if p.colour is not None and p.me and p.left is None]

    async def all_see_all(self, among: list[Stranger], within: float = 15) -> None:
        deadline = time.monotonic() + within
        while True:
            missing = [
                (r.name, s.name, r.right_frames(s.me or ""))
                for r in among
                for s in self.publishers()
                if s is not r and r.right_frames(s.me or "") < FRAMES
            ]
            if not missing:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"(receiver, publisher, right-colour frames) short: {missing}")
            await asyncio.sleep(0.1)
        for r in among:
            for s in self.publishers():
                if s is r:
                    continue
                got = r.received[s.me or ""]
                # A reused slot may show a few frames of its previous source before the
                # switch is signalled; the bulk must be right.
                assert got.wrong_colour <= max(3, got.frames // 10), (r.name, s.name, got)
            assert [e for e in r.errors] == [], r.errors

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.people))


@pytest.fixture
async def room(serve: Callable[..., Server], request: pytest.FixtureRequest) -> Room:
    r = Room(serve(), re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[-64:])
    yield r  # type: ignore[misc]
    await r.close()


@pytest.mark.parametrize("delay", [0.5, 3.0])
@pytest.mark.parametrize("moving", [True, False], ids=["on-demand-keyframes", "still-picture"])
async def test_late_joiner_decodes_every_publisher(room: Room, delay: float, moving: bool) -> None:
    first = [room.person(f"p{i}", i, moving=moving) for i in range(3)]
    for p in first:
        await room.join(p)
    await room.all_see_all(first)
    await asyncio.sleep(delay)
    late = await room.join(room.person("late", 3, moving=moving))
    await room.all_see_all(room.people)
    assert late.received.keys() >= {p.me for p in first}


async def test_late_viewer_decodes_every_publisher(room: Room) -> None:
    first = [room.person(f"p{i}", i) for i in range(3)]
    for p in first:
        await room.join(p)
    await room.all_see_all(first)
    viewer = await room.join(room.person("viewer", None, role="viewer"))
    await room.all_see_all([viewer])


async def test_two_join_within_100ms(room: Room) -> None:
    first = [room.person(f"p{i}", i) for i in range(2)]
    for p in first:
        await room.join(p)
    await room.all_see_all(first)
    a, b = room.person("a", 2), room.person("b", 3)
    await asyncio.gather(room.join(a), room.join(b))
    await room.all_see_all(room.people)


async def test_join_after_leave_reuses_slot(room: Room) -> None:
    first = [room.person(f"p{i}", i) for i in range(3)]
    for p in first:
        await room.join(p)
    await room.all_see_all(first)
    await first[1].close()
    first[1].left = "closed"
    await asyncio.sleep(0.5)
    newcomer = await room.join(room.person("new", 4))
    await room.all_see_all([first[0], first[2], newcomer])


async def test_everyone_joins_at_once(room: Room) -> None:
    people = [room.person(f"p{i}", i) for i in range(4)]
    await asyncio.gather(*(room.join(p) for p in people))
    await room.all_see_all(people)




async def test_max_bundle_clients_in_every_order(room: Room) -> None:
    """Clients whose connection bundles everything and say so in `join` get every slot in
    their first offer (PROTOCOL.md, Media model): late, as a viewer, two at once, on a reused
    slot, beside clients that do not; everyone decodes everyone, in the right colour."""
    first = [room.person(f"p{i}", i) for i in range(2)]
    for p in first:
        await room.join(p)
    await room.all_see_all(first)
    late = await room.join(room.person("late", 2, bundle_policy="max-bundle", moving=False))
    viewer = await room.join(room.person("viewer", None, role="viewer", bundle_policy="max-bundle"))
    await room.all_see_all(room.people)
    # Their first offer carried a slot for both publishers' audio and video.
    for p in (late, viewer):
        offer = next(m for m in p.messages if m["type"] == "offer")
        assert sum(1 for s in offer["slots"] if s.get("source")) == 4, (p.name, offer["slots"])
    a = room.person("a", 3, bundle_policy="max-bundle")
    b = room.person("b", 4, bundle_policy="max-bundle")
    await asyncio.gather(room.join(a), room.join(b))
    await room.all_see_all(room.people)
    await first[1].close()
    first[1].left = "closed"
    await asyncio.sleep(0.5)
    again = await room.join(room.person("again", 5, bundle_policy="max-bundle"))
    await room.all_see_all([p for p in room.people if p.left is None])
    assert again.received.keys() >= {p.me for p in room.publishers() if p is not again}
