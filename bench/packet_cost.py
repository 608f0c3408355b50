"""Interleaved A/B of coshop's server CPU time per forwarded packet in a full room.

Each side gets its own ``coshop serve`` with one room filled by real aiortc participants
(bench/room_worker.py processes: every publisher sends pre-encoded VP8 and Opus and receives
the other publishers' streams); once every route flows, the server process's CPU time (user +
system, from /proc: contention stretches wall time, not this) is counted against the packets
it forwarded (``coshop_sfu_packets_out_total``).

``--mode paired`` (the default) runs both servers with their rooms at once and measures both
over the same intervals, so each interval's B/A ratio compares the two under exactly the same
machine load (the figure to quote: the median ratio). ``--mode alternate`` starts a fresh
server per window instead, A, B, A, B..., for a change that only one process at a time may
run.

A side is a code tree and an environment: ``--a-ref main`` runs the server from that git
commit (exported to a temporary directory), the default is this working tree; ``--a-env``
/ ``--b-env`` add settings, e.g. the event loop:

    python bench/packet_cost.py --a-ref main                      # main vs this tree
    python bench/packet_cost.py --a-env COSHOP_EVENT_LOOP=asyncio  # asyncio vs uvloop
    python bench/packet_cost.py --a-env COSHOP_COMPILED_EGRESS=false  # Python vs C egress

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


@contextlib.contextmanager
def full_room(side: Side, args: argparse.Namespace) -> Iterator[tuple[str, int]]:
    """A server for ``side`` with one full room whose every route flows: (url, server pid)."""
    with server(side) as (url, pid):
        workers: list[Worker] = []
        try:
            workers += [Worker(url, "bench", args.preset) for _ in range(args.workers)]
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
            yield url, pid
        finally:
            for w in workers:
                w.close()


@dataclass
class Sample:
    us: float
    cores: float
    rate: float


def measure(targets: list[tuple[str, int]], seconds: float) -> list[Sample]:
    """Server CPU per forwarded packet of each (url, pid), over the same ``seconds``."""
    before = [(cpu_seconds(pid), packets_out(url)) for url, pid in targets]
    t0 = time.monotonic()
    time.sleep(seconds)
    after = [(cpu_seconds(pid), packets_out(url)) for url, pid in targets]
    wall = time.monotonic() - t0
    out = []
    for (c0, p0), (c1, p1) in zip(before, after, strict=True):
        forwarded = p1 - p0
        us = (c1 - c0) / forwarded * 1e6 if forwarded else float("nan")
        out.append(Sample(us, (c1 - c0) / wall, forwarded / wall))
    return out


def load_note() -> tuple[str, bool]:
    cores = os.cpu_count() or 1
    load = os.getloadavg()
    saturated = load[0] >= cores
    text = f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {cores} cores"
    return text + ("  SATURATED" if saturated else ""), saturated


def record(side: Side, sample: Sample, saturated: bool) -> str:
    side.us_per_packet.append(sample.us)
    side.cores.append(sample.cores)
    side.saturated += saturated
    return (
        f"{side.label}: {sample.us:6.2f} us CPU/forwarded packet, {sample.cores:.2f} cores, "
        f"{sample.rate:,.0f} packets/s out"
    )


def alternate(sides: list[Side], args: argparse.Namespace) -> None:
    """A fresh server and room per window, A and B windows taking turns."""
    for r in range(args.rounds):
        for k, side in enumerate(sides):
            with full_room(side, args) as target:
                (sample,) = measure([target], args.seconds)
            note, saturated = load_note()
            line = record(side, sample, saturated)
            print(f"window {2 * r + k + 1:2d} {line}; {note}", flush=True)


def paired(sides: list[Side], args: argparse.Namespace, ratios: list[float]) -> None:
    """Both servers up with a full room each; every interval measures both at once, so the
    two see exactly the same machine (the ratio per interval is the figure)."""
    with full_room(sides[0], args) as a, full_room(sides[1], args) as b:
        broken = 0
        for n in range(args.rounds):
            sa, sb = measure([a, b], args.seconds)
            note, saturated = load_note()
            if min(sa.rate, sb.rate) < 0.8 * max(sa.rate, sb.rate):
                # A room lost peers (on an overloaded machine ICE consent can expire): the
                # two no longer carry the same load, so this interval compares nothing.
                broken += 1
                print(f"interval {n + 1:2d} left out: packets/s out {sa.rate:,.0f} (A) vs "
                      f"{sb.rate:,.0f} (B), a room lost peers; {note}", flush=True)
                if broken >= 2:
                    raise SystemExit("a room keeps losing peers: the machine is too loaded")
                continue
            ratios.append(sb.us / sa.us)
            print(
                f"interval {n + 1:2d} {record(sides[0], sa, saturated)} | "
                f"{record(sides[1], sb, saturated)} | B/A {sb.us / sa.us:.3f}; {note}",
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
    ap.add_argument("--mode", choices=("paired", "alternate"), default="paired",
                    help="paired: both servers run a full room at once and every interval "
                    "measures both; alternate: a fresh server per window, A and B in turn")
    ap.add_argument("--rounds", type=int, default=6, help="intervals (paired) or A/B pairs")
    ap.add_argument("--publishers", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2, help="processes hosting the participants")
    ap.add_argument("--preset", default="360p")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds after every route flows")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per window")
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
        ratios: list[float] = []
        if args.mode == "paired":
            paired(sides, args, ratios)
        else:
            alternate(sides, args)
    print(f"\nserver CPU per forwarded packet, {args.publishers}-person room, {args.preset}, "
          f"{args.rounds} {args.mode} windows of {args.seconds:.0f} s per side")
    for side in sides:
        v = side.us_per_packet
        print(f"  {side.label}: median {statistics.median(v):.2f} us (min {min(v):.2f}, "
              f"max {max(v):.2f}); {statistics.median(side.cores):.2f} cores"
              f"{f'; {side.saturated} window(s) saturated' if side.saturated else ''}")
    if not all(s.us_per_packet for s in sides):
        raise SystemExit("no interval measured both sides")
    a, b = (statistics.median(s.us_per_packet) for s in sides)
    print(f"  B/A of the medians = {b / a:.3f}")
    if ratios:
        print(f"  B/A per interval: median {statistics.median(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
