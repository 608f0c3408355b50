"""A/B micro-benchmark of the SFU's forwarding hot path, in one process.

One publisher (pre-encoded 360p VP8 + Opus through aiortc's pack path) and K receive-only
subscribers join an SFU media room directly (no signaling). Every packet's trip through
``TrackSource._on_packet`` (rewrite, serialise, SRTP, socket write, for all K
subscribers) is timed with the thread's CPU clock. The egress mode flips between aiortc's
coroutine send path and the direct egress every round, so both are measured under the
same machine load; the figures are CPU microseconds per forwarded packet.
``--compare compiled`` flips between the Python direct egress (A) and the compiled one
(sfu._compiled_egress, B) instead; ``--compare fanout`` between one forward() call per copy
over the compiled egress (A) and the compiled fan-out, one C call per packet (B). Side B of
every mode has the compiled fan-out (where built), side A never.

    python bench/forward_path.py --subscribers 9 --rounds 10
    python bench/forward_path.py --compare compiled
    python bench/forward_path.py --compare fanout
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from loadtest.media import PRESETS, cached_video, encode_audio
from loadtest.peer import ReplayAudioTrack, ReplayVideoTrack
from sfu import SFU, Offer, Slot, compiled_egress
from sfu.track_source import TrackSource


class Client:
    """An aiortc participant answering the SFU's offers; receives without decoding."""

    def __init__(self, name: str, tracks: list[Any]) -> None:
        self.name = name
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.tracks = tracks
        self.offers: asyncio.Queue[Offer] = asyncio.Queue()
        self.peer: Any = None
        self.received = 0
        self._sink_installed = False

    async def on_offer(self, offer: Offer) -> None:
        await self.offers.put(offer)

    async def on_slots(self, slots: list[Slot]) -> None:
        pass

    async def on_track_published(self, peer_id: str, kind: str) -> None:
        pass

    async def on_closed(self, peer_id: str, reason: str) -> None:
        pass

    async def answer_loop(self) -> None:
        while True:
            offer = await self.offers.get()
            await self.pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
            if not self._sink_installed:
                self._sink_installed = True
                for track in self.tracks:
                    sender = self.pc.addTrack(track)
                    if isinstance(track, ReplayVideoTrack):
                        sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
                transport = self.pc.getTransceivers()[0].receiver.transport

                async def sink(data: bytes, arrival_time_ms: int) -> None:
                    self.received += 1

                transport._handle_rtp_data = sink  # type: ignore[method-assign]
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            await self.peer.set_answer(self.pc.localDescription.sdp)


async def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--subscribers", type=int, default=9)
    ap.add_argument("--rounds", type=int, default=10, help="A/B rounds of --round-seconds each")
    ap.add_argument("--round-seconds", type=float, default=2.0)
    ap.add_argument(
        "--compare",
        choices=("send-path", "compiled", "fanout"),
        default="send-path",
        help="send-path: aiortc's coroutine path (A) vs the direct egress (B); "
        "compiled: the Python direct egress (A) vs the compiled one (B); "
        "fanout: forward() per copy over the compiled egress (A) vs the compiled fan-out (B)",
    )
    args = ap.parse_args()
    compiled = args.compare == "compiled"
    fanout = args.compare == "fanout"
    labels = {
        "send-path": ("aiortc send path", "direct egress"),
        "compiled": ("python direct", "compiled direct"),
        "fanout": ("forward per copy", "compiled fan-out"),
    }[args.compare]

    video = cached_video(PRESETS["360p"])
    audio = encode_audio()
    sfu = SFU()
    room = sfu.room("bench")
    clients = [Client("pub", [ReplayAudioTrack(audio), ReplayVideoTrack(video, 0)])]
    clients += [Client(f"sub{i}", []) for i in range(args.subscribers)]
    tasks = []
    for c in clients:
        c.peer = await room.add_peer(c.name, publish=c.name == "pub", listener=c)
        tasks.append(asyncio.ensure_future(c.answer_loop()))

    sources: list[TrackSource] = list(room.peers["pub"].sources.values())
    deadline = time.monotonic() + 30
    while any(len(s.forwarders) < args.subscribers for s in sources) or not all(
        c.received for c in clients[1:]
    ):
        if time.monotonic() > deadline:
            raise SystemExit("subscribers did not start receiving within 30 s")
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)

    # True: side B (direct egress, or the compiled one with --compare compiled).
    spent = {True: 0.0, False: 0.0}
    packets = {True: 0, False: 0}
    mode = {"direct": True}

    for source in sources:
        original = source._on_packet

        def timed(packet: Any, original: Any = original, source: TrackSource = source) -> Any:
            before = sum(f.packets_sent for f in source.forwarders)
            direct = mode["direct"]
            t0 = time.thread_time()
            later = original(packet)
            spent[direct] += time.thread_time() - t0
            packets[direct] += sum(f.packets_sent for f in source.forwarders) - before
            # aiortc's send path is awaited after the synchronous part: timed as well.
            return None if later is None else [partial(_timed, step, direct) for step in later]

        async def _timed(step: Any, direct: bool) -> None:
            t0 = time.thread_time()
            await step()
            spent[direct] += time.thread_time() - t0

        source._on_packet = timed  # type: ignore[method-assign]

    per_round: dict[bool, list[float]] = {True: [], False: []}
    for r in range(args.rounds * 2):
        direct = r % 2 == 0
        mode["direct"] = direct
        # Side A never takes the compiled fan-out: its copies, once bound, would bypass the
        # egress switches below (side B: the fan-out where the SFU's settings have it).
        for source in sources:
            source._fan_out = compiled_egress.fan_out if direct else None
        for peer in room.peers.values():
            for sub in peer.subscriptions:
                egress = sub.forwarder._egress
                if egress is None or fanout:
                    continue
                if compiled:
                    egress.compiled = direct
                else:
                    egress.direct = direct
        s0, p0 = spent[direct], packets[direct]
        await asyncio.sleep(args.round_seconds)
        if packets[direct] > p0:
            per_round[direct].append((spent[direct] - s0) / (packets[direct] - p0) * 1e6)
        print(
            f"round {r + 1:2d} {labels[direct]}: "
            f"{per_round[direct][-1]:.1f} us/packet",
            flush=True,
        )

    print(
        f"\nforwarding hot path, 1 publisher x {args.subscribers} subscribers, "
        f"{packets[True] + packets[False]} packets forwarded"
    )
    for direct in (False, True):
        rounds = per_round[direct]
        print(
            f"  {labels[direct]:17s} median {statistics.median(rounds):5.1f} us/packet  "
            f"(min {min(rounds):.1f}, max {max(rounds):.1f}, {len(rounds)} rounds)"
        )
    ratios = [b / a for a, b in zip(per_round[False], per_round[True], strict=False)]
    print(f"  B/A per round pair: median {statistics.median(ratios):.3f}")
    for t in tasks:
        t.cancel()
    await asyncio.wait(tasks)
    for c in clients:
        await c.pc.close()
    await sfu.close()


if __name__ == "__main__":
    asyncio.run(main())
