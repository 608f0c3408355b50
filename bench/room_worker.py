"""Benchmark worker: hosts some synthetic participants of one room; JSON lines on stdio.

Commands (stdin): {"cmd": "join", "names": [...], "indices": [...], "publish": bool}
                  {"cmd": "reset"} | {"cmd": "stats"} | {"cmd": "quit"}
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from loadtest.media import PRESETS, cached_video, encode_audio
from loadtest.peer import SyntheticPeer


def emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main() -> None:
    url, room, preset = sys.argv[1], sys.argv[2], PRESETS[sys.argv[3]]
    video = cached_video(preset)
    audio = encode_audio()
    peers: list[SyntheticPeer] = []
    window_start = time.time()
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        emit({"ready": True})
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            cmd = json.loads(line)
            if cmd["cmd"] == "join":
                for name, index in zip(cmd["names"], cmd["indices"], strict=True):
                    peer = SyntheticPeer(
                        url=url,
                        room=room,
                        name=name,
                        index=index,
                        video=video if cmd["publish"] else None,
                        audio=audio if cmd["publish"] else None,
                        session=session,
                    )
                    await peer.start()
                    await asyncio.wait_for(peer.joined.wait(), 10)
                    peers.append(peer)
                emit({"joined": [p.participant_id for p in peers]})
            elif cmd["cmd"] == "routes":
                emit({"routes": {p.participant_id: len(p.result.routes) for p in peers}})
            elif cmd["cmd"] == "reset":
                window_start = time.time()
                for p in peers:
                    p.result.routes.clear()  # new routes start on the next packet
                emit({"ok": True})
            elif cmd["cmd"] == "stats":
                duration = time.time() - window_start
                emit(
                    {
                        "duration": duration,
                        "peers": [
                            {
                                "id": p.participant_id,
                                "phases": p.result.phases.as_dict(),
                                "first_frames": {
                                    src: r.first_frame_at - p.result.phases.started_at
                                    for (src, kind), r in p.result.routes.items()
                                    if kind == "video" and r.first_frame_at is not None
                                },
                                "routes": [
                                    {
                                        "source": src,
                                        **r.summary(duration),
                                        "latencies": r.latencies_ms[-2000:],
                                    }
                                    for (src, kind), r in p.result.routes.items()
                                ],
                                "errors": p.result.errors,
                            }
                            for p in peers
                        ],
                    }
                )
            elif cmd["cmd"] == "quit":
                break
        for p in peers:
            await p.close()


if __name__ == "__main__":
    asyncio.run(main())
