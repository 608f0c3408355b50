"""Join-benchmark worker: the publishers already in a room, in their own process.

JSON lines on stdio. Commands:
    {"cmd": "join", "url": URL, "room": ROOM, "first": I, "count": N}  -> {"ids": {id: colour}}
        (fillers pubI .. pubI+N-1, joined one after the other)
    {"cmd": "wait", "ids": [...]}  -> {"ok": true} once each local filler has answered an offer
        carrying the video of every other id
    {"cmd": "lag"}  -> {"max_ms": M}: the worst event-loop lag since the last "lag" (a busy load
        generator answers keyframe requests late, which would show up as join time)
    {"cmd": "quit"}
Fillers publish painted VP8 (colour = their index) and Opus silence, and drop what they receive
undecoded (see join_peer.Participant).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.join_peer import RoomClient


def emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def join(url: str, room: str, first: int, count: int) -> list[RoomClient]:
    clients = []
    for i in range(first, first + count):
        client = RoomClient(url, f"pub{i}", i, decode=False)
        await client.connect()
        await client.join(room)
        clients.append(client)
    return clients


async def wait_receiving(clients: list[RoomClient], ids: set[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if all(c.receiving() >= ids - {c.me} and not c.pending_offer for c in clients):
            return
        if time.monotonic() > deadline:
            got = {c.name: len(c.receiving()) for c in clients}
            raise RuntimeError(f"fillers did not all receive each other: {got}")
        await asyncio.sleep(0.05)


class LagMeter:
    """The event loop's worst lateness waking from a 20 ms sleep."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.02)
            self.worst = max(self.worst, loop.time() - before - 0.02)


async def main() -> None:
    loop = asyncio.get_running_loop()
    clients: list[RoomClient] = []
    lag = LagMeter()
    meter = loop.create_task(lag.run())
    emit({"ready": True})
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        cmd = json.loads(line)
        if cmd["cmd"] == "join":
            clients += await join(cmd["url"], cmd["room"], cmd["first"], cmd["count"])
            emit({"ids": {c.me: c.colour for c in clients}})
        elif cmd["cmd"] == "wait":
            await wait_receiving(clients, set(cmd["ids"]))
            emit({"ok": True})
        elif cmd["cmd"] == "lag":
            emit({"max_ms": 1000 * lag.worst})
            lag.worst = 0.0
        elif cmd["cmd"] == "quit":
            break
    meter.cancel()
    for client in clients:
        await client.leave(limit=1)


if __name__ == "__main__":
    asyncio.run(main())
