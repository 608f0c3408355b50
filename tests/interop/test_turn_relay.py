"""People behind UDP-hostile firewalls still connect: Debian's coturn with a shared secret
(``use-auth-secret``), the node hands out time-limited TURN credentials (COSHOP_ICE_SERVERS,
COSHOP_TURN_SECRET), and a Chromium page forced to relay (``?ice=relay``:
iceTransportPolicy "relay") sends and receives video through coturn, colours checked."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.room_page import RoomPage
from tests.browser.server import free_port
from tests.interop.conftest import Server
from tests.interop.stranger import Stranger
from tests.interop.test_chromium_publishers import chromium, chromium_page, playwright

pytestmark = [pytest.mark.media, pytest.mark.browser]

__all__ = ["chromium", "playwright"]  # fixtures used below

SECRET = "a-turn-shared-secret-for-tests"

SELECTED_PAIR_JS = """async () => {
  const stats = await window.coshop.call.session.pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      pair = stats.get(s.selectedCandidatePairId);
    }
  });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return {state: pair.state, local: local.candidateType, relayProtocol: local.relayProtocol || null,
          localAddress: local.address, remote: remote.candidateType};
}"""


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """Debian's coturn on loopback, shared-secret auth; relays to loopback peers (the node)."""
    binary = shutil.which("turnserver") or "/usr/bin/turnserver"
    if not Path(binary).exists():
        pytest.fail("turnserver not found: apt-get install coturn (tests/run.sh does)")
    port, log = free_port(), tmp_path / "coturn.log"
    relay_low = 49152 + (port % 1000) * 10
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-n", "--listening-ip=127.0.0.1", f"--listening-port={port}",
             "--relay-ip=127.0.0.1", f"--min-port={relay_low}", f"--max-port={relay_low + 9}",
             "--use-auth-secret", f"--static-auth-secret={SECRET}", "--realm=coshop.test",
             "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint",
             "--no-multicast-peers", "--verbose", "--log-file=stdout", "--simple-log",
             f"--pidfile={tmp_path / 'coturn.pid'}"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 10
    while b"listener opened on" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"coturn did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    yield port, log
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def test_a_browser_forced_to_relay_gets_and_sends_video_through_coturn(
    coturn: tuple[int, Path], serve: Callable[..., Server], playwright: object, tmp_path: Path
) -> None:
    turn_port, turn_log = coturn
    ice = [{"urls": [f"turn:127.0.0.1:{turn_port}?transport=udp"]}]
    server = serve(ice_servers=json.dumps(ice), turn_secret=SECRET, turn_ttl="600")
    room = "behind-a-firewall"
    colours: dict[str, int] = {}
    ann = Stranger(server.url, "Ann", 2, colour_of=colours.get)
    browser = None
    try:
        await ann.join(room)
        assert ann.me is not None
        colours[ann.me] = 2
        joined = ann.last("joined")
        assert joined is not None and joined["ice_servers"][0]["username"].endswith(f":{ann.me}")
        browser, page = await chromium_page(
            playwright, tmp_path, 0, f"{server.url}/r/{room}?ice=relay", "Rosa"
        )
        rosa = await page.evaluate("() => window.coshop.room.you.id")
        colours[rosa] = 0
        await RoomPage(page, server.url).wait_playing({"Ann"}, seconds=40)
        deadline = time.monotonic() + 30
        while ann.right_frames(rosa) < 20:
            assert time.monotonic() < deadline, ann.received.get(rosa)
            await asyncio.sleep(0.2)
        pair: dict[str, Any] = await page.evaluate(SELECTED_PAIR_JS)
        assert pair is not None and pair["state"] == "succeeded", pair
        assert pair["local"] == "relay", pair  # the browser's media goes through coturn
        # coturn checked Rosa's time-limited credentials (username <expiry>:<participant id>).
        assert f":{rosa}" in turn_log.read_text(errors="replace")
        assert ann.errors == []
    finally:
        await ann.close()
        if browser is not None:
            await browser.close()
