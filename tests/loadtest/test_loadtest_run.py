"""``coshop loadtest`` against a real node on loopback: clean figures, induced faults reported
(a blocked publisher, a killed server), thresholds and errors turned into the exit code."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from signaling.cli import main
from tests.helpers import wait_for
from tests.loadtest.conftest import Server, finish, loadtest, start_loadtest

pytestmark = pytest.mark.media


def by_route(report: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(d["receiver"], d["source"], d["kind"]): d for d in report["routes_detail"]}


async def test_two_rooms_of_four_lose_nothing_and_measure_sensible_latency(
    server: Server, tmp_path: Path
) -> None:
    out, png = tmp_path / "run.json", tmp_path / "run.png"
    # 180p: the smallest preset keeps this test's packet rate low on a shared 2-core machine.
    result = await loadtest(
        "--url", server.url, "--rooms", "2", "--peers", "4", "--duration", "6s", "--preset",
        "180p", "--workers", "2", "--fail-if", "latency.p99>10s", "--json", str(out),
        "--plot", str(png),
    )
    assert result.code == 0, result.stdout + result.stderr
    assert "result: PASS" in result.stdout
    report = json.loads(out.read_text())
    assert report["frames"]["lost"] == 0, result.stdout
    assert report["frames"]["received"] > 2 * 4 * 3 * 30 * 3  # ~30 fps on 24 video routes
    assert report["errors"]["count"] == 0
    assert 0 < report["latency_ms"]["p50"] < 100
    assert report["latency_ms"]["p50"] <= report["latency_ms"]["p95"] <= report["latency_ms"]["p99"]
    # Every publisher reaches every other peer of its room, audio and video.
    assert report["routes"]["expected"] == 2 * 4 * 3 * 2
    assert report["routes"]["present"] == report["routes"]["expected"]
    routes = by_route(report)
    for room in (0, 1):
        for rx in range(4):
            for tx in range(4):
                if rx != tx:
                    for kind in ("video", "audio"):
                        assert routes[(f"r{room}p{rx}", f"r{room}p{tx}", kind)]["packets"] > 0
    for phase in ("socket_open", "joined", "offer", "answer", "ice", "dtls", "first_rtp",
                  "first_frame"):
        assert report["join_ms"][phase]["n"] == 8, phase
    assert report["ttff_ms"]["n"] == 24 and report["ttff_ms"]["p50"] > 0
    assert report["server"]["packets_out_per_s"] > 0
    assert report["server"]["us_per_forwarded_packet"] > 0
    assert report["tester"]["workers"] == 2
    # The default receive path: the compiled one (the extension is built with the package),
    # its sockets read on the workers' 5 ms grid (loadtest.pacing).
    assert report["tester"]["receive_paths"] == [
        "compiled, batched, read every 5 ms (loadtest._compiled_receive, recvmmsg)"]
    assert "receive path: compiled" in result.stdout + result.stderr
    # ... and the compiled send path (loadtest._compiled_send).
    assert report["tester"]["send_paths"] == ["compiled (loadtest._compiled_send, sendmmsg)"]
    assert "send path: compiled" in result.stdout + result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_a_blocked_publisher_shows_as_loss_and_freezes_on_its_routes(
    server: Server, tmp_path: Path
) -> None:
    scenario = tmp_path / "fault.toml"
    scenario.write_text(f"""
url = "{server.url}"
rooms = 1
peers = 3
duration = "5s"
room_prefix = "fault"
fail_if = ["frames.lost>0"]

[[faults]]
kind = "block_video"
peer = "r0p1"
at = "1.5s"
for = "1.5s"
""")
    out = tmp_path / "fault.json"
    result = await loadtest("--scenario", str(scenario), "--workers", "1", "--json", str(out))
    assert result.code == 1, result.stdout + result.stderr
    assert re.search(r"frames\.lost>0 +BROKEN", result.stdout), result.stdout
    report = json.loads(out.read_text())
    routes = by_route(report)
    for rx in ("r0p0", "r0p2"):
        blocked = routes[(rx, "r0p1", "video")]
        assert blocked["lost_frames"] >= 30  # 1.5 s at 30 fps, give or take a frame
        assert blocked["freezes"] >= 1
    for rx, tx in (("r0p0", "r0p2"), ("r0p1", "r0p0"), ("r0p1", "r0p2"), ("r0p2", "r0p0")):
        assert routes[(rx, tx, "video")]["lost_frames"] == 0
    assert report["errors"]["count"] == 0


async def test_a_server_killed_mid_run_is_reported_with_a_non_zero_exit(
    own_server: Server, tmp_path: Path
) -> None:
    out = tmp_path / "killed.json"
    process = await start_loadtest("--url", own_server.url, "--rooms", "1", "--peers", "2",
                                   "--duration", "40s", "--workers", "1", "--json", str(out))

    def peers_in_rooms() -> int:
        with urllib.request.urlopen(own_server.url + "/healthz", timeout=2) as resp:
            return int(json.load(resp)["peers"])

    await wait_for(lambda: peers_in_rooms() == 2, timeout=30, interval=0.2)
    own_server.process.kill()
    result = await finish(process, 40)
    assert result.code == 2, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["aborted"]
    assert report["errors"]["count"] >= 2
    messages = " ".join(e["message"] for e in report["errors"]["top"])
    assert "socket closed by the server" in messages
    assert "ABORTED" in result.stdout and "result: FAIL" in result.stdout


def test_unreachable_server_and_bad_usage_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["loadtest", *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = run("--url", "http://127.0.0.1:9", "--duration", "2s")
    assert (code, "cannot reach http://127.0.0.1:9" in err) == (2, True)
    code, _, err = run("--url", "http://127.0.0.1:9", "--fail-if", "latency.p42>3ms")
    assert (code, "unknown metric 'latency.p42'" in err) == (2, True)
    bad = tmp_path / "bad.toml"
    bad.write_text("rooms = 0\n")
    code, _, err = run("--scenario", str(bad), "--url", "http://127.0.0.1:9")
    message = f"{bad}: rooms: input should be greater than or equal to 1, got 0"
    assert (code, message in err) == (2, True)
    code, _, err = run("--rooms", "1")
    assert (code, "no server" in err) == (2, True)
    code, out, _ = run("--list-metrics")
    assert (code, "latency.p99" in out) == (0, True)
    with pytest.raises(SystemExit) as info:
        main(["loadtest", "--rooms", "many"])
    assert info.value.code == 2
