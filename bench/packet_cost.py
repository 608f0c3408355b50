"""Interleaved A/B of coshop's server CPU time per forwarded packet in a full room.

Each window starts a fresh ``coshop serve`` for one side, fills one room with real aiortc
participants (bench/room_worker.py processes: every publisher sends pre-encoded VP8 and Opus
and receives the other publishers' streams), waits until every route flows, then counts the
server process's CPU time (user + system, from /proc: contention stretches wall time, not
this) against the packets it forwarded (``coshop_sfu_packets_out_total``). Windows
alternate A, B, A, B... so both sides see the same machine over the same minutes.

A side is a code tree and an environment: ``--a-ref main`` runs the server from that git
commit (exported to a temporary directory), the default is this working tree; ``--a-env``
/ ``--b-env`` add settings, e.g. the event loop:

    python bench/packet_cost.py --a-ref main                      # main vs this tree
    python bench/packet_cost.py --a-env COSHOP_EVENT_LOOP=asyncio  # asyncio vs uvloop

Every window prints the load average; a window whose 1-minute load was at or above the
core count is flagged as taken on a saturated machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "bench" / "room_worker.py"
PACKETS_OUT = "coshop_sfu_packets_out_total"


@dataclass
class Side:
    label: str
    tree: Path
    env: dict[str, str]
    us_per_packet: list[float] = field(default_factory=list)
    cores: list[float] = field(default_factory=list)
    saturated: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def packets_out(url: str) -> float:
    """The server's forwarded-packet counter (every label summed)."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"^{PACKETS_OUT}(\{{[^}}]*\}})?\s+(\S+)", line)
        if m:
            total += float(m.group(2))
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/PID/stat (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(side: Side) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(side.tree), **side.env)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from signaling.cli import main; raise SystemExit(main())",
         "serve", "--port", str(port), "--log-level", "WARNING"],
        env=env, cwd=side.tree, stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{side.label}: coshop serve did not start") from None
                time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Worker:
    """A room_worker.py process (JSON lines on stdio) hosting some of the participants."""

    def __init__(self, url: str, room: str, preset: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), url, room, preset],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        self.call(None)  # {"ready": true}

    def call(self, cmd: dict[str, Any] | None) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if cmd is not None:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("benchmark worker exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call({"cmd": "quit"})
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def window(side: Side, args: argparse.Namespace, n: int) -> None:
    cores = os.cpu_count() or 1
    with server(side) as (url, pid):
        workers = [Worker(url, "bench", args.preset) for _ in range(args.workers)]
        try:
            for i in range(args.publishers):
                workers[i % len(workers)].call(
                    {"cmd": "join", "names": [f"pub{i}"], "indices": [i], "publish": True}
                )
            want = 2 * (args.publishers - 1)
            deadline = time.time() + 90
            while True:
                replies = [w.call({"cmd": "routes"})["routes"] for w in workers]
                routes = {k: v for reply in replies for k, v in reply.items()}
                if len(routes) == args.publishers and all(c >= want for c in routes.values()):
                    break
                if time.time() > deadline:
                    raise RuntimeError(f"{side.label}: not every route flows: {routes}")
                time.sleep(0.5)
            time.sleep(args.warmup)
            c0, p0, t0 = cpu_seconds(pid), packets_out(url), time.monotonic()
            time.sleep(args.seconds)
            c1, p1, t1 = cpu_seconds(pid), packets_out(url), time.monotonic()
        finally:
            for w in workers:
                w.close()
    load = os.getloadavg()
    forwarded = p1 - p0
    us = (c1 - c0) / forwarded * 1e6 if forwarded else float("nan")
    busy = (c1 - c0) / (t1 - t0)
    saturated = load[0] >= cores
    side.us_per_packet.append(us)
    side.cores.append(busy)
    side.saturated += saturated
    print(
        f"window {n:2d} {side.label}: {us:6.2f} us CPU/forwarded packet, {busy:.2f} cores, "
        f"{forwarded / (t1 - t0):,.0f} packets/s out; load {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f} on {cores} cores{'  SATURATED' if saturated else ''}",
        flush=True,
    )


def export_tree(ref: str, into: Path) -> Path:
    """The files of git commit ``ref`` in a fresh directory (the server side of A)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def env_pairs(pairs: list[str]) -> dict[str, str]:
    return dict(p.split("=", 1) for p in pairs)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--a-ref", help="git ref whose code serves side A (default: this tree)")
    ap.add_argument("--b-ref", help="git ref whose code serves side B (default: this tree)")
    ap.add_argument("--a-env", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--b-env", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--rounds", type=int, default=3, help="A/B pairs of windows")
    ap.add_argument("--publishers", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2, help="processes hosting the participants")
    ap.add_argument("--preset", default="360p")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds after every route flows")
    ap.add_argument("--seconds", type=float, default=15.0, help="measured seconds per window")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        sides = []
        for name, ref, env in (("A", args.a_ref, args.a_env), ("B", args.b_ref, args.b_env)):
            if ref:
                (Path(tmp) / name).mkdir()
            tree = export_tree(ref, Path(tmp) / name) if ref else ROOT
            label = f"{name} ({ref or 'this tree'}{' ' + ' '.join(env) if env else ''})"
            sides.append(Side(label, tree, env_pairs(env)))
        print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        for r in range(args.rounds):
            for k, side in enumerate(sides):
                window(side, args, 2 * r + k + 1)
    print(f"\nserver CPU per forwarded packet, {args.publishers}-person room, {args.preset}, "
          f"{args.rounds} interleaved windows of {args.seconds:.0f} s per side")
    for side in sides:
        v = side.us_per_packet
        print(f"  {side.label}: median {statistics.median(v):.2f} us (min {min(v):.2f}, "
              f"max {max(v):.2f}); {statistics.median(side.cores):.2f} cores"
              f"{f'; {side.saturated} window(s) saturated' if side.saturated else ''}")
    a, b = (statistics.median(s.us_per_packet) for s in sides)
    print(f"  B/A = {b / a:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
