"""A live room's audience over an origin and two edges: how many viewers this machine holds.

Starts its own redis-server and three ``coshop serve`` nodes (the first is the origin: the
stage's one publisher enters there; viewers enter through the three nodes in turn and are
placed by load, so the edges relay the stage), then runs ``coshop loadtest --kind live`` once
per ``--viewers`` count: 1 publisher (pre-encoded VP8 + Opus) and N receive-only viewers.
Per run: viewer time to first frame p50/p95, one-way latency p50/p99 through origin (+ edge),
frame loss, CPU per node and CPU per forwarded packet per node (the edges' next to the
origin's), and whether the loadtest's default thresholds held. Prints the load average.

    flock /work/bench.lock nice -n 15 .venv/bin/python bench/live_bench.py --viewers 50 100 200
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port, redis_server, start_server

NODES = ("origin", "edge-1", "edge-2")


def loadtest(urls: list[str], viewers: int, args: argparse.Namespace, out: Path) -> int:
    """One ``coshop loadtest`` run; its exit code (0: every threshold held)."""
    cmd = [
        sys.executable, "-c", "from signaling.cli import main; raise SystemExit(main())",
        "loadtest", "--url", urls[0], *(a for u in urls[1:] for a in ("--node", u)),
        "--kind", "live", "--rooms", "1", "--peers", str(viewers + 1), "--publishers", "1",
        "--preset", args.preset, "--duration", f"{args.duration}s", "--warmup",
        f"{args.warmup}s", "--ramp", str(args.ramp), "--json", str(out),
    ]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False).returncode


def _f(value: Any, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def row(viewers: int, code: int, report: dict[str, Any], urls: list[str]) -> dict[str, Any]:
    nodes = report.get("nodes") or {}
    return {
        "viewers": viewers,
        "held": code == 0,
        "broken": [t["threshold"] for t in report.get("thresholds", []) if t["broken"]],
        "errors": (report.get("errors") or {}).get("count"),
        "joined": (report.get("peers") or {}).get("joined"),
        "ttff_ms": report["ttff_ms"],
        "latency_ms": report["latency_ms"],
        "frames_lost_pct": report["frames"]["lost_pct"],
        "nodes": {name: nodes.get(url, {}) for name, url in zip(NODES, urls, strict=True)},
        "tester_cores": (report.get("tester") or {}).get("total_cores"),
        "load_average_at_end": report.get("load_average_at_end"),
    }


def print_row(r: dict[str, Any]) -> None:
    t, lat = r["ttff_ms"], r["latency_ms"]
    print(f"{r['viewers']:>5} viewers  held={'yes' if r['held'] else 'NO '}  "
          f"first frame p50 {_f(t['p50'])} p95 {_f(t['p95'])} ms  "
          f"latency p50 {_f(lat['p50'], 1)} p99 {_f(lat['p99'], 1)} ms  "
          f"lost {_f(r['frames_lost_pct'], 3)} %  tester {_f(r['tester_cores'], 2)} cores"
          + (f"  broken: {', '.join(r['broken'])}" if r["broken"] else ""))
    for name, n in r["nodes"].items():
        print(f"        {name:<7} CPU {_f(n.get('cpu_cores'), 2)} cores, "
              f"{_f(n.get('packets_out_per_s'))} pkt/s out, "
              f"{_f(n.get('us_per_forwarded_packet'), 1)} us/forwarded packet")
    print(f"        load average at end: {r['load_average_at_end']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--viewers", type=int, nargs="+", default=[50, 100, 200])
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--ramp", type=float, default=40.0, help="joins per second")
    p.add_argument("--preset", default="360p")
    p.add_argument("--workers", type=int, default=0, help="loadtest workers (default: its own)")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    rows = []
    with redis_server() as redis_url, tempfile.TemporaryDirectory() as tmp:
        procs = []
        urls = []
        try:
            for name in NODES:
                port = free_port()
                procs.append(start_server(port, "--node-id", name,
                                          env={"COSHOP_REDIS_URL": redis_url}))
                urls.append(f"http://127.0.0.1:{port}")
            for n in args.viewers:
                out = Path(tmp) / f"live-{n}.json"
                code = loadtest(urls, n, args, out)
                if not out.exists():
                    print(f"{n:>5} viewers: the loadtest wrote no report (exit {code})")
                    continue
                r = row(n, code, json.loads(out.read_text()), urls)
                rows.append(r)
                print_row(r)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)
    held = [r["viewers"] for r in rows if r["held"]]
    print(f"viewers held within the loadtest's default thresholds: "
          f"{max(held) if held else 'none'} (of {args.viewers})")
    print(f"load average at end: {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
