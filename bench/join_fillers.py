"""Join-benchmark worker: the publishers already in a room, in their own process.

JSON lines on stdio. Commands:
    {"cmd": "fill", "url": URL, "room": ROOM, "count": N}  -> {"ids": {id: colour}} once every
        filler has answered an offer carrying every other filler's video
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


async def fill(url: str, room: str, count: int) -> list[RoomClient]:
    clients = []
    for i in range(count):
        client = RoomClient(url, f"pub{i}", i, decode=False)
        await client.connect()
        await client.join(room)
        clients.append(client)
    deadline = time.monotonic() + 60
    while True:
        ids = {c.me for c in clients}
        if all(c.receiving() >= ids - {c.me} and not c.pending_offer for c in clients):
            return clients
        if time.monotonic() > deadline:
            got = {c.name: len(c.receiving()) for c in clients}
            raise RuntimeError(f"fillers did not all receive each other: {got}")
        await asyncio.sleep(0.05)


async def main() -> None:
    loop = asyncio.get_running_loop()
    clients: list[RoomClient] = []
    emit({"ready": True})
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        cmd = json.loads(line)
        if cmd["cmd"] == "fill":
            clients = await fill(cmd["url"], cmd["room"], cmd["count"])
            emit({"ids": {c.me: c.colour for c in clients}})
        elif cmd["cmd"] == "quit":
            break
    for client in clients:
        await client.leave(limit=1)


if __name__ == "__main__":
    asyncio.run(main())
