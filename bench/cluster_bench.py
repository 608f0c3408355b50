"""Several nodes behind a real load balancer: placement, join time with and without a
redirect, and recovery after a node is killed (issue 12).

Starts its own redis-server, ``--nodes`` ``coshop serve`` processes and Debian's haproxy in
front of them (round-robin, no stickiness; tests/haproxy.py, the README's configuration), then:

1. spread: ``--rooms`` rooms (pairs and groups of five, viewers over WebSockets, no media)
   created through the balancer; rooms, participants and load (rooms + participants) per node;
2. join time: an aiortc viewer (tests/interop/stranger.py, decodes video) joins a room with one
   publisher, ``--joins`` times through the balancer when it lands on the wrong node (so it
   follows a redirect) and as often straight at the room's node; p50/p95 of ``join`` -> joined
   and ``join`` -> first decoded frame of the publisher;
3. recovery: a room of three aiortc peers that reconnect through the balancer; its node is
   SIGKILLed ``--kills`` times (needs ``--nodes`` > ``--kills``); per peer, the kill -> the first
   frame decoded again from every other, p50/p95 (target p95 < 5 s).

Prints the load average before and after. ``--json FILE`` writes every sample. About a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port, redis_server, start_server
from tests.haproxy import Haproxy
from tests.interop.stranger import Stranger


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] if ordered else 0.0


async def health(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url + "/healthz") as response:
        body: dict[str, Any] = await response.json()
        return body


async def viewer(
    http: aiohttp.ClientSession, url: str, room: str
) -> aiohttp.ClientWebSocketResponse:
    for _ in range(6):
        ws = await http.ws_connect(url.replace("http", "ws", 1) + "/ws")
        await ws.send_json({"type": "join", "room": room, "name": "v", "role": "viewer"})
        while True:
            msg = json.loads((await ws.receive(timeout=10)).data)
            if msg["type"] in ("joined", "redirect", "error"):
                break
        if msg["type"] == "joined":
            return ws
        await ws.close()
        if msg["type"] != "redirect":
            raise RuntimeError(msg)
        url = msg["url"].replace("ws", "http", 1).removesuffix("/ws")
    raise RuntimeError("redirected in circles")


async def spread(balancer: str, nodes: list[str], rooms: int) -> dict[str, Any]:
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    gate = asyncio.Semaphore(8)
    prefix = uuid.uuid4().hex[:6]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def fill(i: int) -> None:
            async with gate:
                for _ in range(5 if i % 3 == 0 else 2):
                    sockets.append(await viewer(http, balancer, f"spread-{prefix}-{i}"))

        started = time.monotonic()
        await asyncio.gather(*(fill(i) for i in range(rooms)))
        took = time.monotonic() - started
        per_node = [await health(http, n) for n in nodes]
        await asyncio.gather(*(ws.close() for ws in sockets))
    loads = [h["rooms"] + h["peers"] for h in per_node]
    mean = sum(loads) / len(loads)
    return {"rooms": [h["rooms"] for h in per_node], "peers": [h["peers"] for h in per_node],
            "loads": loads, "max_deviation": max(abs(x - mean) for x in loads) / mean,
            "seconds": took, "joins": len(sockets)}


async def first_frame(url: str, room: str, publisher: str) -> tuple[float, float, int]:
    """An aiortc viewer joins at ``url``: (s to joined, s to first decoded frame, redirects)."""
    v = Stranger(url, "viewer", None, role="viewer")
    try:
        started = time.monotonic()
        await v.join(room)
        joined = time.monotonic() - started
        while v.received.get(publisher) is None or v.received[publisher].first_at is None:
            if time.monotonic() - started > 20:
                raise RuntimeError("no frame within 20 s")
            await asyncio.sleep(0.005)
        frame = v.received[publisher].first_at - started  # type: ignore[operator]
        return joined, frame, len(v.redirects)
    finally:
        await v.close()


async def join_times(balancer: str, nodes: list[str], joins: int) -> dict[str, Any]:
    room = f"join-{uuid.uuid4().hex[:6]}"
    pub = Stranger(balancer, "pub", 0)
    await pub.join(room)
    assert pub.me is not None
    owner = pub.redirects[-1]["url"] if pub.redirects else None
    samples: dict[str, list[tuple[float, float]]] = {"redirect": [], "direct": []}
    try:
        async with aiohttp.ClientSession() as http:
            busy = [n for n in nodes if (await health(http, n))["peers"] > 0]
        owner_http = busy[0] if owner is None else owner.replace("ws", "http", 1)[:-3]
        attempts = 0
        while min(len(v) for v in samples.values()) < joins and attempts < joins * 6:
            attempts += 1
            joined, frame, redirects = await first_frame(balancer, room, pub.me)
            if redirects and len(samples["redirect"]) < joins:
                samples["redirect"].append((joined, frame))
            if len(samples["direct"]) < joins:
                joined, frame, _ = await first_frame(owner_http, room, pub.me)
                samples["direct"].append((joined, frame))
    finally:
        await pub.close()
    return {k: {"joined_p50": percentile([j for j, _ in v], 0.5),
                "joined_p95": percentile([j for j, _ in v], 0.95),
                "frame_p50": percentile([f for _, f in v], 0.5),
                "frame_p95": percentile([f for _, f in v], 0.95),
                "n": len(v), "samples": v} for k, v in samples.items()}


async def recovery(balancer: str, nodes: list[str], procs: list[subprocess.Popen[bytes]],
                   kills: int) -> dict[str, Any]:
    room = f"kill-{uuid.uuid4().hex[:6]}"
    people = [Stranger(balancer, f"p{i}", i, auto_reconnect=True) for i in range(3)]
    times: list[float] = []
    try:
        for p in people:
            await p.join(room)
        colours = {p.me: i for i, p in enumerate(people)}
        for p in people:
            p.colour_of = colours.get  # type: ignore[assignment]
        for _ in range(kills):
            await asyncio.sleep(2)  # media flowing
            async with aiohttp.ClientSession() as http:
                alive = [i for i, proc in enumerate(procs) if proc.poll() is None]
                peers = [(await health(http, nodes[i]))["peers"] for i in alive]
                owner = alive[next(k for k, n in enumerate(peers) if n > 0)]
            killed_at = time.monotonic()
            procs[owner].send_signal(signal.SIGKILL)
            procs[owner].wait()
            deadline = killed_at + 30
            back: dict[str, float] = {}
            while len(back) < len(people) and time.monotonic() < deadline:
                for p in people:
                    since = next((t for t in p.resets if t > killed_at), None)
                    if p.name in back or since is None:
                        continue
                    firsts: list[float | None] = []
                    for q in people:
                        got = None if q is p else p.received.get(q.me or "")
                        if q is not p:
                            firsts.append(None if got is None else next(
                                (t for t in got.arrivals if t > since), None))
                    if all(f is not None for f in firsts):
                        back[p.name] = max(f for f in firsts if f is not None) - killed_at
                await asyncio.sleep(0.05)
            if len(back) < len(people):
                raise RuntimeError(f"media not back within 30 s: {back}")
            times += back.values()
    finally:
        await asyncio.gather(*(p.close() for p in people))
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "samples": times}


async def run(args: argparse.Namespace, redis_url: str, workdir: Path) -> dict[str, Any]:
    env = {"COSHOP_REDIS_URL": redis_url}
    ports = [free_port() for _ in range(args.nodes)]
    procs = [start_server(p, "--node-id", f"bench-{i}", env=env) for i, p in enumerate(ports)]
    nodes = [f"http://127.0.0.1:{p}" for p in ports]
    balancer = Haproxy(workdir, [f"127.0.0.1:{p}" for p in ports])
    try:
        await balancer.start()
        results: dict[str, Any] = {}
        results["spread"] = await spread(balancer.url, nodes, args.rooms)
        results["join"] = await join_times(balancer.url, nodes, args.joins)
        results["recovery"] = await recovery(balancer.url, nodes, procs, args.kills)
        return results
    finally:
        await balancer.stop()
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--rooms", type=int, default=60)
    parser.add_argument("--joins", type=int, default=10)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every figure and sample here")
    args = parser.parse_args()
    if args.kills >= args.nodes:
        parser.error("--kills must be smaller than --nodes")
    load_before = os.getloadavg()
    # uvloop, like the tests' clients: asyncio's loop reads one datagram per socket per turn
    # and would measure the clients' own backlog.
    with (
        redis_server() as redis_url,
        tempfile.TemporaryDirectory() as workdir,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        results = runner.run(run(args, redis_url, Path(workdir)))
    load_after = os.getloadavg()
    s = results["spread"]
    print(f"{args.nodes} nodes behind haproxy (round-robin), one Redis; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} cores)")
    print(f"spread: {args.rooms} rooms, {s['joins']} joins in {s['seconds']:.1f} s; rooms per node "
          f"{s['rooms']}, participants {s['peers']}, load (rooms + participants) {s['loads']}, "
          f"largest deviation from even {s['max_deviation']:.1%}")
    for kind, j in results["join"].items():
        print(f"join {kind:<8} (n={j['n']}): joined p50 {j['joined_p50'] * 1000:.0f} ms "
              f"p95 {j['joined_p95'] * 1000:.0f} ms; first frame p50 {j['frame_p50'] * 1000:.0f} "
              f"ms p95 {j['frame_p95'] * 1000:.0f} ms")
    r = results["recovery"]
    print(f"recovery after SIGKILL of the room's node (x{args.kills}, 3 peers): kill -> media "
          f"again p50 {r['p50']:.2f} s, p95 {r['p95']:.2f} s (target p95 < 5 s)")
    if args.json:
        args.json.write_text(json.dumps({**results, "load": [load_before, load_after]},
                                        indent=2))


if __name__ == "__main__":
    main()
