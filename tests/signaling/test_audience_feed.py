"""A live room's audience gets reactions and others' votes as counts at a bounded rate, over
the real signaling WebSocket; the stage still gets every event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from signaling import Settings
from signaling import protocol as wire
from signaling.keys import NODE
from tests.signaling.conftest import Client
from tests.signaling.wsclient import WsClient

MakeClient = Callable[[Settings], Awaitable[Client]]
INTERVAL = 0.25
REACTIONS = 200


async def member(client: Client, name: str, role: str) -> WsClient:
    ws = WsClient(await client.ws_connect("/ws"))
    joined = await ws.join("show", name, role=role)
    assert isinstance(joined, wire.Joined) and joined.room.kind == "live", joined
    return ws


async def test_200_reactions_in_a_second_reach_a_viewer_as_a_few_counts(
    make_client: MakeClient,
) -> None:
    client = await make_client(Settings(
        port=0, node_id="live", rate_limits=False, reaction_interval=INTERVAL,
        ws_heartbeat=30.0, ws_timeout=60.0,
    ))
    created = await client.post("/api/rooms", json={"id": "show", "kind": "live"})
    assert created.status == 201
    guest = await member(client, "gus", "guest")
    viewers = [await member(client, f"v{i}", "viewer") for i in range(3)]
    try:
        started = time.monotonic()
        for i in range(REACTIONS):
            await guest.send({"type": "react", "emoji": "🔥" if i % 2 else "❤️"})
            await asyncio.sleep(1 / REACTIONS)
        counts: list[wire.ReactionCounts] = []
        while sum(sum(c.reactions.values()) for c in counts) < REACTIONS:
            message = await viewers[0].recv()
            assert not isinstance(message, wire.Reaction), "a viewer got a reaction event"
            if isinstance(message, wire.ReactionCounts) and message.reactions:
                counts.append(message)  # (the ones before only counted the viewers joining)
        span = time.monotonic() - started
        totals: dict[str, int] = {}
        for c in counts:
            for emoji, n in c.reactions.items():
                totals[emoji] = totals.get(emoji, 0) + n
        assert totals == {"❤️": REACTIONS // 2, "🔥": REACTIONS // 2}
        # The feed sends the first batch at once, then at most one per interval: however
        # slow the machine, no more than span / interval + 1 batches fit in the span.
        assert len(counts) <= int(span / INTERVAL) + 1, (len(counts), span)
        print(f"{REACTIONS} reactions in {span:.2f} s reached a viewer as {len(counts)} "
              "reaction_counts messages")
        assert [c.up_to_seq for c in counts] == sorted(c.up_to_seq for c in counts)
        # The stage still gets every reaction as an event.
        got = 0
        while got < REACTIONS:
            if isinstance(await guest.recv(), wire.Reaction):
                got += 1
        # A viewer's own reaction and vote come back to it as events; the others' votes
        # reach the other viewers as tallies.
        first_product = (await (await client.get("/api/rooms/show/catalog")).json())[
            "products"][0]["id"]
        await viewers[1].send({"type": "react", "emoji": "👍"})
        assert (await viewers[1].until("reaction")).emoji == "👍"
        await viewers[1].send({"type": "vote", "product_id": first_product, "value": "yes"})
        assert (await viewers[1].until("vote_cast")).vote.product_id == first_product
        while (tallied := await viewers[2].until("reaction_counts")).tallies is None:
            pass
        assert tallied.tallies is not None and tallied.tallies[first_product].yes == 1
        assert tallied.shortlist is not None and tallied.shortlist[0].product_id == first_product
        assert not [m for m in viewers[2].received if isinstance(m, wire.VoteCast)]
        hub = client.app[NODE].hubs._hubs["show"]
        assert hub.audience.sent >= len(counts)
    finally:
        for ws in (guest, *viewers):
            await ws.close()


async def test_a_group_rooms_viewers_get_every_reaction(make_client: MakeClient) -> None:
    client = await make_client(Settings(port=0, node_id="group", rate_limits=False))
    guest = WsClient(await client.ws_connect("/ws"))
    viewer = WsClient(await client.ws_connect("/ws"))
    try:
        assert isinstance(await guest.join("friends", "gus"), wire.Joined)
        assert isinstance(await viewer.join("friends", "vi", role="viewer"), wire.Joined)
        for _ in range(3):
            await guest.send({"type": "react", "emoji": "🔥"})
        for _ in range(3):
            assert (await viewer.until("reaction")).emoji == "🔥"
        assert not [m for m in viewer.received if isinstance(m, wire.ReactionCounts)]
    finally:
        await guest.close()
        await viewer.close()


async def test_the_audience_sees_the_stage_and_counts_itself(make_client: MakeClient) -> None:
    client = await make_client(Settings(port=0, node_id="live", ws_heartbeat=30.0,
                                        ws_timeout=60.0))
    created = await client.post("/api/rooms", json={"id": "show", "kind": "live"})
    assert created.status == 201
    guest = await member(client, "gus", "guest")
    first = await member(client, "v0", "viewer")
    joined_first = first.received[0]
    assert isinstance(joined_first, wire.Joined)
    assert {p.name for p in joined_first.participants} == {"gus", "v0"}
    others = [await member(client, f"v{i}", "viewer") for i in range(1, 4)]
    try:
        # The last viewer's joined lists the stage and itself; the room counts everyone.
        last = others[-1].received[0]
        assert isinstance(last, wire.Joined)
        assert {p.name for p in last.participants} == {"gus", "v3"}
        assert last.room.audience_count == 4
        # The stage sees every viewer come; the first viewer only the count.
        for i in range(4):
            assert (await guest.until("participant_joined")).participant.name == f"v{i}"
        while (counted := await first.until("reaction_counts")).audience_count != 4:
            pass
        await others[0].close()
        assert (await guest.until("participant_left")).reason == "disconnected"
        while (counted := await first.until("reaction_counts")).audience_count != 3:
            pass
        assert counted.reactions == {}
        assert not [m for m in first.received
                    if isinstance(m, wire.ParticipantJoined | wire.ParticipantLeft)]
        # A viewer invited up to the stage is shown the whole audience again.
        await client.put("/api/rooms/show/participants/" + joined_first.you.id + "/role",
                         json={"role": "guest"})
        snapshot = await first.until("snapshot")
        assert {p.name for p in snapshot.participants} == {"gus", "v0", "v2", "v3"}
        assert snapshot.room.audience_count == 2
    finally:
        for ws in (guest, first, *others):
            await ws.close()
