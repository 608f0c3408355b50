"""Every join shows everyone's video: the join-order matrix, with stranger clients.

Publishers are aiortc peers whose VP8 encoder makes a keyframe only when asked, or that send
a still picture; each paints its own colour and every receiver checks WHO each decoded frame
came from, per slot.
"""

from __future__ import annotations

import asyncio
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

    async def all_see_all(
        self, among: list[Stranger], timeout: float = 15  # noqa: ASYNC109  # a poll deadline
    ) -> None:
        deadline = time.monotonic() + timeout
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
    r = Room(serve(), request.node.name.replace("[", "-").replace("]", "")[:60])
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


