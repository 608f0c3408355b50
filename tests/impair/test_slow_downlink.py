"""A viewer behind a slow link gets fewer temporal layers, not frozen video (issue 9).

A Chromium publisher (web client, VP8 L1T3) and a full-rate aiortc viewer sit next to the
server; a second aiortc viewer sits behind the router's bottleneck (server to viewer only:
400 kbit/s, a 60 kB drop-tail queue), well below the publisher's ~600 kbit/s. The SFU reads
that viewer's REMB and drops temporal layers for it: it keeps decoding the publisher (every
frame checked for its colour) at a lower frame rate without long freezes, while the other
viewer gets the full rate.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from tests.chromium import chromium_missing
from tests.impair.harness import ImpairedNetwork, namespaces_available
from tests.impair.layered_call import window

RATE = 400_000  # bit/s, server to the slow viewer
QUEUE = 60_000  # bytes: 1.2 s at RATE (a home router's buffer), room for a keyframe


@pytest.fixture(autouse=True)
def _namespaces() -> None:
    problem = namespaces_available() or chromium_missing()
    if problem is not None:
        pytest.fail(f"the impairment harness cannot run here: {problem}", pytrace=False)


async def _lines_until(proc: asyncio.subprocess.Process, prefix: str, out: list[str]) -> str:
    assert proc.stdout is not None
    async for raw in proc.stdout:
        line = raw.decode().rstrip()
        out.append(line)
        if line.startswith(prefix):
            return line
    raise RuntimeError(f"no {prefix!r}:\n" + "\n".join(out[-40:]))


@pytest.mark.timeout(240)
@pytest.mark.parametrize("slow_viewer", ["aiortc", "chromium"])
async def test_a_slow_downlink_gets_fewer_layers_and_keeps_decoding(slow_viewer: str) -> None:
    net = ImpairedNetwork()
    out: list[str] = []
    try:
        await net.start()
        await net.start_server(log_level="INFO")
        room = f"slow-{uuid.uuid4().hex[:8]}"
        module = "tests.impair.layered_call"
        pub = await net.spawn(
            net.server_ns, "-m", module, "publisher", net.url, room, "--seconds", "60"
        )
        async with asyncio.timeout(90):
            await _lines_until(pub, "ready", out)
        await net.control({"rate": RATE, "queue": QUEUE, "burst": 3000, "only": net.from_server})
        view = await net.spawn(
            net.client_ns,
            "-m",
            module,
            "viewer",
            net.url,
            room,
            "--settle",
            "12",
            "--seconds",
            "25",
            *(["--browser"] if slow_viewer == "chromium" else []),
        )
        async with asyncio.timeout(120):
            slow = json.loads((await _lines_until(view, "result ", out))[7:])
            published = json.loads((await _lines_until(pub, "result ", out))[7:])
        router = await net.control({})
        log = net.server_log.read_text()
    finally:
        await net.close()
    t0, t1 = slow["t0"], slow["t1"]
    slow_fps, slow_gap = slow["fps"], slow["longest"]
    fast = published["fast"]
    fast_fps, fast_gap = window(fast["arrivals"], t0, t1)
    layer_lines = [line for line in log.splitlines() if "at layer" in line]
    detail = (
        f"slow ({slow_viewer}) {slow_fps:.1f} fps, longest {slow_gap:.2f}s; fast {fast_fps:.1f} "
        f"fps, longest {fast_gap:.2f}s; router {router}; server {published['server']}; "
        f"layers {layer_lines[-12:]}; colours slow {slow['right']}/{slow['wrong']} fast "
        f"{fast['right']}/{fast['wrong']}"
    )
    print(detail)
    # Every frame the aiortc viewers decoded came from the publisher (its colour).
    for report in (slow, fast):
        if report["right"] is not None:
            assert report["wrong"] <= 0.02 * (report["right"] + report["wrong"]), detail
    # The unconstrained viewer gets the publisher's full rate (its base layer alone is a
    # quarter of it: never sent to it alone)...
    fast_id, slow_id = fast["me"], slow["me"]
    assert not [line for line in layer_lines if f"peer {fast_id}:" in line and "layer 0" in line]
    assert fast_fps >= 15, detail
    # ... the slow one fewer frames (layers dropped for it), but it keeps decoding.
    assert any(f"peer {slow_id}:" in line for line in layer_lines), detail
    assert 3 <= slow_fps <= 0.75 * fast_fps, detail
    assert slow_gap < 2.0, detail
    # The SFU did it: temporal layers dropped (and said so, above).
    assert published["server"].get("coshop_sfu_layer_drops_total", 0) > 0, detail
