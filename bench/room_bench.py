"""Full-room benchmark: N publishers, each received by the N-1 others, through coshop.

Prints server CPU (cores and microseconds per forwarded packet), packets/s in and out,
one-way latency through the SFU against a direct peer-to-peer baseline measured in the
same run, frame loss and freezes, and late joiners' time to first frame.

    python bench/room_bench.py                      # starts its own `coshop serve`
    python bench/room_bench.py --publishers 6 --duration 10 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

from bench._common import free_port, pick, scrape, start_server
from loadtest.media import PRESETS, VIDEO_CLOCK, cached_video
from loadtest.metrics import RouteStats, percentile
from loadtest.peer import ReplayVideoTrack
from loadtest.stamp import read_stamp

HERE = Path(__file__).resolve().parent


class Worker:
    """A room_worker.py subprocess speaking JSON lines."""

    def __init__(self, url: str, room: str, preset: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "room_worker.py"), url, room, preset],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.recv()  # {"ready": true}

    def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def recv(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("benchmark worker exited")
        result: dict[str, Any] = json.loads(line)
        return result

    def call(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.send(obj)
        return self.recv()

    def close(self) -> None:
        try:
            self.send({"cmd": "quit"})
            self.proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


async def direct_baseline(preset: str, seconds: float) -> list[float]:
    """One-way frame latency of a direct aiortc-to-aiortc link (no SFU), for comparison."""
    config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    pub, sub = RTCPeerConnection(config), RTCPeerConnection(config)
    route = RouteStats("video")
    pub.addTrack(ReplayVideoTrack(cached_video(PRESETS[preset]), 999))

    @sub.on("track")
    def _track(track: Any) -> None:
        receiver = next(t.receiver for t in sub.getTransceivers() if t.receiver.track is track)

        async def handle(packet: Any, arrival_time_ms: int) -> None:
            route.on_packet(
                seq=packet.sequence_number,
                timestamp=packet.timestamp,
                clock_rate=VIDEO_CLOCK,
                size=len(packet.payload),
                marker=bool(packet.marker),
                stamp=read_stamp(packet.payload) if packet.marker else None,
                now=time.time(),
            )

        receiver._handle_rtp_packet = handle

    await pub.setLocalDescription(await pub.createOffer())
    await sub.setRemoteDescription(pub.localDescription)
    await sub.setLocalDescription(await sub.createAnswer())
    await pub.setRemoteDescription(sub.localDescription)
    await asyncio.sleep(seconds)
    await pub.close()
    await sub.close()
    return route.latencies_ms[30:]  # skip the start-up


def fmt(v: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}{unit}"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", help="an already running coshop node (default: start one)")
    ap.add_argument("--publishers", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2, help="processes hosting the participants")
    ap.add_argument("--duration", type=float, default=20.0, help="measurement window, seconds")
    ap.add_argument("--late-joiners", type=int, default=6)
    ap.add_argument("--preset", default="360p", choices=sorted(PRESETS))
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument(
        "--compare",
        action="store_true",
        help="also measure aiortc's own send path (COSHOP_DIRECT_SEND=false) in the same run",
    )
    args = ap.parse_args()

    print(
        f"preparing pre-encoded {args.preset} VP8 loop (cached after the first run)...", flush=True
    )
    loop_info = cached_video(PRESETS[args.preset])
    print(f"  {len(loop_info.deltas)} frames, {loop_info.bitrate / 1e6:.2f} Mbit/s", flush=True)

    if args.url is not None:
        return measure(args, args.url, None)
    modes = [("aiortc send path (baseline)", False), ("direct egress", True)]
    if not args.compare:
        modes = modes[1:]
    results = {}
    for label, direct in modes:
        print(f"\n=== {label} ===", flush=True)
        port = free_port()
        # Late joiners come on top of a full room, so allow a few more participants.
        server = start_server(
            port,
            "--capacity",
            str(args.publishers + args.late_joiners + 2),
            env={"COSHOP_DIRECT_SEND": "true" if direct else "false"},
        )
        url = f"http://127.0.0.1:{port}"
        print(f"started coshop serve on {url} (pid {server.pid})", flush=True)
        try:
            results[label] = measure(args, url, server)
        finally:
            server.terminate()
            server.wait(timeout=15)
    if len(results) > 1:
        print("\nsame run, both send paths:")
        for label, r in results.items():
            print(
                f"  {label:30s} {fmt(r['server_cores'], ' cores', 3)}  "
                f"{fmt(r['server_us_per_forwarded_packet'], ' us/packet')}  "
                f"p99 {fmt(r['latency_via_sfu_ms']['p99'], ' ms')}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")
    return 0 if all(r["streams_received"] for r in results.values()) else 1


def measure(
    args: argparse.Namespace, url: str, server: subprocess.Popen[bytes] | None
) -> dict[str, Any]:
    room = f"bench-{int(time.time())}"
    workers = [Worker(url, room, args.preset) for _ in range(args.workers)]
    try:
        return run(args, url, room, server, workers)
    finally:
        for w in workers:
            w.close()


def run(
    args: argparse.Namespace,
    url: str,
    room: str,
    server: subprocess.Popen[bytes] | None,
    workers: list[Worker],
) -> dict[str, Any]:
    n = args.publishers
    for i in range(n):
        workers[i % len(workers)].call(
            {"cmd": "join", "names": [f"pub{i}"], "indices": [i], "publish": True}
        )
    print(
        f"{n} publishers joined; waiting until every one receives {2 * (n - 1)} streams...",
        flush=True,
    )
    deadline = time.time() + 90
    while True:
        counts = {k: v for w in workers for k, v in w.call({"cmd": "routes"})["routes"].items()}
        if all(c >= 2 * (n - 1) for c in counts.values()):
            break
        if time.time() > deadline:
            raise RuntimeError(f"not every route is flowing: {counts}")
        time.sleep(0.5)
    time.sleep(3)  # warm-up

    server_proc = psutil.Process(server.pid) if server is not None else None
    for w in workers:
        w.call({"cmd": "reset"})
    m0, t0 = scrape(url), time.time()
    cpu0 = sum(server_proc.cpu_times()[:2]) if server_proc else None
    baseline = asyncio.run(direct_baseline(args.preset, args.duration))
    remaining = args.duration - (time.time() - t0)
    if remaining > 0:
        time.sleep(remaining)
    m1, t1 = scrape(url), time.time()
    cpu1 = sum(server_proc.cpu_times()[:2]) if server_proc else None
    stats = [p for w in workers for p in w.call({"cmd": "stats"})["peers"]]
    elapsed = t1 - t0

    out_pkts = pick(m1, "sfu_packets_out") - pick(m0, "sfu_packets_out")
    in_pkts = pick(m1, "sfu_packets_in") - pick(m0, "sfu_packets_in")
    cores = (cpu1 - cpu0) / elapsed if cpu0 is not None and cpu1 is not None else None
    us_per_pkt = (
        (cpu1 - cpu0) / out_pkts * 1e6
        if cpu0 is not None and cpu1 is not None and out_pkts
        else None
    )
    video_routes = [r for p in stats for r in p["routes"] if r["kind"] == "video"]
    latencies = [x for r in video_routes for x in r["latencies"]]
    fps = [r["frames"] / elapsed for r in video_routes]
    sfu_p50, direct_p50 = percentile(latencies, 50), percentile(baseline, 50)

    print("late joiners: one viewer at a time joins the running room...", flush=True)
    first_frames: list[float] = []
    for k in range(args.late_joiners):
        w = workers[k % len(workers)]
        w.call({"cmd": "join", "names": [f"late{k}"], "indices": [100 + k], "publish": False})
        time.sleep(2.5)
        peers = w.call({"cmd": "stats"})["peers"]
        got = peers[-1]["first_frames"]  # the viewer this worker just added
        phases = peers[-1]["phases"]
        shown = ", ".join(f"{name} {1000 * v:.0f}" for name, v in phases.items() if v is not None)
        print(f"  late{k} phases (ms): {shown}", flush=True)
        if len(got) < n:
            print(f"  late{k}: only {len(got)} of {n} publishers' video arrived", flush=True)
        first_frames.extend(got.values())
        print(
            f"  late{k}: first frame p50 "
            f"{fmt(1000 * (percentile(list(got.values()), 50) or 0), ' ms', 0)}",
            flush=True,
        )

    result = {
        "publishers": n,
        "streams_received": len(video_routes),
        "window_s": elapsed,
        "server_cores": cores,
        "server_us_per_forwarded_packet": us_per_pkt,
        "packets_in_per_s": in_pkts / elapsed,
        "packets_out_per_s": out_pkts / elapsed,
        "video_fps_min": min(fps) if fps else None,
        "frames_lost": sum(r["lost_frames"] for r in video_routes),
        "freezes": sum(r["freezes"] for r in video_routes),
        "latency_via_sfu_ms": {
            "p50": sfu_p50,
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
        },
        "latency_direct_ms": {
            "p50": direct_p50,
            "p95": percentile(baseline, 95),
            "p99": percentile(baseline, 99),
        },
        "sfu_added_latency_ms": {
            "p50": None if sfu_p50 is None or direct_p50 is None else sfu_p50 - direct_p50,
            "p99": None
            if not latencies or not baseline
            else (percentile(latencies, 99) or 0) - (percentile(baseline, 99) or 0),
        },
        "late_join_first_frame_ms": {
            "n": len(first_frames),
            "p50": None if not first_frames else 1000 * (percentile(first_frames, 50) or 0),
            "p95": None if not first_frames else 1000 * (percentile(first_frames, 95) or 0),
        },
        "errors": [e for p in stats for e in p["errors"]],
    }
    print()
    print(f"full room: {n} publishers x {n - 1} subscribers, {args.preset}, {elapsed:.1f} s window")
    print(f"  server CPU                 {fmt(cores, ' cores', 3)}")
    print(f"  CPU per forwarded packet   {fmt(us_per_pkt, ' us')}")
    print(f"  packets/s in / out         {in_pkts / elapsed:.0f} / {out_pkts / elapsed:.0f}")
    print(f"  video streams / fps min    {len(video_routes)} / {fmt(result['video_fps_min'])}")
    print(f"  frames lost / freezes      {result['frames_lost']} / {result['freezes']}")
    lv, ld = result["latency_via_sfu_ms"], result["latency_direct_ms"]
    print(f"  latency via SFU p50/p99    {fmt(lv['p50'], ' ms')} / {fmt(lv['p99'], ' ms')}")
    print(f"  latency direct p50/p99     {fmt(ld['p50'], ' ms')} / {fmt(ld['p99'], ' ms')}")
    sa = result["sfu_added_latency_ms"]
    print(f"  SFU-added p50/p99          {fmt(sa['p50'], ' ms')} / {fmt(sa['p99'], ' ms')}")
    lj = result["late_join_first_frame_ms"]
    print(
        f"  late joiner 1st frame      p50 {fmt(lj['p50'], ' ms', 0)}, "
        f"p95 {fmt(lj['p95'], ' ms', 0)} (n={lj['n']})"
    )
    if result["errors"]:
        print(f"  errors: {result['errors'][:5]}")
    return result


if __name__ == "__main__":
    raise SystemExit(main())
