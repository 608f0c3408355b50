"""Soak: a full room with churn for a long time; memory, fds and tasks of the server over time.

    .venv/bin/python bench/soak_bench.py [--minutes 30] [--churn 0.1] [--peers 10]
                                         [--segment 120] [--plot soak.png] [--json soak.json]

``coshop serve`` runs in its own process; ``coshop loadtest`` drives one room of ``--peers``
synthetic publishers (360p VP8 + Opus) in segments of ``--segment`` seconds that alternate
churn (one leave + one join every 1/``--churn`` s) and no churn, so the A/B of what churn costs
the people who stay (freezes, latency p99) is interleaved in one run on one noisy machine.
Every 10 s the server's /metrics gives RSS, open fds and asyncio tasks; at the end the growth
over the last two thirds of the run is printed (flat = under 5 %).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port, scrape, start_server

SAMPLE_S = 10.0


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    cores = os.cpu_count() or 1
    flag = "  SATURATED (load > cores): figures are noisy" if one > cores else ""
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {cores} cores{flag}"


def sampler(url: str, out: list[dict[str, float]], stop: threading.Event, t0: float) -> None:
    while not stop.wait(SAMPLE_S):
        try:
            m = scrape(url)
        except OSError:
            continue
        out.append({
            "t": time.monotonic() - t0,
            "rss_mb": m.get("process_resident_memory_bytes", 0.0) / 1e6,
            "fds": m.get("process_open_fds", 0.0),
            "tasks": m.get("coshop_asyncio_tasks", 0.0),
            "participants": m.get("coshop_participants", 0.0),
        })
        s = out[-1]
        print(f"  {s['t'] / 60:5.1f} min  RSS {s['rss_mb']:6.1f} MB  fds {s['fds']:4.0f}  "
              f"tasks {s['tasks']:4.0f}  participants {s['participants']:.0f}", flush=True)


def segment(url: str, peers: int, churn: float, seconds: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [sys.executable, "-c", "from signaling.cli import main; raise SystemExit(main())",
           "loadtest", "--url", url, "--rooms", "1", "--peers", str(peers), "--ramp", "5",
           "--warmup", "5s", "--duration", f"{seconds:.0f}s", "--json", path, "--workers", "1"]
    if churn:
        cmd += ["--churn", str(churn)]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent)))
    try:
        data: dict[str, Any] = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"failed": True}
    finally:
        Path(path).unlink(missing_ok=True)
    return {
        "churn": churn,
        "changes": data["peers"]["churned"],
        "freezes": data["freezes"]["count"],
        "frozen_s": data["freezes"]["seconds"],
        "latency_p99_ms": data["latency_ms"]["p99"],
        "frames_lost_pct": data["frames"]["lost_pct"],
    }


def growth(samples: list[dict[str, float]], key: str) -> float:
    """Percent growth of ``key`` over the last two thirds of the run."""
    tail = [s for s in samples if s["t"] >= samples[-1]["t"] / 3]
    if len(tail) < 2 or tail[0][key] == 0:
        return 0.0
    return 100.0 * (tail[-1][key] - tail[0][key]) / tail[0][key]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--churn", type=float, default=0.1, help="changes per second in churn segments")
    ap.add_argument("--peers", type=int, default=10)
    ap.add_argument("--segment", type=float, default=120.0, help="seconds per A/B segment")
    ap.add_argument("--plot", help="PNG of RSS, fds and tasks over time (matplotlib)")
    ap.add_argument("--json", help="write every sample and segment here")
    args = ap.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"soak: 1 room x {args.peers} publishers (360p), {args.minutes:g} min, segments of "
          f"{args.segment:g} s alternating churn {args.churn}/s and none; server and tester on "
          f"this machine. {load_line()}", flush=True)
    server = start_server(port)
    samples: list[dict[str, float]] = []
    stop = threading.Event()
    t0 = time.monotonic()
    thread = threading.Thread(target=sampler, args=(url, samples, stop, t0), daemon=True)
    thread.start()
    segments: list[dict[str, Any]] = []
    try:
        k = 0
        while time.monotonic() - t0 < args.minutes * 60:
            churn = args.churn if k % 2 else 0.0
            seg = segment(url, args.peers, churn, args.segment)
            segments.append(seg)
            print(f"segment {k}: {json.dumps(seg)}", flush=True)
            k += 1
    finally:
        stop.set()
        thread.join()
        server.terminate()
        server.wait(10)

    print("\n== what churn costs the people who stay (interleaved A/B) ==")
    for label, want in (("no churn", False), (f"churn {args.churn}/s", True)):
        rows = [s for s in segments if not s.get("failed") and bool(s["churn"]) == want]
        if not rows:
            continue
        changes = sum(r["changes"] for r in rows)
        freezes = sum(r["freezes"] for r in rows)
        per_change = f"{freezes / changes:.2f}" if changes else "-"
        p99 = max(r["latency_p99_ms"] for r in rows)
        print(f"  {label:16s} segments {len(rows):2d}  changes {changes:4d}  freezes {freezes:5d} "
              f"({per_change} per change)  worst latency p99 {p99:.1f} ms")
    if samples:
        print("\n== server over time ==")
        for key, unit in (("rss_mb", "MB"), ("fds", ""), ("tasks", "")):
            vals = [s[key] for s in samples]
            grew = growth(samples, key)
            print(f"  {key:7s} start {vals[0]:8.1f}{unit}  max {max(vals):8.1f}{unit}  "
                  f"end {vals[-1]:8.1f}{unit}  growth over the last 2/3: {grew:+.1f} %")
        rss = growth(samples, "rss_mb")
        print(f"  memory {'FLAT' if abs(rss) < 5 else 'NOT FLAT'} (< 5 % growth required)")
    print(f"\n{load_line()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"samples": samples, "segments": segments}, indent=1))
    if args.plot and samples:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(3, 1, sharex=True, figsize=(8, 7))
        minutes = [s["t"] / 60 for s in samples]
        for ax, key, label in zip(axes, ("rss_mb", "fds", "tasks"),
                                  ("RSS (MB)", "open fds", "asyncio tasks"), strict=True):
            ax.plot(minutes, [s[key] for s in samples])
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        axes[-1].set_xlabel("minutes")
        fig.suptitle(f"coshop soak: 1 room x {args.peers}, churn {args.churn}/s in odd segments")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=90)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
