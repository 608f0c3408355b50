"""Chromium reads the SFU's sender reports (one RTCP compound per transport carries every
sender's SR and CNAME, sfu/sender_reports.py): each received track has remote-outbound-rtp
stats, built from those reports, with the reports and packets counting up."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.browser.api import create_room
from tests.browser.conftest import OpenPage
from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer
from tests.helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

_REMOTE_OUTBOUND_JS = """
async () => {
  const out = [];
  (await window.coshop.call.session.pc.getStats()).forEach((s) => {
    if (s.type === "remote-outbound-rtp") {
      out.push({kind: s.kind, ssrc: s.ssrc, reports: s.reportsSent, packets: s.packetsSent});
    }
  });
  return out;
}
"""


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CoshopServer]:
    node = CoshopServer(tmp_path_factory.mktemp("coshop"))
    await node.start()
    yield node
    await node.stop()


async def _remote_outbound(page: RoomPage) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await page.page.evaluate(_REMOTE_OUTBOUND_JS)
    return result


async def test_chromium_reads_every_tracks_sender_reports(
    open_page: OpenPage, server: CoshopServer
) -> None:
    room = f"reports-{uuid.uuid4().hex[:8]}"
    await create_room(server.url, room)
    pages = [await open_page(f"/r/{room}") for _ in range(3)]
    for page, name in zip(pages, ("Ann", "Bob", "Cy"), strict=True):
        await page.join(name)
    await pages[2].wait_playing({"Ann", "Bob"})
    viewer = pages[2]

    async def reported() -> bool:
        stats = await _remote_outbound(viewer)
        return len(stats) >= 4 and all(s["reports"] >= 3 and s["packets"] > 0 for s in stats)

    await wait_for(reported, timeout=20, interval=1.0)
    stats = await _remote_outbound(viewer)
    # Audio and video of both other participants: four senders, one datagram of reports.
    assert sorted(s["kind"] for s in stats) == ["audio", "audio", "video", "video"], stats
