"""Full-room benchmark: N publishers, each received by the N-1 others, through coshop.

Prints server CPU (cores and microseconds per forwarded packet), packets/s in and out,
one-way latency through the SFU against a direct peer-to-peer link timed by the same worker
processes in the same window, frame loss and freezes, late joiners' time to first frame, and
the machine's load (busy cores, steal, load average) with the tester's event-loop lag: a run
on a saturated machine says it is unreliable.

    python bench/room_bench.py                      # starts its own `coshop serve`
    python bench/room_bench.py --publishers 6 --duration 10 --json out.json
    python bench/room_bench.py --compare --runs 3   # both send paths, interleaved
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from bench._common import (
    free_port,
    histogram_quantile,
    pick,
    scrape,
    scrape_histogram,
    start_server,
)
from loadtest.machine import MachineLoad, MachineWindow, judge
from loadtest.media import PRESETS, cached_video
from loadtest.metrics import percentile

HERE = Path(__file__).resolve().parent
#: The server's fan-out histogram (coshop only): in-server residence by its own clock.
FANOUT = "coshop_sfu_fanout_seconds"


class Worker:
    """A room_worker.py subprocess speaking JSON lines."""

    def __init__(self, url: str, room: str, preset: str, script: str = "room_worker.py") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / script), url, room, preset],
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


def fmt(v: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}{unit}"


def _us(seconds: float | None) -> float | None:
    return None if seconds is None else 1e6 * seconds


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
    ap.add_argument("--runs", type=int, default=1,
                    help="windows per send path; with --compare the paths alternate (ABBA...)")
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument(
        "--compare",
        action="store_true",
        help="also measure aiortc's own send path (COSHOP_DIRECT_SEND=false), interleaved",
    )
    args = ap.parse_args()

    print(
        f"preparing pre-encoded {args.preset} VP8 loop (cached after the first run)...", flush=True
    )
    loop_info = cached_video(PRESETS[args.preset])
    print(f"  {len(loop_info.deltas)} frames, {loop_info.bitrate / 1e6:.2f} Mbit/s "
          f"(preset label {PRESETS[args.preset].bitrate / 1e6:.2f})", flush=True)

    if args.url is not None:
        return 0 if measure(args, args.url, None)["streams_received"] else 1
    modes = [("aiortc send path (baseline)", False), ("direct egress", True)]
    if not args.compare:
        modes = modes[1:]
    # Every server is up for the whole benchmark and the modes take turns, so slow drifts of
    # a shared machine (other jobs, thermal) fall on both alike.
    servers: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in modes}
    try:
        for label, direct in modes:
            port = free_port()
            # Late joiners come on top of a full room, so allow a few more participants.
            server = start_server(
                port, "--capacity", str(args.publishers + args.late_joiners + 2),
                env={"COSHOP_DIRECT_SEND": "true" if direct else "false"},
            )
            servers[label] = (f"http://127.0.0.1:{port}", server)
            print(f"started coshop serve ({label}) on port {port} (pid {server.pid})")
        for round_ in range(args.runs):
            order = modes if round_ % 2 == 0 else modes[::-1]
            for label, _ in order:
                print(f"\n=== {label}, run {round_ + 1} of {args.runs} ===", flush=True)
                url, server = servers[label]
                results[label].append(measure(args, url, server))
    finally:
        for _, server in servers.values():
            server.terminate()
            server.wait(timeout=15)
    summaries = {label: summarize_runs(runs) for label, runs in results.items()}
    print_runs(summaries)
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "summary": summaries}, indent=2))
        print(f"wrote {args.json}")
    return 0 if all(r["streams_received"] for rs in results.values() for r in rs) else 1


#: Figures summarized over runs: (label, key path in a run's result, unit, digits).
RUN_FIGURES = (
    ("CPU per received packet", ("server_us_per_received_packet",), " us", 1),
    ("server CPU", ("server_cores",), " cores", 3),
    ("late joiner 1st frame p50", ("late_join_first_frame_ms", "p50"), " ms", 0),
    ("late joiner 1st frame p95", ("late_join_first_frame_ms", "p95"), " ms", 0),
    ("late joiner streams shown", ("late_join_shown_pct",), " %", 0),
    ("SFU-added latency p50", ("sfu_added_latency_ms", "p50"), " ms", 1),
    ("in-server fan-out mean", ("sfu_fanout_us", "mean"), " us", 0),
    ("in-server fan-out p99 <=", ("sfu_fanout_us", "p99_at_most"), " us", 0),
    ("frames lost", ("frames_lost",), "", 0),
)


def _get(result: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = result
    for key in path:
        value = None if value is None else value.get(key)
    return None if value is None else float(value)


class RoomNotFlowing(RuntimeError):
    """The room never had every route flowing: the run measured nothing."""


def summarize_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, minimum and maximum of each RUN_FIGURES figure over ``runs``; how many runs
    were unreliable (a saturated machine, steal, a lagging tester)."""
    out: dict[str, Any] = {"runs": len(runs), "unreliable_runs": sum(
        1 for r in runs if not (r.get("reliability") or {}).get("reliable", True))}
    for label, path, _, _ in RUN_FIGURES:
        values = [v for r in runs if (v := _get(r, path)) is not None]
        out[label] = None if not values else {
            "median": statistics.median(values), "min": min(values), "max": max(values)}
    return out


def print_runs(summaries: dict[str, dict[str, Any]]) -> None:
    """Median [min - max] of every summarized figure, per subject."""
    for subject, summary in summaries.items():
        flag = (f", {summary['unreliable_runs']} UNRELIABLE" if summary["unreliable_runs"]
                else "")
        print(f"\n{subject}: median [range] over {summary['runs']} run(s){flag}")
        for label, _, unit, digits in RUN_FIGURES:
            f = summary[label]
            if f is not None:
                print(f"  {label:28s} {fmt(f['median'], unit, digits)} "
                      f"[{fmt(f['min'], '', digits)} - {fmt(f['max'], '', digits)}]")


def measure(
    args: argparse.Namespace, url: str, server: subprocess.Popen[bytes] | None,
    *, janus_room: int | None = None,
) -> dict[str, Any]:
    """One full-room window and the late joiners against coshop at ``url``, or against
    Janus's VideoRoom ``janus_room`` (``url`` its HTTP API; bench/janus_worker.py)."""
    if janus_room is None:
        room, script = f"bench-{uuid.uuid4().hex[:8]}", "room_worker.py"
    else:
        room, script = str(janus_room), "janus_worker.py"
    workers = [Worker(url, room, args.preset, script) for _ in range(args.workers)]
    try:
        return run(args, url, room, server, workers, janus=janus_room is not None)
    finally:
        for w in workers:
            w.close()


def run(
    args: argparse.Namespace,
    url: str,
    room: str,
    server: subprocess.Popen[bytes] | None,
    workers: list[Worker],
    *,
    janus: bool = False,
) -> dict[str, Any]:
    n = args.publishers
    for i in range(n):
        workers[i % len(workers)].call(
            {"cmd": "join", "names": [f"pub{i}"], "indices": [i], "publish": True}
        )
    if janus:  # Janus's publishers subscribe to each other once all publish
        for w in workers:
            w.call({"cmd": "subscribe", "publishers": n})
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
            raise RoomNotFlowing(f"not every route is flowing: {counts}")
        time.sleep(0.5)
    time.sleep(3)  # warm-up

    server_proc = psutil.Process(server.pid) if server is not None else None
    # The latency without the SFU is measured in the very processes that receive the room,
    # in the same window: both carry the same tester load.
    for w in workers:
        w.call({"cmd": "direct_start"})
    time.sleep(2)  # the direct links' ICE and DTLS
    for w in workers:
        w.call({"cmd": "reset"})
    machine = MachineWindow()
    m0, t0 = ({} if janus else scrape(url)), time.time()
    fanout0 = [] if janus else scrape_histogram(url, FANOUT)
    cpu0 = sum(server_proc.cpu_times()[:2]) if server_proc else None
    time.sleep(args.duration)
    m1, t1 = ({} if janus else scrape(url)), time.time()
    fanout1 = [] if janus else scrape_histogram(url, FANOUT)
    cpu1 = sum(server_proc.cpu_times()[:2]) if server_proc else None
    machine_load = machine.stop()
    replies = [w.call({"cmd": "stats"}) for w in workers]
    stats = [p for r in replies for p in r["peers"]]
    tester_lag = max((r["loop_lag_ms"]["p99"] or 0.0 for r in replies), default=None)
    baseline = [x for w in workers for x in w.call({"cmd": "direct_stop"})["latencies"]]
    reliability = judge(machine_load, tester_lag)
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
    # Counted by the receivers, the same way for any SFU (its own counters may differ in
    # what they include).
    received = sum(r["packets"] for p in stats for r in p["routes"])
    us_per_received = (
        (cpu1 - cpu0) / received * 1e6
        if cpu0 is not None and cpu1 is not None and received
        else None
    )
    latencies = [x for r in video_routes for x in r["latencies"]]
    fanouts = pick(m1, "sfu_fanout_seconds_count") - pick(m0, "sfu_fanout_seconds_count")
    fps = [r["frames"] / elapsed for r in video_routes]
    sfu_p50, direct_p50 = percentile(latencies, 50), percentile(baseline, 50)

    print("late joiners: one viewer at a time joins the running room...", flush=True)
    first_frames: list[float] = []
    late_rtx = late_nacks = 0
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
        late_rtx += sum(r["retransmissions"] for r in peers[-1]["routes"])
        late_nacks += sum(r["nacks"] for r in peers[-1]["routes"])
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
        "server_us_per_received_packet": us_per_received,
        "packets_received_per_s": received / elapsed,
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
        # Differences of percentiles of two populations timed by the same processes in the
        # same window (not per-frame differences).
        "sfu_added_latency_ms": {
            "p50": None if sfu_p50 is None or direct_p50 is None else sfu_p50 - direct_p50,
            "p95": None
            if not latencies or not baseline
            else (percentile(latencies, 95) or 0) - (percentile(baseline, 95) or 0),
        },
        # In-server residence by the server's own clock: from a packet's hand-over by the
        # receive path to its last copy written (bucket upper bounds; coshop only).
        "sfu_fanout_us": {
            "mean": None
            if not fanouts
            else 1e6 * (pick(m1, "sfu_fanout_seconds_sum") - pick(m0, "sfu_fanout_seconds_sum"))
            / fanouts,
            "p50_at_most": _us(histogram_quantile(fanout0, fanout1, 0.50)),
            "p99_at_most": _us(histogram_quantile(fanout0, fanout1, 0.99)),
        },
        "machine": None if machine_load is None else machine_load.as_dict(),
        "tester_loop_lag_p99_ms": tester_lag,
        "reliability": reliability.as_dict(),
        # Streams a late joiner showed within its 2.5 s: the percentiles are over these only.
        "late_join_shown_pct": 100 * len(first_frames) / max(1, args.late_joiners * n),
        "late_join_first_frame_ms": {
            "n": len(first_frames),
            "p50": None if not first_frames else 1000 * (percentile(first_frames, 50) or 0),
            "p95": None if not first_frames else 1000 * (percentile(first_frames, 95) or 0),
        },
        # Does the server answer NACKs? (Janus keeps no retransmission buffer until receiver
        # reports have given it an RTT.) Sequence numbers NACKed, RTX packets received.
        "nacks": sum(r["nacks"] for r in video_routes),
        "retransmissions": sum(r["retransmissions"] for r in video_routes),
        "late_join_nacks": late_nacks,
        "late_join_retransmissions": late_rtx,
        "errors": [e for p in stats for e in p["errors"]],
    }
    print()
    print(f"full room: {n} publishers x {n - 1} subscribers, {args.preset}, {elapsed:.1f} s window")
    print(f"  server CPU                 {fmt(cores, ' cores', 3)}")
    print(f"  CPU per forwarded packet   {fmt(us_per_pkt, ' us')} (server's count), "
          f"{fmt(us_per_received, ' us')} per packet received ({received / elapsed:.0f}/s)")
    print(f"  packets/s in / out         {in_pkts / elapsed:.0f} / {out_pkts / elapsed:.0f}")
    print(f"  video streams / fps min    {len(video_routes)} / {fmt(result['video_fps_min'])}")
    print(f"  frames lost / freezes      {result['frames_lost']} / {result['freezes']}")
    lv, ld = result["latency_via_sfu_ms"], result["latency_direct_ms"]
    print(f"  latency via SFU p50/p95    {fmt(lv['p50'], ' ms')} / {fmt(lv['p95'], ' ms')}")
    print(f"  latency direct p50/p95     {fmt(ld['p50'], ' ms')} / {fmt(ld['p95'], ' ms')}"
          "  (same receiver processes, same window)")
    sa = result["sfu_added_latency_ms"]
    print(f"  SFU-added p50/p95          {fmt(sa['p50'], ' ms')} / {fmt(sa['p95'], ' ms')}"
          "  (difference of the two percentiles)")
    fo = result["sfu_fanout_us"]
    if fo["mean"] is not None:
        print(f"  in-server fan-out          mean {fmt(fo['mean'], ' us', 0)}, p50 <= "
              f"{fmt(fo['p50_at_most'], ' us', 0)}, p99 <= {fmt(fo['p99_at_most'], ' us', 0)}"
              "  (server clock: hand-over -> last copy written)")
    lj = result["late_join_first_frame_ms"]
    print(
        f"  late joiner 1st frame      p50 {fmt(lj['p50'], ' ms', 0)}, "
        f"p95 {fmt(lj['p95'], ' ms', 0)} (n={lj['n']})"
    )
    print(f"  NACKed / RTX received      {result['nacks']} / {result['retransmissions']} "
          f"(window), {late_nacks} / {late_rtx} (late joiners)")
    if result["errors"]:
        print(f"  errors: {result['errors'][:5]}")
    print(f"  machine                    {machine_line(machine_load)}; tester loop lag p99 "
          f"{fmt(tester_lag, ' ms')}")
    print(f"  this run is {reliability.line()}")
    return result


def machine_line(load: MachineLoad | None) -> str:
    """Busy cores, steal and load average of a window, for a report line."""
    if load is None:
        return "- (no /proc/stat)"
    avg = " ".join(f"{x:.2f}" for x in load.load_average or ())
    psi = "" if load.pressure is None else f", CPU pressure {100 * load.pressure:.0f} %"
    return (f"{load.busy_cores:.2f} of {load.cores} cores busy, steal "
            f"{100 * load.steal_share:.1f} %{psi}, load average {avg}")


if __name__ == "__main__":
    raise SystemExit(main())
