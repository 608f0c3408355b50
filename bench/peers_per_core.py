"""How many synthetic peers one core drives: full 10-person rooms (everyone publishes and
receives the nine others) hosted by ONE load-tester worker process, whose own CPU is
measured over a window that leaves the joins out.

    python bench/peers_per_core.py                       # 1 and 2 rooms, 360p
    python bench/peers_per_core.py --rooms 1 2 3 --preset 180p --json out.json
    python bench/peers_per_core.py --rooms 2 --variants old new --rounds 2   # A/B, interleaved

Each variant is a way of the tester (``VARIANTS``: the scenario keys it changes): ``new`` (the
defaults: the compiled receiver, loadtest.compiled_receive, reading each ICE socket itself in
batches, recvmmsg, loadtest.batched_socket, on the worker's 5 ms grid, loadtest.pacing, on which
frames go out too; video repaired like a browser), ``unpaced`` (``pacing_ms = 0``: every frame
at its own time, sockets read on readiness), ``single`` (the compiled receiver called by the
event loop once per datagram: ``batched_receive = false``),
``python`` (the same in Python: ``compiled_receive = false``), ``lean`` (the lean Python path,
counting only), ``old`` (aiortc's receive loop, counting only, as before issue 17). ``new``
sends each frame in one C call (loadtest.compiled_send); ``pysend`` is ``new`` with the
publishers' Python send loop, packet by packet (``compiled_send = false``). Runs
alternate between the variants, so that all see the same machine; the figure that compares
them is the worker's CPU per received packet.

The coshop server runs on the same machine (its CPU is printed too): on a small machine
the figure is a floor, since the worker competes with the server for the cores.

Every peer of the rooms joins at once, and each join renegotiates with everyone already in the
room, so the first seconds cost the worker far more than what follows: a 5 s warm-up left some of
that in a 15 s window (37-41 peers per core where a 45 s window after 10 s measured 52-55 on
the same quiet machine). The defaults (10 s warm-up, 30 s window) keep the joins out.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port, start_server
from loadtest.media import PRESETS, cached_video
from loadtest.runner import Runner
from loadtest.scenario import Scenario

#: name: the scenario keys that differ from the defaults (docs/LOADTEST.md)
VARIANTS: dict[str, dict[str, Any]] = {
    "new": {},
    "unpaced": {"pacing_ms": 0},
    "pysend": {"compiled_send": False},
    "single": {"batched_receive": False},
    "python": {"compiled_receive": False, "batched_receive": False},
    "lean": {"repair": False, "compiled_receive": False, "batched_receive": False},
    "old": {"repair": False, "lean_receive": False, "compiled_receive": False,
            "batched_receive": False, "compiled_send": False},
}


def measure(url: str, rooms: int, peers: int, preset: str, seconds: float, warmup: float,
            prefix: str, variant: str = "new") -> dict[str, Any]:
    """One run: ``rooms`` full rooms in one worker; the worker's CPU over the window."""
    scenario = Scenario.model_validate({
        "url": url, "rooms": rooms, "peers": peers, "preset": preset, "workers": 1,
        "duration": warmup + seconds, "warmup": warmup, "room_prefix": prefix,
        **VARIANTS[variant],
    })
    load = os.getloadavg()[0]
    report, _ = asyncio.run(Runner(scenario, progress=io.StringIO()).run())
    cores = report["tester"]["worker_cores"][0]
    n = rooms * peers
    received = report["packets"]["received"]
    load = max(load, os.getloadavg()[0])
    return {
        "variant": variant,
        "rooms": rooms,
        "peers": n,
        "receive_paths": report["tester"]["receive_paths"],
        "send_paths": report["tester"]["send_paths"],
        "worker_cores": cores,
        "packets_received": received,
        "worker_us_per_packet": 1e6 * cores * seconds / received if received else None,
        "load_average": load,
        "saturated": load > (os.cpu_count() or 1),
        "peers_per_core": n / cores if cores else None,
        "worker_loop_lag_p99_ms": report["tester"]["loop_lag_ms"]["p99"],
        "streams_received": report["routes"]["flowing"],
        "frames_lost": report["frames"]["lost"],
        "latency_p50_ms": report["latency_ms"]["p50"],
        "latency_p99_ms": report["latency_ms"]["p99"],
        "rx_mbps": report["bitrate_bps"]["rx"] / 1e6,
        "server_cores": report["server"]["cpu_cores"],
        "server_us_per_packet": report["server"]["us_per_forwarded_packet"],
        "errors": report["errors"]["count"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="an already running coshop node (default: start one)")
    ap.add_argument("--rooms", type=int, nargs="+", default=[1, 2],
                    help="room counts to measure, one run each")
    ap.add_argument("--peers", type=int, default=10, help="peers per room, all publishing")
    ap.add_argument("--preset", default="360p", choices=sorted(PRESETS))
    ap.add_argument("--duration", type=float, default=30.0, help="measurement window, s")
    ap.add_argument("--warmup", type=float, default=10.0, help="left out (joins), s")
    ap.add_argument("--variants", nargs="+", default=["new"], choices=sorted(VARIANTS),
                    help="receive paths to compare, run alternately")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each variant per room count")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    cached_video(PRESETS[args.preset])  # encode once, before any worker needs it
    server = None
    url = args.url
    if url is None:
        port = free_port()
        server = start_server(port, "--capacity", str(args.peers))
        url = f"http://127.0.0.1:{port}"
    load_before = os.getloadavg()
    results = []
    try:
        for rooms, _round, variant in itertools.product(args.rooms, range(args.rounds),
                                                        args.variants):
            print(f"{rooms} room(s) x {args.peers} publishers in one worker, "
                  f"{args.preset}, {args.duration:g} s window, variant {variant} ...",
                  flush=True)
            r = measure(url, rooms, args.peers, args.preset, args.duration, args.warmup,
                        f"ppc{int(time.time())}{variant}r{rooms}", variant)
            results.append(r)
            us = r["worker_us_per_packet"]
            print(f"  receive path: {', '.join(r['receive_paths'])}; send path: "
                  f"{', '.join(r['send_paths'])}", flush=True)
            print(f"  [{variant}] worker {us or 0:.1f} us CPU per received packet "
                  f"({r['packets_received']} packets); load {r['load_average']:.2f}"
                  f"{' SATURATED: figures are a floor' if r['saturated'] else ''}", flush=True)
            print(f"  worker {r['worker_cores']:.3f} cores -> {r['peers_per_core']:.0f} "
                  f"peers/core; {r['streams_received']} streams in, {r['rx_mbps']:.1f} "
                  f"Mbit/s; lost {r['frames_lost']}; latency p50/p99 "
                  f"{r['latency_p50_ms']:.1f}/{r['latency_p99_ms']:.1f} ms; worker loop lag "
                  f"p99 {r['worker_loop_lag_p99_ms']:.1f} ms; server "
                  f"{r['server_cores'] or 0:.2f} cores", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
    out = {"preset": args.preset, "window_s": args.duration, "cpu_count": os.cpu_count(),
           "load_average_before": load_before, "load_average_after": os.getloadavg(),
           "runs": results}
    print(f"load average before/after: {load_before[0]:.2f} / {out['load_average_after'][0]:.2f}"
          f" on {os.cpu_count()} cores")
    for variant in args.variants:
        runs = [r for r in results if r["variant"] == variant and r["worker_us_per_packet"]]
        if runs:
            mean = sum(r["worker_us_per_packet"] for r in runs) / len(runs)
            print(f"{variant}: {mean:.1f} us worker CPU per received packet "
                  f"(mean of {len(runs)} run(s))")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
