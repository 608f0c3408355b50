"""Join-time benchmark (issue 8): how long from `join` to seeing the others.

aiortc part: a room of N-1 painted publishers (a worker process); one aiortc joiner at a time
sends `join`, publishes, and decodes; every SFU join alternates with a direct aiortc-to-aiortc
call over loopback between two of the same clients (the baseline, same run). Chromium part:
headless Debian Chromium with a fake camera joins a room by clicking Join.

    .venv/bin/python bench/join_bench.py                       # starts its own `coshop serve`
    .venv/bin/python bench/join_bench.py --joins 3 --sizes 4 --browser-sizes 4 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench._common import free_port, pick, scrape, start_server
from bench.join_browser import run_browser_room, unavailable
from bench.join_peer import JoinTimeline, RoomClient, direct_first_frame
from loadtest.metrics import percentile

HERE = Path(__file__).resolve().parent
JOINER_COLOUR = 15  # fillers paint 0..N-2
DIRECT_COLOURS = (13, 14)
TARGETS_MS = {"first": 500.0, "all": 1000.0, "late_every_publisher": 250.0}


class LoadMonitor:
    """os.getloadavg() samples over the run; saturated = 1-minute load above the core count."""

    def __init__(self) -> None:
        self.cores = os.cpu_count() or 1
        self.before = os.getloadavg()
        self.peak = self.before[0]
        self.section_peak = self.peak
        self.after: tuple[float, float, float] | None = None
        self.started = time.monotonic()

    def sample(self) -> float:
        load = os.getloadavg()[0]
        self.peak = max(self.peak, load)
        self.section_peak = max(self.section_peak, load)
        return load

    def start_section(self) -> None:
        """Track the peak load of one part of the run separately."""
        self.section_peak = os.getloadavg()[0]

    def finish(self) -> None:
        self.after = os.getloadavg()
        self.peak = max(self.peak, self.after[0])

    @property
    def saturated(self) -> bool:
        return self.peak > self.cores


class FillerProcess:
    """One join_fillers.py subprocess (JSON lines on stdio)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "join_fillers.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._recv()  # {"ready": true}

    def _recv(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("join_fillers.py exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def call(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return await asyncio.get_running_loop().run_in_executor(None, self._recv)

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


class Fillers:
    """The room's other publishers, at most ``per_process`` in each worker process.

    Many aiortc peers in one process share one event loop: a renegotiation of all of them
    (every join renegotiates everyone) delays their answers to keyframe requests, and that
    would be measured as the SFU's join time.
    """

    def __init__(self, per_process: int) -> None:
        self.per_process = per_process
        self.procs: list[FillerProcess] = []

    async def fill(self, url: str, room: str, count: int) -> dict[str, int]:
        """Join ``count`` publishers; their participant ids and colours."""
        ids: dict[str, int] = {}
        for first in range(0, count, self.per_process):
            proc = FillerProcess()
            self.procs.append(proc)
            n = min(self.per_process, count - first)
            reply = await proc.call(
                {"cmd": "join", "url": url, "room": room, "first": first, "count": n}
            )
            ids.update({pid: int(colour) for pid, colour in reply["ids"].items()})
        for proc in self.procs:
            await proc.call({"cmd": "wait", "ids": sorted(ids)})
        return ids

    async def worst_lag_ms(self) -> float:
        """The worst event-loop lag of any filler process since the last call."""
        replies = [await proc.call({"cmd": "lag"}) for proc in self.procs]
        return max((float(r["max_ms"]) for r in replies), default=0.0)

    def close(self) -> None:
        for proc in self.procs:
            proc.close()
        self.procs.clear()


async def room_settled(url: str, room: str, size: int, limit: float = 15) -> None:
    """Wait until the room holds ``size`` participants again, then let renegotiation finish."""
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{url}/api/rooms/{room}") as resp:
                body = await resp.json()
            if len(body.get("participants", [])) == size:
                break
            if time.monotonic() > deadline:
                got = len(body.get("participants", []))
                raise RuntimeError(
                    f"room {room} holds {got} participants, not {size}, after {limit} s"
                )
            await asyncio.sleep(0.05)
    # The leave renegotiates every filler (one offer/answer each); don't time the next join
    # on top of that.
    await asyncio.sleep(0.3)


def _ms(t: float | None, start: float) -> float | None:
    return None if t is None else 1000 * (t - start)


async def sfu_join(url: str, room: str, colours: dict[str, int], limit: float) -> dict[str, Any]:
    """One timed join into a room whose publishers are ``colours`` (id -> colour)."""
    client = RoomClient(url, "joiner", JOINER_COLOUR)
    client.expected_colour = colours.get
    await client.connect()
    try:
        await client.join(room)
        expected = set(colours)
        complete = await client.wait_frames(expected, limit)
        tl = client.timeline
        unexpected = client.remote_publishers() - expected
    finally:
        await client.leave()
    first = {colours[s]: 1000 * (t - tl.started) for s, t in tl.first_frame.items() if s in colours}
    late = {
        colours[s]: 1000 * (t - tl.subscribed[s])
        for s, t in tl.first_frame.items()
        if s in colours and s in tl.subscribed
    }
    return {
        "complete": complete,
        "first_ms": min(first.values()) if first else None,
        "all_ms": max(first.values()) if complete else None,
        "per_publisher_from_join_ms": first,
        "per_publisher_from_subscribe_ms": late,
        "phases_ms": tl.phases_ms(),
        "offers": len(tl.offers),
        "wrong_colour_frames": sum(tl.wrong_colour.values()),
        "unexpected_participants": sorted(unexpected),
    }


def direct_sample(tl: JoinTimeline) -> dict[str, Any]:
    first = tl.first_frame.get("direct-a")
    return {
        "first_ms": _ms(first, tl.started),
        "connected_ms": _ms(tl.connected, tl.started),
        "from_answer_ms": _ms(first, tl.answers[0]) if first is not None else None,
        "wrong_colour_frames": sum(tl.wrong_colour.values()),
    }


def stats(values: list[float]) -> dict[str, float | int | None]:
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95)}


def _progress(monitor: LoadMonitor, text: str) -> None:
    print(f"{text}  [load {monitor.sample():.1f}]", flush=True)


async def aiortc_room(
    url: str, size: int, joins: int, limit: float, per_process: int, monitor: LoadMonitor
) -> dict[str, Any]:
    room = f"join{size}-{int(time.time())}"
    monitor.start_section()
    fillers = Fillers(per_process)
    try:
        _progress(
            monitor,
            f"aiortc {size}-room: {size - 1} publishers joining "
            f"({len(range(0, size - 1, per_process))} worker processes)",
        )
        colours = await fillers.fill(url, room, size - 1)
        await sfu_join(url, room, colours, limit)  # warm-up: not counted
        await room_settled(url, room, size - 1)
        sfu: list[dict[str, Any]] = []
        direct: list[dict[str, Any]] = []
        m0 = scrape(url)
        aborted = None
        for k in range(joins):
            # Interleaved: SFU join k, then direct call k, under the same machine load.
            await fillers.worst_lag_ms()  # start a fresh lag window
            s = await sfu_join(url, room, colours, limit)
            s["filler_lag_ms"] = await fillers.worst_lag_ms()
            try:
                await room_settled(url, room, size - 1)
            except RuntimeError as exc:
                # Keep what was measured; the room is no longer the one being measured.
                aborted = f"stopped after join {k + 1}: {exc}"
                sfu.append(s)
                _progress(monitor, f"  aiortc {size}-room {aborted}")
                break
            d = direct_sample(await direct_first_frame(*DIRECT_COLOURS, limit=limit))
            sfu.append(s)
            direct.append(d)
            _progress(
                monitor,
                f"  aiortc {size}-room join {k + 1}/{joins}: first {_fmt(s['first_ms'])}, "
                f"all {_fmt(s['all_ms'])} | direct {_fmt(d['first_ms'])}",
            )
        m1 = scrape(url)
    finally:
        fillers.close()
    monitor.sample()
    summary = summarize_aiortc(size, sfu, direct, m0, m1)
    return dict(summary, load_peak=monitor.section_peak, aborted=aborted)


def summarize_aiortc(
    size: int,
    sfu: list[dict[str, Any]],
    direct: list[dict[str, Any]],
    m0: dict[str, float],
    m1: dict[str, float],
) -> dict[str, Any]:
    firsts = [s["first_ms"] for s in sfu if s["first_ms"] is not None]
    alls = [s["all_ms"] for s in sfu if s["all_ms"] is not None]
    per_pub: dict[int, dict[str, Any]] = {}
    for colour in range(size - 1):
        from_join = [
            s["per_publisher_from_join_ms"][colour]
            for s in sfu
            if colour in s["per_publisher_from_join_ms"]
        ]
        from_sub = [
            s["per_publisher_from_subscribe_ms"][colour]
            for s in sfu
            if colour in s["per_publisher_from_subscribe_ms"]
        ]
        per_pub[colour] = {"from_join": stats(from_join), "from_subscribe": stats(from_sub)}
    pairs = [v for s in sfu for v in s["per_publisher_from_subscribe_ms"].values()]
    phases = (
        {
            name: stats([s["phases_ms"][name] for s in sfu if s["phases_ms"][name] is not None])
            for name in sfu[0]["phases_ms"]
        }
        if sfu
        else {}
    )
    d_first = [d["first_ms"] for d in direct if d["first_ms"] is not None]
    d_answer = [d["from_answer_ms"] for d in direct if d["from_answer_ms"] is not None]
    return {
        "size": size,
        "joins": len(sfu),
        "incomplete_joins": sum(1 for s in sfu if not s["complete"]),
        "join_to_first_frame_ms": stats(firsts),
        "join_to_all_frames_ms": stats(alls),
        "late_joiner_subscribe_to_first_frame_ms": stats(pairs),
        "per_publisher": per_pub,
        "phases_ms": phases,
        "offers_per_join": stats([float(s["offers"]) for s in sfu]),
        "wrong_colour_frames": sum(s["wrong_colour_frames"] for s in sfu),
        "filler_loop_lag_ms": stats([s["filler_lag_ms"] for s in sfu]),
        "direct_setup_to_first_frame_ms": stats(d_first),
        "direct_answer_to_first_frame_ms": stats(d_answer),
        "server_keyframe_requests": pick(m1, "coshop_sfu_keyframe_requests_total")
        - pick(m0, "coshop_sfu_keyframe_requests_total"),
        "server_plis_sent": pick(m1, "coshop_sfu_plis_sent_total")
        - pick(m0, "coshop_sfu_plis_sent_total"),
        "samples": sfu,
        "direct_samples": direct,
    }


def summarize_browser(result: dict[str, Any]) -> dict[str, Any]:
    samples = result["samples"]
    return {
        "size": result["size"],
        "fill": result["fill"],
        "aborted": result["aborted"],
        "joins": len(samples),
        "incomplete_joins": sum(1 for s in samples if not s["complete"]),
        "click_to_joined_ms": stats(
            [s["joined_ms"] for s in samples if s["joined_ms"] is not None]
        ),
        "click_to_first_tile_ms": stats(
            [s["first_ms"] for s in samples if s["first_ms"] is not None]
        ),
        "click_to_all_tiles_ms": stats([s["all_ms"] for s in samples if s["all_ms"] is not None]),
        "phases_ms": {
            name: stats([s["phases_ms"][name] for s in samples if s["phases_ms"][name] is not None])
            for name in (samples[0]["phases_ms"] if samples else {})
        },
        "samples": samples,
    }


def _fmt(v: float | int | None, unit: str = " ms") -> str:
    return "-" if v is None else f"{v:.0f}{unit}"


def _mark(p95: float | int | None, target: float) -> str:
    if p95 is None:
        return "n/a"
    return "pass" if p95 < target else "MISS"


def _procs(size: int, machine: dict[str, Any]) -> int:
    """Worker processes that hold the other ``size - 1`` publishers."""
    return -(-(size - 1) // int(machine["fillers_per_process"]))


def _load_line(peak: float, cores: int) -> str:
    flag = "  ** SATURATED: these figures include waiting for CPU **" if peak > cores else ""
    return f"  1-min load average peaked at {peak:.1f} on {cores} cores during this part{flag}"


def _row(label: str, st: dict[str, Any], target: float | None = None) -> str:
    text = f"  {label:44s} p50 {_fmt(st['p50']):>8s}  p95 {_fmt(st['p95']):>8s}  n={st['n']:<3d}"
    if target is not None:
        text += f" target p95 < {target:.0f} ms: {_mark(st['p95'], target)}"
    return text


def print_report(out: dict[str, Any]) -> None:
    m = out["machine"]
    print()
    print("=== join-time benchmark ===")
    print(
        f"machine: {m['cores']} cores; load average before {m['load_before']}, "
        f"after {m['load_after']}, peak 1-min {m['load_peak']:.2f}"
        + (
            "  ** SATURATED (load > cores): figures include waiting for CPU **"
            if m["saturated"]
            else ""
        )
    )
    print(
        f"server: coshop serve on loopback ({out['server']}), its own process; "
        f"run took {m['elapsed_s']:.0f} s"
    )
    for r in out["aiortc"]:
        n = r["size"]
        print()
        print(
            f"aiortc, {n}-person room: {n - 1} publishers (160x120 painted VP8 + Opus, in "
            f"{_procs(n, m)} worker processes, receive undecoded) + 1 joiner "
            f"(publishes, decodes) in this process, all on this machine; "
            f"{r['joins']} joins, {r['incomplete_joins']} incomplete"
        )
        print(_load_line(r["load_peak"], m["cores"]))
        if r["aborted"]:
            print(f"  ** {r['aborted']} **")
        print(
            _row(
                "join -> first remote frame decoded",
                r["join_to_first_frame_ms"],
                TARGETS_MS["first"],
            )
        )
        print(
            _row(
                f"join -> frames from all {n - 1} publishers",
                r["join_to_all_frames_ms"],
                TARGETS_MS["all"],
            )
        )
        worst = max(
            (
                p["from_subscribe"]["p95"]
                for p in r["per_publisher"].values()
                if p["from_subscribe"]["p95"] is not None
            ),
            default=None,
        )
        print(
            _row(
                "late joiner: slot answered -> 1st frame, all pairs",
                r["late_joiner_subscribe_to_first_frame_ms"],
            )
        )
        print(
            f"  {'  worst publisher p95':44s} {_fmt(worst):>22s}        "
            f"target p95 < {TARGETS_MS['late_every_publisher']:.0f} ms: "
            f"{_mark(worst, TARGETS_MS['late_every_publisher'])}"
        )
        print(
            "  per publisher (pubI joined I-th)"
            "          from join p50/p95      from slot answered p50/p95"
        )
        for colour, p in r["per_publisher"].items():
            fj, fs = p["from_join"], p["from_subscribe"]
            print(
                f"    pub{colour:<3d} {'':33s}{_fmt(fj['p50']):>8s} / {_fmt(fj['p95']):<8s}   "
                f"{_fmt(fs['p50']):>8s} / {_fmt(fs['p95']):<8s}"
            )
        print(
            _row(
                "baseline: direct aiortc call, offer -> 1st frame",
                r["direct_setup_to_first_frame_ms"],
            )
        )
        print(
            _row(
                "baseline: direct, answer applied -> 1st frame",
                r["direct_answer_to_first_frame_ms"],
            )
        )
        sf, df = r["join_to_first_frame_ms"], r["direct_setup_to_first_frame_ms"]
        if sf["p50"] is not None and df["p50"] is not None:
            added = f"{sf['p50'] - df['p50']:.0f} ms / {sf['p95'] - df['p95']:.0f} ms"
            print(f"  {'SFU added (first frame, p50 / p95)':44s} {added}")
        ph = r["phases_ms"]
        print(
            "  phases after join, p50 (ms): "
            + ", ".join(f"{k} {_fmt(v['p50'], '')}" for k, v in ph.items())
            + f"; offers per join p50 {_fmt(r['offers_per_join']['p50'], '')}"
        )
        print(
            f"  server: {r['server_keyframe_requests']:.0f} keyframe requests, "
            f"{r['server_plis_sent']:.0f} PLIs sent during the joins; "
            f"frames with the wrong colour on a slot: {r['wrong_colour_frames']}"
        )
        lag = r["filler_loop_lag_ms"]
        print(
            f"  load generator: worst event-loop lag of the publishers' processes per join "
            f"p50 {_fmt(lag['p50'])}, p95 {_fmt(lag['p95'])} (late keyframes if large)"
        )
    for note in out["chromium_notes"]:
        print()
        print(f"chromium: {note}")
    for r in out["chromium"]:
        n = r["size"]
        who = (
            f"{n - 1} Chromium pages"
            if r["fill"] == "chromium"
            else f"{n - 1} aiortc publishers ({_procs(n, m)} worker processes)"
        )
        print()
        print(
            f"Chromium, {n}-person room: {who} + 1 Chromium joiner page, headless, "
            f"fake camera/mic, one browser process tree on this machine; {r['joins']} joins, "
            f"{r['incomplete_joins']} incomplete"
        )
        print(_load_line(r["load_peak"], m["cores"]))
        if r["aborted"]:
            print(f"  ** {r['aborted']} **")
        print(
            "  phases after the click, p50 (ms): "
            + ", ".join(f"{k} {_fmt(v['p50'], '')}" for k, v in r["phases_ms"].items())
        )
        print(
            _row(
                "join click -> first remote tile playing",
                r["click_to_first_tile_ms"],
                TARGETS_MS["first"],
            )
        )
        print(
            _row(
                f"join click -> all {n - 1} remote tiles playing",
                r["click_to_all_tiles_ms"],
                TARGETS_MS["all"],
            )
        )
    print()
    print(
        "targets (issue 8, not a test): first remote frame p95 < 500 ms, all tiles p95 < 1 s, "
        "late joiner's first frame from every publisher p95 < 250 ms"
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--joins", type=int, default=20, help="timed joins per room (default 20)")
    ap.add_argument("--sizes", default="4,10", help="aiortc room sizes, joiner included")
    ap.add_argument("--browser-sizes", default="4,10", help="Chromium room sizes ('' = none)")
    ap.add_argument(
        "--max-pages",
        type=int,
        default=None,
        help="most Chromium pages to run at once (default 2 per core); a bigger room is "
        "filled with aiortc publishers and one Chromium joiner",
    )
    ap.add_argument(
        "--fillers-per-process",
        type=int,
        default=3,
        help="aiortc publishers per worker process (default 3)",
    )
    ap.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds one join may take")
    ap.add_argument("--json", type=Path, help="write every figure and sample here")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    browser_sizes = [int(s) for s in args.browser_sizes.split(",") if s]
    if any(s < 2 for s in sizes + browser_sizes) or args.joins < 1:
        ap.error("room sizes must be at least 2 and --joins at least 1")

    monitor = LoadMonitor()
    max_pages = args.max_pages if args.max_pages is not None else 2 * monitor.cores
    print(
        f"{monitor.cores} cores, load average {tuple(round(x, 2) for x in monitor.before)}"
        + (
            " (already above the core count: expect slow figures)"
            if monitor.before[0] > monitor.cores
            else ""
        ),
        flush=True,
    )
    port = free_port()
    server = start_server(port, "--capacity", str(max(sizes + browser_sizes) + 2))
    url = f"http://127.0.0.1:{port}"
    print(f"started coshop serve on {url} (pid {server.pid})", flush=True)
    out: dict[str, Any] = {"server": url, "aiortc": [], "chromium": [], "chromium_notes": []}
    try:
        for size in sizes:
            out["aiortc"].append(
                asyncio.run(
                    aiortc_room(
                        url, size, args.joins, args.timeout, args.fillers_per_process, monitor
                    )
                )
            )
        why = unavailable(args.chromium) if browser_sizes else None
        if why is not None:
            out["chromium_notes"].append(f"not run: {why}")
        for size in browser_sizes if why is None else []:
            chromium_fill = size <= max_pages
            if not chromium_fill:
                out["chromium_notes"].append(
                    f"a {size}-person room of Chromium pages was not run: this machine has "
                    f"{monitor.cores} cores, and at most {max_pages} Chromium page(s) run on it "
                    f"(each encodes its camera and decodes every other tile); {size - 1} aiortc "
                    "publishers fill the room and one Chromium page joins"
                )
            fill = "Chromium pages" if chromium_fill else "aiortc publishers"
            _progress(monitor, f"Chromium {size}-room: filling with {size - 1} {fill}")
            monitor.start_section()
            result = asyncio.run(browser_room(url, size, args, chromium_fill, monitor))
            monitor.sample()
            out["chromium"].append(dict(summarize_browser(result), load_peak=monitor.section_peak))
    finally:
        server.terminate()
        server.wait(timeout=15)
    monitor.finish()
    assert monitor.after is not None
    out["machine"] = {
        "cores": monitor.cores,
        "load_before": [round(x, 2) for x in monitor.before],
        "load_after": [round(x, 2) for x in monitor.after],
        "load_peak": monitor.peak,
        "saturated": monitor.saturated,
        "elapsed_s": round(time.monotonic() - monitor.started, 1),
        "fillers_per_process": args.fillers_per_process,
    }
    print_report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
        print(f"wrote {args.json}")
    return 0


async def browser_room(
    url: str, size: int, args: argparse.Namespace, chromium_fill: bool, monitor: LoadMonitor
) -> dict[str, Any]:
    fillers: Fillers | None = None

    async def aiortc_fill(room: str, count: int) -> dict[str, int]:
        nonlocal fillers
        fillers = Fillers(args.fillers_per_process)
        return await fillers.fill(url, room, count)

    async def settled(room: str, n: int) -> None:
        await room_settled(url, room, n)

    try:
        return await run_browser_room(
            url=url,
            room=f"chromium{size}-{int(time.time())}",
            size=size,
            joins=args.joins,
            chromium=args.chromium,
            chromium_fill=chromium_fill,
            aiortc_fill=aiortc_fill,
            room_settled=settled,
            progress=lambda text: _progress(monitor, text),
            limit=max(args.timeout, 20.0),
        )
    finally:
        if fillers is not None:
            fillers.close()


if __name__ == "__main__":
    raise SystemExit(main())
