"""Shopping benchmark: votes and carousel moves through the WebSocket API on the Redis store.

Starts its own ``redis-server`` on a free port and its own ``coshop serve`` nodes (Redis store,
rate limits off so the server, not the flood control, is measured), fills ROOMS rooms with
CLIENTS WebSocket clients each, and measures, on one node and then on two nodes sharing the
Redis (clients alternate between them):

- throughput: votes/s (every client votes, WINDOW unacknowledged at a time; a vote counts
  when its ``vote_cast`` comes back) and carousel moves/s (one mover per room, each move from
  the version the previous one produced);
- latency: the time from one client's action (a vote or a move, one at a time per room) to
  every other client of the room seeing it, p50 and p99, and per delivery.

All clients live in this process, so every time is read from one clock.

    python bench/shopping_bench.py
    python bench/shopping_bench.py --rooms 8 --duration 10 --json shopping.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench._common import free_port, redis_server, start_server
from rooms.catalog import sample_catalog

PRODUCTS = sample_catalog().product_ids
VALUES: list[Any] = ["yes", "no", 1, 2, 3, 4, 5]


@dataclass(eq=False)
class Client:
    """One participant's socket; its reader notes when each vote/move arrives."""

    ws: aiohttp.ClientWebSocketResponse
    room: str
    id: str = ""
    version: int = 0
    acks: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    # (kind, sender id) -> arrival times, in arrival (= seq) order
    seen: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: int = 0
    reader: asyncio.Task[None] | None = None

    async def join(self, name: str) -> None:
        await self.ws.send_json({"type": "join", "room": self.room, "name": name})
        while True:
            message = json.loads((await self.ws.receive()).data)
            if message["type"] == "joined":
                self.id = message["you"]["id"]
                self.version = message["shopping"]["carousel"]["version"]
                return
            if message["type"] == "error":
                raise RuntimeError(f"join failed: {message}")

    def start(self) -> None:
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            now = time.perf_counter()
            message = json.loads(frame.data)
            kind = message["type"]
            if kind == "vote_cast":
                sender = message["vote"]["participant_id"]
            elif kind == "carousel_changed":
                sender = message["by"]
                self.version = max(self.version, message["carousel"]["version"])
            else:
                if kind == "error":
                    self.errors += 1
                continue
            self.seen[(kind, sender)].append(now)
            if sender == self.id:
                self.acks.put_nowait(kind)

    def vote(self, n: int) -> dict[str, Any]:
        return {"type": "vote", "product_id": PRODUCTS[n % len(PRODUCTS)],
                "value": VALUES[n % len(VALUES)]}

    def move(self) -> dict[str, Any]:
        return {"type": "carousel_move", "action": "next", "version": self.version}

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            await self.reader


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def connect(urls: list[str], rooms: int, per_room: int, tag: str,
                  http: aiohttp.ClientSession) -> dict[str, list[Client]]:
    by_room: dict[str, list[Client]] = {}
    node = itertools.cycle(urls)
    for r in range(rooms):
        room = f"bench-{tag}-{r}"
        clients = []
        for i in range(per_room):
            ws = await http.ws_connect(next(node).replace("http", "ws", 1) + "/ws",
                                       max_msg_size=0)
            client = Client(ws, room)
            await client.join(f"c{i}")
            clients.append(client)
        by_room[room] = clients
    for client in all_clients(by_room):
        client.start()
    return by_room


def all_clients(by_room: dict[str, list[Client]]) -> Iterator[Client]:
    for clients in by_room.values():
        yield from clients


async def vote_throughput(by_room: dict[str, list[Client]], seconds: float,
                          window: int) -> dict[str, float]:
    clients = list(all_clients(by_room))
    counter = itertools.count()
    stop = time.perf_counter() + seconds

    async def run(client: Client) -> int:
        done = 0
        for _ in range(window):
            await client.ws.send_json(client.vote(next(counter)))
        outstanding = window
        while outstanding:
            kind = await asyncio.wait_for(client.acks.get(), 30)
            if kind != "vote_cast":
                continue
            outstanding -= 1
            if time.perf_counter() < stop:
                done += 1
                await client.ws.send_json(client.vote(next(counter)))
                outstanding += 1
        return done

    start = time.perf_counter()
    counts = await asyncio.gather(*(run(c) for c in clients))
    elapsed = max(time.perf_counter(), stop) - start
    votes = sum(counts)
    return {"votes_per_s": votes / elapsed,
            "deliveries_per_s": votes * len(clients) / len(by_room) / elapsed}


async def move_throughput(by_room: dict[str, list[Client]], seconds: float) -> dict[str, float]:
    stop = time.perf_counter() + seconds

    async def run(mover: Client) -> int:
        done = 0
        while time.perf_counter() < stop:
            await mover.ws.send_json(mover.move())
            while await asyncio.wait_for(mover.acks.get(), 30) != "carousel_changed":
                pass
            done += 1
        return done

    start = time.perf_counter()
    counts = await asyncio.gather(*(run(clients[0]) for clients in by_room.values()))
    return {"moves_per_s": sum(counts) / (time.perf_counter() - start)}


async def latency(by_room: dict[str, list[Client]], actions: int,
                  interval: float) -> dict[str, float]:
    """Each room: ``actions`` actions (votes and moves in turn) by rotating senders."""
    sent: dict[tuple[str, str], list[float]] = defaultdict(list)
    before = {id(c): {k: len(v) for k, v in c.seen.items()} for c in all_clients(by_room)}

    async def run(clients: list[Client]) -> None:
        for n in range(actions):
            sender = clients[n % len(clients)]
            kind = "vote_cast" if n % 2 == 0 else "carousel_changed"
            request = sender.vote(n) if kind == "vote_cast" else sender.move()
            sent[(kind, sender.id)].append(time.perf_counter())
            await sender.ws.send_json(request)
            while await asyncio.wait_for(sender.acks.get(), 30) != kind:
                pass
            await asyncio.sleep(interval)

    await asyncio.gather(*(run(clients) for clients in by_room.values()))
    await asyncio.sleep(0.5)  # let the last deliveries land (a bench, not a test)

    all_seen, per_delivery = [], []
    for clients in by_room.values():
        for (kind, sender_id), times in sent.items():
            if not any(c.id == sender_id for c in clients):
                continue
            others = [c for c in clients if c.id != sender_id]
            for k, t0 in enumerate(times):
                arrivals = []
                for other in others:
                    offset = before[id(other)].get((kind, sender_id), 0)
                    got = other.seen.get((kind, sender_id), [])
                    if offset + k < len(got):
                        arrivals.append(got[offset + k] - t0)
                if len(arrivals) == len(others):
                    all_seen.append(max(arrivals))
                per_delivery += arrivals
    ms = 1000.0
    return {
        "actions": len(all_seen),
        "all_seen_p50_ms": percentile(all_seen, 50) * ms,
        "all_seen_p99_ms": percentile(all_seen, 99) * ms,
        "delivery_p50_ms": percentile(per_delivery, 50) * ms,
        "delivery_p99_ms": percentile(per_delivery, 99) * ms,
    }


async def scenario(urls: list[str], args: argparse.Namespace, tag: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http:
        by_room = await connect(urls, args.rooms, args.clients, tag, http)
        try:
            result: dict[str, float] = {}
            result |= await vote_throughput(by_room, args.duration, args.window)
            result |= await move_throughput(by_room, args.duration)
            result |= await latency(by_room, args.actions, args.interval)
            result["errors"] = sum(c.errors for c in all_clients(by_room))
            return result
        finally:
            await asyncio.gather(*(c.close() for c in all_clients(by_room)))


@contextlib.contextmanager
def nodes(redis_url: str, count: int) -> Iterator[list[str]]:
    env = {"COSHOP_RATE_LIMITS": "false", "COSHOP_REDIS_URL": redis_url}
    procs, urls = [], []
    try:
        for i in range(count):
            port = free_port()
            procs.append(start_server(port, "--node-id", f"bench-{i}", env=env))
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=4)
    parser.add_argument("--clients", type=int, default=10, help="clients per room (max 10)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per throughput run")
    parser.add_argument("--window", type=int, default=4, help="unacknowledged votes per client")
    parser.add_argument("--actions", type=int, default=200, help="latency actions per room")
    parser.add_argument("--interval", type=float, default=0.02,
                        help="pause between latency actions in a room (s)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    with redis_server() as redis_url:
        for count in (1, 2):
            with nodes(redis_url, count) as urls:
                label = f"{count} node" + ("s" if count > 1 else "")
                results[label] = asyncio.run(scenario(urls, args, f"n{count}"))

    print(f"shopping through the WebSocket API, Redis store: {args.rooms} rooms x "
          f"{args.clients} clients, window {args.window}")
    header = ("", "votes/s", "deliv/s", "moves/s", "all-seen p50", "p99", "delivery p50",
              "p99", "errors")
    print("{:<8} {:>8} {:>9} {:>8} {:>13} {:>8} {:>13} {:>8} {:>7}".format(*header))
    for label, r in results.items():
        print(f"{label:<8} {r['votes_per_s']:>8.0f} {r['deliveries_per_s']:>9.0f} "
              f"{r['moves_per_s']:>8.0f} {r['all_seen_p50_ms']:>10.2f} ms "
              f"{r['all_seen_p99_ms']:>5.2f} ms {r['delivery_p50_ms']:>10.2f} ms "
              f"{r['delivery_p99_ms']:>5.2f} ms {r['errors']:>7.0f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
