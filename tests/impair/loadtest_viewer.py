"""A ``coshop loadtest`` room and a Chromium viewer of it, side by side in the client namespace.

``coshop loadtest`` runs one room of publishers (each also receiving the others, repairing
video like a browser) and receive-only viewers; a Chromium page joins the same room as a
viewer too. Both are measured over
the same window, the loadtest's: its own figures (``--json``) and the page's getStats counters.
Prints one ``result {json}`` line.

    python -m tests.impair.loadtest_viewer URL --peers 5 --publishers 3 --seconds 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from playwright.async_api import async_playwright

from tests.impair.browser import INBOUND_VIDEO_JS, join_watch_only, launch

WARMUP_S = 15.0  # joins and first keyframes; the loadtest leaves this out, and so does the page


async def _room_exists(url: str, room: str) -> bool:
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(f"{url}/api/rooms/{room}/status") as resp:
                return resp.status == 200 and bool((await resp.json()).get("exists"))
        except aiohttp.ClientError:
            return False


async def run(args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"cmp{uuid.uuid4().hex[:6]}"
    room = f"{prefix}-0"
    work = Path(tempfile.mkdtemp(prefix="coshop-cmp-"))
    report = work / "run.json"
    scenario = work / "s.toml"
    scenario.write_text(
        f'rooms = 1\npeers = {args.peers}\npublishers = {args.publishers}\npreset = "180p"\n'
        f'workers = 1\n'
        f'duration = "{WARMUP_S + args.seconds}s"\nwarmup = "{WARMUP_S}s"\n'
        f'room_prefix = "{prefix}"\nfail_if = ["errors>100"]\n'
    )
    tester = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; from signaling.cli import main; sys.exit(main())",
        "loadtest", "--scenario", str(scenario), "--url", args.url, "--json", str(report),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    started = time.monotonic()
    try:
        async with async_playwright() as pw:
            chromium = await launch(pw)
            try:
                while not await _room_exists(args.url, room):
                    if time.monotonic() - started > WARMUP_S:
                        raise TimeoutError(f"the loadtest's room {room} never appeared")
                    await asyncio.sleep(0.5)
                page = await join_watch_only(chromium, args.url, room, "chromium")
                await asyncio.sleep(max(0.0, started + WARMUP_S - time.monotonic()))
                before: dict[str, Any] = await page.evaluate(INBOUND_VIDEO_JS)
                t0 = time.monotonic()
                await asyncio.sleep(max(0.0, started + WARMUP_S + args.seconds - time.monotonic()))
                after: dict[str, Any] = await page.evaluate(INBOUND_VIDEO_JS)
                seconds = time.monotonic() - t0
            finally:
                await chromium.close()
        out, err = await asyncio.wait_for(tester.communicate(), 120)
    finally:
        if tester.returncode is None:
            tester.kill()
            await tester.wait()
    if not report.exists():
        raise RuntimeError(f"the loadtest wrote no report: {out[-2000:]!r} {err[-2000:]!r}")
    figures = json.loads(report.read_text())
    browser = [
        {k: after[mid][k] - before.get(mid, {}).get(k, 0) for k in after[mid]}
        for mid in after
    ]
    tester_routes = [
        {k: d[k] for k in ("receiver", "source", "freezes", "lost_frames", "frames",
                           "frames_dropped", "nacks", "plis", "retransmissions")}
        for d in figures["routes_detail"] if d["kind"] == "video"
    ]
    return {"seconds": seconds, "chromium": browser, "tester": tester_routes,
            "tester_window_s": figures["window"]["seconds"], "errors": figures["errors"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.impair.loadtest_viewer")
    p.add_argument("url")
    p.add_argument("--peers", type=int, default=5)
    p.add_argument("--publishers", type=int, default=3)
    p.add_argument("--seconds", type=float, default=40.0)
    result = uvloop.run(run(p.parse_args(argv)))
    print("result " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
