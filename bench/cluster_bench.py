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
   frame decoded again from every other, p50/p95 (target p95 < 5 s);
4. Chromium recovery (``--chromium-kills K``): the product's web client in Chromium and an aiortc
   peer in one room through the balancer; the room's node is SIGKILLed K times (and started
   again on its port after each recovery, so any ``--nodes`` >= 2 will do); per kill, the kill ->
   the aiortc peer decoding the page's camera again on its new connection, and the kill -> the
   page playing the peer again (polled every 0.2 s), p50/p95.

``--phases`` picks which run (default: spread,join,recovery, plus chromium with
``--chromium-kills``). Prints the load average before and after. ``--json FILE`` writes every
sample. About a minute, plus ~10 s per Chromium kill.
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
from tests.browser.room_page import RoomPage
from tests.haproxy import Haproxy
from tests.interop.stranger import Stranger
from tests.interop.test_chromium_publishers import chromium_page

CHROMIUM_RECOVERY_BOUND = 40.0
"""Seconds a kill may take to recover before the Chromium phase gives up."""


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
            p.colour_of = colours.get
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


async def owner_of_room(nodes: list[str], procs: list[subprocess.Popen[bytes]]) -> int:
    """The index of the one live node with participants."""
    async with aiohttp.ClientSession() as http:
        for i, proc in enumerate(procs):
            if proc.poll() is None and (await health(http, nodes[i]))["peers"] > 0:
                return i
    raise RuntimeError("no node has the room")


async def chromium_recovery(balancer: str, nodes: list[str], procs: list[subprocess.Popen[bytes]],
                            restart: Any, kills: int, workdir: Path) -> dict[str, Any]:
    """Chromium (the web client, camera = a colour clip) and an aiortc peer, through the
    balancer; SIGKILL of the room's node ``kills`` times, restarted after each recovery."""
    from playwright.async_api import async_playwright

    room = f"chromium-kill-{uuid.uuid4().hex[:6]}"
    colours: dict[str, int] = {}
    ann = Stranger(balancer, "Ann", 2, colour_of=colours.get, auto_reconnect=True)
    uplink: list[float] = []  # kill -> Ann decodes the page's camera again
    downlink: list[float] = []  # kill -> the page plays Ann again
    async with async_playwright() as pw:
        browser = None
        try:
            await ann.join(room)
            assert ann.me is not None
            colours[ann.me] = 2
            browser, page = await chromium_page(pw, workdir, 0, f"{balancer}/r/{room}", "Rosa")
            rosa = await page.evaluate("() => window.coshop.room.you.id")
            colours[rosa] = 0
            rosa_page = RoomPage(page, balancer)
            for _ in range(kills):
                await rosa_page.wait_playing({"Ann"}, seconds=CHROMIUM_RECOVERY_BOUND)
                deadline = time.monotonic() + CHROMIUM_RECOVERY_BOUND
                while ann.right_frames(rosa) < 10 or \
                        ann.received[rosa].arrivals[-1] < time.monotonic() - 0.2:
                    if time.monotonic() > deadline:
                        raise RuntimeError("Ann does not decode the page's camera")
                    await asyncio.sleep(0.05)
                await asyncio.sleep(2)  # media flowing both ways
                owner = await owner_of_room(nodes, procs)
                killed_at = time.monotonic()
                procs[owner].send_signal(signal.SIGKILL)
                procs[owner].wait()
                up = down = None
                await asyncio.sleep(1.0)  # nothing recovers this soon (the node timeout is 3 s)
                await rosa_page.playing({"Ann"})  # the baseline of "advances"
                while up is None or down is None:
                    now = time.monotonic()
                    if now - killed_at > CHROMIUM_RECOVERY_BOUND:
                        raise RuntimeError(f"not back within {CHROMIUM_RECOVERY_BOUND} s: "
                                           f"uplink {up}, downlink {down}")
                    if up is None:
                        since = next((t for t in ann.resets if t > killed_at), None)
                        got = ann.received.get(rosa)
                        first = None if since is None or got is None else next(
                            (t for t in got.arrivals if t > since), None)
                        if first is not None:
                            up = first - killed_at
                    if down is None and await rosa_page.playing({"Ann"}):
                        down = time.monotonic() - killed_at
                    await asyncio.sleep(0.2)
                uplink.append(up)
                downlink.append(down)
                print(f"kill {len(uplink)}: Ann decodes the page again after {up:.2f} s, "
                      f"the page plays Ann again after {down:.2f} s", flush=True)
                procs[owner] = await asyncio.to_thread(restart, owner)
        finally:
            await ann.close()
            if browser is not None:
                await browser.close()
    return {"uplink": {"p50": percentile(uplink, 0.5), "p95": percentile(uplink, 0.95),
                       "samples": uplink},
            "downlink": {"p50": percentile(downlink, 0.5), "p95": percentile(downlink, 0.95),
                         "samples": downlink}}


async def run(args: argparse.Namespace, redis_url: str, workdir: Path) -> dict[str, Any]:
    env = {"COSHOP_REDIS_URL": redis_url}
    ports = [free_port() for _ in range(args.nodes)]
    procs = [start_server(p, "--node-id", f"bench-{i}", env=env) for i, p in enumerate(ports)]

    def restart(i: int) -> subprocess.Popen[bytes]:
        return start_server(ports[i], "--node-id", f"bench-{i}", env=env)
    nodes = [f"http://127.0.0.1:{p}" for p in ports]
    balancer = Haproxy(workdir, [f"127.0.0.1:{p}" for p in ports])
    try:
        await balancer.start()
        results: dict[str, Any] = {}
        if "spread" in args.phases:
            results["spread"] = await spread(balancer.url, nodes, args.rooms)
        if "join" in args.phases:
            results["join"] = await join_times(balancer.url, nodes, args.joins)
        if "recovery" in args.phases:
            results["recovery"] = await recovery(balancer.url, nodes, procs, args.kills)
        if "chromium" in args.phases:
            results["chromium"] = await chromium_recovery(
                balancer.url, nodes, procs, restart, args.chromium_kills, workdir)
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
    parser.add_argument("--chromium-kills", type=int, default=0,
                        help="kills of the Chromium recovery phase (0: no such phase)")
    parser.add_argument("--phases", type=lambda v: set(v.split(",")), default=None,
                        help="comma-separated: spread, join, recovery, chromium")
    parser.add_argument("--json", type=Path, help="write every figure and sample here")
    args = parser.parse_args()
    if args.phases is None:
        args.phases = {"spread", "join", "recovery"} | ({"chromium"} if args.chromium_kills
                                                        else set())
    if args.phases - {"spread", "join", "recovery", "chromium"}:
        parser.error("--phases: spread, join, recovery, chromium")
    if "recovery" in args.phases and args.kills >= args.nodes:
        parser.error("--kills must be smaller than --nodes")
    if "chromium" in args.phases and (args.chromium_kills < 1 or args.nodes < 2):
        parser.error("the chromium phase needs --chromium-kills >= 1 and --nodes >= 2")
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
    print(f"{args.nodes} nodes behind haproxy (round-robin), one Redis; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} cores)")
    if "spread" in results:
        s = results["spread"]
        print(f"spread: {args.rooms} rooms, {s['joins']} joins in {s['seconds']:.1f} s; rooms "
              f"per node {s['rooms']}, participants {s['peers']}, load (rooms + participants) "
              f"{s['loads']}, largest deviation from even {s['max_deviation']:.1%}")
    for kind, j in results.get("join", {}).items():
        print(f"join {kind:<8} (n={j['n']}): joined p50 {j['joined_p50'] * 1000:.0f} ms "
              f"p95 {j['joined_p95'] * 1000:.0f} ms; first frame p50 {j['frame_p50'] * 1000:.0f} "
              f"ms p95 {j['frame_p95'] * 1000:.0f} ms")
    if "recovery" in results:
        r = results["recovery"]
        print(f"recovery after SIGKILL of the room's node (x{args.kills}, 3 peers): kill -> "
              f"media again p50 {r['p50']:.2f} s, p95 {r['p95']:.2f} s (target p95 < 5 s)")
    if "chromium" in results:
        c = results["chromium"]
        print(f"Chromium recovery after SIGKILL of the room's node (x{args.chromium_kills}): "
              f"kill -> its camera decoded again p50 {c['uplink']['p50']:.2f} s, p95 "
              f"{c['uplink']['p95']:.2f} s; kill -> it plays the other again p50 "
              f"{c['downlink']['p50']:.2f} s, p95 {c['downlink']['p95']:.2f} s "
              "(target p95 < 5 s)")
    if args.json:
        args.json.write_text(json.dumps({**results, "load": [load_before, load_after]},
                                        indent=2))


if __name__ == "__main__":
    main()
