"""``coshop serve`` runs on the event loop COSHOP_EVENT_LOOP names, and a real call works on it.

uvloop is the default because it costs less CPU per forwarded packet and holds a loaded room
(README, "Benchmarks": bench/packet_cost.py); asyncio's own loop stays selectable.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.interop.conftest import Server
from tests.interop.test_join_matrix import Room

pytestmark = pytest.mark.media


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
async def test_serve_runs_on_the_named_loop_and_a_call_works(
    serve: Callable[..., Server], kind: str
) -> None:
    server = serve(event_loop=kind)  # COSHOP_EVENT_LOOP
    assert f"loop: {kind})" in server.log_text()
    room = Room(server, f"loop-{kind}")
    try:
        people = [room.person(f"p{i}", i) for i in range(3)]
        for p in people:
            await room.join(p)
        # Every receiver decodes 15+ frames of each publisher's own colour.
        await room.all_see_all(people)
    finally:
        await room.close()
