"""Issue 12: the load tester's peers follow a draining node's ``redirect`` while in the room.

Two real ``coshop serve`` nodes on a real redis-server behind Debian's haproxy; ``coshop
loadtest`` fills a room through the balancer; the node serving the room gets SIGTERM (a
rolling restart). Its peers must rejoin on the other node as the same participants (the
``resume`` of ``joined``, docs/PROTOCOL.md) and their routes must carry media again there.

The measurement window starts after the drain (``--warmup``), and a window resets every
route: every frame it counts arrived on the new node. The test checks that ordering too.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.haproxy import Haproxy
from tests.loadtest.conftest import Server, finish, start_loadtest, start_server, stop_server
from tests.redis_server import RedisServer

pytestmark = [pytest.mark.media, pytest.mark.redis]

PEERS = 3
WARMUP = 16  # the joins and the drain happen in here: a few seconds on a quiet machine
DURATION = 30
ROOM = "drained-0"


@pytest.fixture
async def two_nodes(tmp_path: Path) -> AsyncIterator[tuple[Haproxy, list[Server]]]:
    redis = RedisServer(tmp_path, aof=False)
    await redis.start()
    nodes: list[Server] = []
    balancer: Haproxy | None = None
    try:
        for name in ("node-a", "node-b"):
            nodes.append(start_server(tmp_path / f"{name}.log", "--redis-url", redis.url,
                                      "--node-id", name))
        balancer = Haproxy(tmp_path, [urlsplit(n.url).netloc for n in nodes])
        await balancer.start()
        yield balancer, nodes
    finally:
        if balancer is not None:
            await balancer.stop()
        for node in nodes:
            stop_server(node)
        await redis.stop()


async def room_people(http: aiohttp.ClientSession, node: Server) -> list[str] | None:
    """The ids of the room's participants, asked of ``node`` (None: it does not answer)."""
    try:
        async with http.get(f"{node.url}/api/rooms/{ROOM}") as response:
            if response.status != 200:
                return []
            body = await response.json()
    except aiohttp.ClientError:
        return None
    return sorted(p["id"] for p in body["participants"])


async def peers_on(http: aiohttp.ClientSession, node: Server) -> int:
    try:
        async with http.get(f"{node.url}/healthz") as response:
            return int((await response.json())["peers"])
    except (aiohttp.ClientError, KeyError, ValueError):
        return -1


async def test_a_draining_node_sends_the_load_testers_peers_on_as_themselves(
    two_nodes: tuple[Haproxy, list[Server]], tmp_path: Path
) -> None:
    balancer, nodes = two_nodes
    out = tmp_path / "run.json"
    scenario = tmp_path / "drain.toml"
    scenario.write_text(f'room_prefix = "{ROOM[:-2]}"\n')
    run = await start_loadtest(
        "--scenario", str(scenario), "--url", balancer.url, "--rooms", "1",
        "--peers", str(PEERS), "--preset", "180p", "--duration", f"{DURATION}s",
        "--warmup", f"{WARMUP}s", "--workers", "1", "--json", str(out),
    )
    async with aiohttp.ClientSession() as http:
        # The node the room landed on holds every peer (the other redirected its joins).
        deadline = time.monotonic() + WARMUP - 4
        serving: Server | None = None
        while serving is None:
            assert time.monotonic() < deadline, "the peers did not all join one node"
            counts = [await peers_on(http, n) for n in nodes]
            serving = next((n for n, c in zip(nodes, counts, strict=True) if c == PEERS), None)
            await asyncio.sleep(0.2)
        other = next(n for n in nodes if n is not serving)
        before = await room_people(http, serving)
        assert before is not None and len(before) == PEERS
        serving.process.send_signal(signal.SIGTERM)
        # It drains and exits by itself once its peers are gone (long before its timeout).
        code = await asyncio.to_thread(serving.process.wait, 20)
        after = await room_people(http, other)
    result = await finish(run, DURATION + 60)
    report = json.loads(out.read_text())
    summary = result.stdout[-4000:]
    assert code == 0
    assert after == before, summary  # the same people, on the other node now
    sessions = report["sessions"]
    assert sorted(s["participant_id"] for s in sessions) == before
    assert all([m["reason"] for m in s["moves"]] == ["draining"] for s in sessions), sessions
    assert all(urlsplit(s["moves"][0]["url"]).netloc == urlsplit(other.url).netloc
               for s in sessions), sessions
    assert report["moves"]["count"] == PEERS and report["moves"]["rejoined"] == PEERS, summary
    assert report["peers"]["moved"] == PEERS and report["peers"]["failed"] == 0, summary
    assert report["errors"]["count"] == 0, report["errors"]
    # Media again: the window began after every move, so each route's frames came from the
    # new node; every publisher reaches every other peer there.
    moved_at = max(m["at"] for s in sessions for m in s["moves"])
    assert moved_at < report["window"]["start"], "the drain came after the window began"
    assert report["routes"]["expected"] == PEERS * (PEERS - 1) * 2
    assert report["routes"]["missing"] == 0, summary
    video = [d for d in report["routes_detail"] if d["kind"] == "video"]
    assert len(video) == PEERS * (PEERS - 1)
    window = report["window"]["seconds"]
    assert all(d["frames"] >= 10 * window for d in video), [
        (d["receiver"], d["source"], d["frames"]) for d in video]
    assert "moves" in summary
    print(f"\ndrain: {report['moves']}; load at end {report['load_average_at_end']}")
