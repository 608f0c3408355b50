"""Synthetic receivers send receiver reports a real coshop node learns the round trip from.

A browser answers each sender report with LSR/DLSR in its periodic receiver reports (RFC 3550
§6.4.1); aiortc's sender on the node computes ``roundTripTime`` from them. The node runs
in-process here (real SFU, real aiortc on both sides, loopback sockets) so its senders'
``getStats()`` can be read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiortc.stats import RTCRemoteInboundRtpStreamStats

from loadtest.media import cached_video, encode_audio
from loadtest.peer import SyntheticPeer
from loadtest.presets import PRESETS
from signaling import Settings, create_app
from signaling.keys import NODE

Client = TestClient[web.Request, web.Application]


async def wait_for(predicate: Callable[[], Awaitable[bool]], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_the_node_computes_rtt_from_synthetic_receivers_reports(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    settings = Settings(port=0, node_id="rr-node", recording_dir=tmp_path / "recordings")
    client = await aiohttp_client(create_app(settings))
    node = client.app[NODE]
    url = str(client.make_url("")).rstrip("/")
    node.placement.set_url(url)
    async with aiohttp.ClientSession() as http:
        publisher = SyntheticPeer(url=url, room="rr", name="pub", index=1,
                                  video=cached_video(PRESETS["180p"]), audio=encode_audio(),
                                  session=http)
        viewer = SyntheticPeer(url=url, room="rr", name="viewer", index=2, video=None,
                               audio=None, session=http)
        try:
            for peer in (publisher, viewer):
                await peer.start()
                await asyncio.wait_for(peer.joined.wait(), 20)

            async def rtts() -> dict[str, float]:
                room = node.sfu.rooms.get("rr")
                server_peer = room.peers.get(viewer.participant_id or "") if room else None
                if server_peer is None:
                    return {}
                out = {}
                for sender in server_peer.pc.getSenders():
                    if sender.track is None:
                        continue
                    for stats in (await sender.getStats()).values():
                        if (isinstance(stats, RTCRemoteInboundRtpStreamStats)
                                and stats.roundTripTime is not None):
                            out[sender.track.kind] = stats.roundTripTime
                return out

            async def video_rtt() -> bool:
                return "video" in await rtts()

            # Video reports go every 0.5-1.5 s; aiortc matches a report to its latest SR only.
            assert await wait_for(video_rtt, 20), (
                f"no RTT on the node; reports sent: {viewer._receiver.reports_sent}")
            rtt = (await rtts())["video"]
            assert 0 <= rtt < 0.5  # loopback: the report's LSR/DLSR are right
            assert viewer._receiver.reports_sent > 0
        finally:
            for peer in (viewer, publisher):
                await peer.close()
