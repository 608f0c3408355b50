"""Benchmark worker: hosts some synthetic participants of one room; JSON lines on stdio.

Commands (stdin): {"cmd": "join", "names": [...], "indices": [...], "publish": bool}
                  {"cmd": "routes"} | {"cmd": "reset"} | {"cmd": "stats"} | {"cmd": "quit"}
                  {"cmd": "direct_start"} | {"cmd": "direct_stop"}  a DirectLink in this
                  process for the window (latency without the SFU, under the same load)

The peers live in a ``loadtest.worker.PeerHost`` (the load tester's worker machinery);
this script only keeps room_bench.py's command set and reply shapes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.direct_link import DirectLink
from loadtest.media import PRESETS, cached_video, encode_audio
from loadtest.scenario import PeerPlan
from loadtest.worker import PeerHost


def emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def peer_stats(host: PeerHost, duration: float) -> list[dict[str, Any]]:
    out = []
    for s in host.sessions:
        r = s.peer.result
        out.append(
            {
                "id": s.peer.participant_id,
                "phases": r.phases.as_dict(),
                "first_frames": {src: t - r.phases.started_at for src, t in r.first_frames.items()},
                "routes": [
                    {
                        "source": src,
                        **route.summary(duration),
                        "latencies": route.latencies_ms[-2000:],
                    }
                    for (src, _kind), route in r.routes.items()
                ],
                "errors": r.errors,
            }
        )
    return out


async def main() -> None:
    url, room, preset = sys.argv[1], sys.argv[2], PRESETS[sys.argv[3]]
    loop = asyncio.get_running_loop()
    direct: DirectLink | None = None
    async with PeerHost(
        url, cached_video(preset), encode_audio(), keep_samples=True, join_timeout=10
    ) as host:
        emit({"ready": True})
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            cmd = json.loads(line)
            if cmd["cmd"] == "join":
                plans = [
                    PeerPlan(room, name, index, cmd["publish"])
                    for name, index in zip(cmd["names"], cmd["indices"], strict=True)
                ]
                for session in await host.join_and_wait(plans):
                    if session.state != "joined":
                        raise RuntimeError(
                            f"{session.plan.name} did not join: {session.peer.result.errors}"
                        )
                emit({"joined": [s.peer.participant_id for s in host.sessions]})
            elif cmd["cmd"] == "routes":
                emit(
                    {
                        "routes": {
                            s.peer.participant_id: len(s.peer.result.routes) for s in host.sessions
                        }
                    }
                )
            elif cmd["cmd"] == "reset":
                host.reset()
                emit({"ok": True})
            elif cmd["cmd"] == "stats":
                emit(
                    {
                        "duration": time.time() - host.window_start,
                        "peers": peer_stats(host, time.time() - host.window_start),
                        "loop_lag_ms": host.lag.window.summary(),
                    }
                )
            elif cmd["cmd"] == "direct_start":
                direct = DirectLink(cached_video(preset))
                await direct.start()
                emit({"ok": True})
            elif cmd["cmd"] == "direct_stop":
                latencies = [] if direct is None else await direct.close()
                direct = None
                emit({"latencies": latencies})
            elif cmd["cmd"] == "quit":
                break
        if direct is not None:
            await direct.close()


if __name__ == "__main__":
    asyncio.run(main())
