"""The client side of an impaired call, run inside the client namespace.

Publishers and viewers are the protocol-only ``Stranger`` clients (real aiortc peers
that encode and decode VP8). After every receiver decodes every publisher, it measures
for ``--duration`` seconds and prints one JSON object: per (receiver, source) frames
decoded against frames the publisher produced, freezes, and the server's counters.

    python -m tests.impair.clients URL --publishers 2 --viewers 2 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp
import uvloop
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection
from aiortc import sdp as aiortc_sdp
from playwright.async_api import async_playwright

from tests.chromium import chromium_missing
from tests.impair.browser import BrowserViewer, launch
from tests.interop.stranger import Stranger

FREEZE = 0.5  # seconds without a new frame that count as a freeze
LAG = 0.5  # seconds from a frame's production to its decoding, at most, when all is well
_METRIC = re.compile(r"^(coshop_sfu_\w+|process_cpu_seconds_total) ([0-9.e+-]+)$", re.M)


async def _metrics(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    async with session.get(url + "/metrics") as resp:
        text = await resp.text()
    return {name: float(value) for name, value in _METRIC.findall(text)}


async def _wait_healthy(session: aiohttp.ClientSession, url: str, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            async with session.get(url + "/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


class BundledStranger(Stranger):
    """A Stranger whose peer connection uses max-bundle.

    With aiortc's default (balanced) policy, an answer that adds two video m-lines to a
    bundle whose first answer had none leaves the second on an orphan transport: its
    packets never reach it (an aiortc client bug, not the SFU's; browsers bundle fine).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc.on("track", self._on_track)


async def renack_like_a_browser(people: Sequence[Stranger], every: float, max_asks: int) -> None:
    """Re-send each video receiver's NACK for packets still missing, once per ``every``.

    aiortc's receiver NACKs a gap once, and repeats the list only when a new gap
    appears, so a lost NACK or a lost retransmission freezes it until then. Browsers
    (libwebrtc's NackModule) ask again every round trip, up to ten times; this gives
    the test's aiortc receivers that behaviour, so what is measured is the SFU.
    """
    asks: dict[tuple[int, int], int] = {}
    while True:
        await asyncio.sleep(every)
        for person in people:
            desc = person.pc.remoteDescription
            if desc is None:
                continue
            ssrc_by_mid = {
                m.rtp.muxId: m.ssrc_group[0].items[0]
                for m in aiortc_sdp.SessionDescription.parse(desc.sdp).media
                if m.kind == "video" and m.ssrc_group
            }
            for t in person.pc.getTransceivers():
                generator = getattr(t.receiver, "_RTCRtpReceiver__nack_generator", None)
                ssrc = ssrc_by_mid.get(t.mid or "")
                if generator is None or ssrc is None or not generator.missing:
                    continue
                lost = []
                for seq in sorted(generator.missing):
                    n = asks.get((id(generator), seq), 1)
                    if n < max_asks:
                        asks[(id(generator), seq)] = n + 1
                        lost.append(seq)
                if lost:
                    await t.receiver._send_rtcp_nack(int(ssrc), lost)


def _sent(publisher: Stranger) -> int:
    track = publisher._video_track
    return 0 if track is None else track._n


async def run(args: argparse.Namespace) -> dict[str, Any]:
    room = f"impair-{uuid.uuid4().hex[:8]}"
    publishers = [BundledStranger(args.url, f"pub{i}", colour=i) for i in range(args.publishers)]
    viewers = [
        BundledStranger(args.url, f"view{i}", colour=None, role="viewer")
        for i in range(args.viewers)
    ]
    everyone = publishers + viewers
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        await _wait_healthy(session, args.url, 20)
        renack: asyncio.Task[None] | None = None
        browsers: list[BrowserViewer] = []
        try:
            for p in everyone:
                await p.join(room)
            ids = {p.name: p.me or "" for p in everyone}

            def pairs() -> list[tuple[Stranger, Stranger]]:
                return [(r, s) for r in everyone for s in publishers if r is not s]

            deadline = time.monotonic() + args.warmup
            while not all(r.received.get(ids[s.name]) for r, s in pairs()):
                if time.monotonic() > deadline:
                    missing = [
                        (r.name, s.name, r.offers, {k: v.frames for k, v in r.received.items()})
                        for r, s in pairs()
                        if not r.received.get(ids[s.name])
                    ]
                    raise TimeoutError(f"not every receiver decodes every publisher: {missing}")
                await asyncio.sleep(0.1)
            if args.browsers:
                playwright = await stack.enter_async_context(async_playwright())
                chromium = await launch(playwright)
                stack.push_async_callback(chromium.close)
                for i in range(args.browsers):
                    browsers.append(
                        await BrowserViewer.join(chromium, args.url, room, f"chromium{i}")
                    )
                deadline = time.monotonic() + args.warmup
                while True:
                    seen = [await b.sample() for b in browsers]
                    if all(
                        t.get(ids[s.name], {}).get("frames", 0) > 0
                        for t in seen
                        for s in publishers
                    ):
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"not every browser decodes every publisher: {seen}")
                    await asyncio.sleep(0.2)
            if args.renack:
                renack = asyncio.get_running_loop().create_task(
                    renack_like_a_browser(everyone, args.renack, 10)
                )
            await asyncio.sleep(1.0)  # past the first keyframes
            print("measuring", flush=True)  # the harness may now change the network

            browser_counts: dict[tuple[str, str], dict[str, int]] = {}

            async def decoded() -> dict[tuple[str, str], tuple[int, int, list[float]]]:
                """Per (receiver, source): frames decoded, gaps recorded, every gap so far
                (browsers: and the seconds since the last frame). Browsers' own counters
                (frames dropped, NACKs, packets lost) go to ``browser_counts``."""
                out: dict[tuple[str, str], tuple[int, int, list[float]]] = {}
                for r, s in pairs():
                    got = r.received[ids[s.name]]
                    out[(r.name, s.name)] = (got.frames, len(got.gaps), got.gaps)
                for b in browsers:
                    tiles = await b.sample()
                    for s in publishers:
                        t = tiles.get(ids[s.name], {"frames": 0, "all_gaps": [], "since_last": 0})
                        gaps = [*t["all_gaps"], t["since_last"] or 0.0]
                        out[(b.name, s.name)] = (t["frames"], len(t["all_gaps"]), gaps)
                        browser_counts[(b.name, s.name)] = {
                            k: t.get(k, 0)
                            for k in ("dropped", "nacks", "lost", "longest_paint_gap")
                        }
                return out

            # A frame is decoded some time after it is produced, so decoding is counted
            # over the production window shifted by LAG (longer than the pipeline).
            sent0, m0, t0 = (
                {s.name: _sent(s) for s in publishers},
                await _metrics(session, args.url),
                time.monotonic(),
            )
            await asyncio.sleep(LAG)
            dec0 = await decoded()
            counts0 = dict(browser_counts)
            await asyncio.sleep(args.duration - LAG)
            sent1, m1, t1 = (
                {s.name: _sent(s) for s in publishers},
                await _metrics(session, args.url),
                time.monotonic(),
            )
            await asyncio.sleep(t1 + LAG - time.monotonic())
            dec1, end = await decoded(), time.monotonic()
            streams = []
            for (receiver, source), (f1, g1, all_gaps) in dec1.items():
                f0, g0, _ = dec0[(receiver, source)]
                if receiver.startswith("chromium"):
                    # The last entry is the time since the newest frame, as of this read.
                    gaps = [*all_gaps[g0:g1], all_gaps[-1]]
                else:
                    person = next(p for p in everyone if p.name == receiver)
                    last_at = person.received[ids[source]].last_at
                    gaps = [*all_gaps[g0:g1], end - (last_at or t0)]
                stream = {
                    "receiver": receiver,
                    "source": source,
                    "decoded": f1 - f0,
                    "sent": sent1[source] - sent0[source],
                    "freezes": sum(1 for g in gaps if g > FREEZE),
                    "longest": max(gaps, default=0.0),
                }
                if (receiver, source) in counts0:
                    before, after = counts0[(receiver, source)], browser_counts[(receiver, source)]
                    stream.update({k: after[k] - before[k] for k in after})
                streams.append(stream)
            return {
                "seconds": t1 - t0,
                "streams": streams,
                "server": {k: m1.get(k, 0.0) - m0.get(k, 0.0) for k in m1},
            }
        finally:
            if renack is not None:
                renack.cancel()
                await asyncio.wait([renack])
            for p in everyone:
                # A last offer may still be answered while its socket closes.
                with contextlib.suppress(aiohttp.ClientError, ConnectionError):
                    await p.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.impair.clients")
    p.add_argument("url")
    p.add_argument("--publishers", type=int, default=2)
    p.add_argument("--viewers", type=int, default=2)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument(
        "--browsers",
        type=int,
        default=0,
        help="Chromium pages on the web client that join too and are measured as receivers",
    )
    p.add_argument("--warmup", type=float, default=30.0)
    p.add_argument(
        "--renack",
        type=float,
        default=0.0,
        help="receivers re-send NACKs every this many seconds, as browsers do (0: never)",
    )
    args = p.parse_args(argv)
    if args.browsers and (problem := chromium_missing()):
        p.error(problem)
    # uvloop reads each socket dry per wake-up, as a browser does; asyncio's loop reads one
    # datagram per socket per turn, so with several clients in one process RTCP and media
    # queued in the kernel behind each other (see tests/interop/conftest.py).
    result = uvloop.run(run(args))
    print("result " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
