"""Aggregation of worker results: loss a receiver cannot see alone, missing routes, first
frames, and the flat figures thresholds read."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.aggregate import aggregate, flatten
from loadtest.metrics import RouteStats
from loadtest.stamp import Stamp
from loadtest.thresholds import METRICS

END = 1000.0  # when the publishers were paused
FPS = 30


def video_route(source: str, frames: range, start: float, latency_ms: float = 2.0,
                ) -> dict[str, Any]:
    """A route summary as a worker sends it, from a real RouteStats fed frame by frame."""
    r = RouteStats("video", keep_samples=False)
    for i, n in enumerate(frames):
        now = start + i / FPS
        r.on_packet(seq=i, timestamp=n * 3000, clock_rate=90000, size=1000, marker=True,
                    stamp=Stamp(1, n, int((now - latency_ms / 1000) * 1e6)), now=now)
    return {"source": source, **r.summary(10), "latency": r.latency.to_dict()}


def audio_route(source: str) -> dict[str, Any]:
    r = RouteStats("audio")
    for i in range(50):
        r.on_packet(seq=i, timestamp=i * 960, clock_rate=48000, size=100, marker=False,
                    stamp=None, now=END - 1 + i / 50)
    return {"source": source, **r.summary(10), "latency": r.latency.to_dict()}


def session(name: str, pid: str, *, publish: bool, routes: list[dict[str, Any]],
            started: float = END - 10, last_frame_sent: int | None = None,
            first_frames: dict[str, float] | None = None, active: bool = True,
            errors: list[str] | None = None) -> dict[str, Any]:
    phases = {"socket_open": 0.01, "joined": 0.02, "offer": 0.03, "answer_sent": 0.05,
              "ice_connected": 0.08, "dtls_connected": 0.1, "first_rtp": 0.2,
              "first_frame": 0.3}
    return {
        "name": name, "room": "load-0", "publish": publish, "generation": 0,
        "participant_id": pid, "state": "joined" if active else "left", "active": active,
        "started_at": started, "ended_at": None, "phases": phases, "errors": errors or [],
        "last_frame_sent": last_frame_sent, "first_frames": first_frames or {},
        "routes": routes,
    }


def full_room() -> list[dict[str, Any]]:
    """Publishers a and b, viewer v; every route flows, nothing is lost."""
    start = END - 9
    frames = range(0, 9 * FPS)
    last = frames[-1]
    return [
        session("a", "A", publish=True, last_frame_sent=last,
                routes=[video_route("B", frames, start), audio_route("B")],
                first_frames={"B": END - 9.7}),
        session("b", "B", publish=True, last_frame_sent=last,
                routes=[video_route("A", frames, start), audio_route("A")]),
        session("v", "V", publish=False,
                routes=[video_route("A", frames, start), audio_route("A"),
                        video_route("B", frames, start), audio_route("B")]),
    ]


def test_a_clean_room() -> None:
    report = aggregate([{"sessions": full_room()}], window=(END - 10, END))
    assert report["routes"] == {"expected": 8, "present": 8, "missing": 0, "missing_list": [],
                                "flowing": 8}
    assert report["frames"]["lost"] == 0
    assert report["frames"]["received"] == 4 * 9 * FPS  # four video routes
    assert report["freezes"]["count"] == 0
    assert report["latency_ms"]["p50"] == pytest.approx(2.0, rel=0.02)
    assert report["peers"] == {"target": 3, "sessions": 3, "joined": 3, "active": 3, "failed": 0,
                               "churned": 0, "publishers": 2, "redirected": 0, "moved": 0}
    assert report["moves"]["count"] == 0
    assert report["join_ms"]["dtls"]["p50"] == pytest.approx(100)
    # a's first frame from b: 9.7 s before the end, b's media was up at END - 10 + 0.1.
    assert report["ttff_ms"]["values"] == [pytest.approx(200)]
    assert report["bitrate_bps"]["video_route_p50"] == pytest.approx(8000 * FPS, rel=0.01)


def test_a_stream_that_stopped_is_loss_and_a_freeze() -> None:
    sessions = full_room()
    stalled_at = 6 * FPS  # b's video to v stopped 3 s before the end
    sessions[2]["routes"][2] = video_route("B", range(0, stalled_at), END - 9)
    report = aggregate([{"sessions": sessions}], window=(END - 10, END))
    lost = 9 * FPS - stalled_at
    assert report["frames"]["lost"] == lost
    assert report["frames"]["lost_at_end"] == lost
    assert report["freezes"]["count"] == 1
    assert report["freezes"]["seconds"] == pytest.approx(3.0, abs=0.1)
    detail = {(d["receiver"], d["source"], d["kind"]): d for d in report["routes_detail"]}
    assert detail[("v", "b", "video")]["lost_frames"] == lost
    assert detail[("v", "a", "video")]["lost_frames"] == 0


def test_a_gap_inside_a_stream_is_loss_and_a_freeze() -> None:
    sessions = full_room()
    frames = [n for n in range(9 * FPS) if not 100 <= n < 145]
    r = RouteStats("video", keep_samples=False)
    t = END - 9
    for i, n in enumerate(frames):
        now = t + n / FPS
        r.on_packet(seq=i, timestamp=n * 3000, clock_rate=90000, size=1000, marker=True,
                    stamp=Stamp(1, n, int(now * 1e6)), now=now)
    sessions[0]["routes"][0] = {"source": "B", **r.summary(10), "latency": r.latency.to_dict()}
    report = aggregate([{"sessions": sessions}], window=(END - 10, END))
    assert (report["frames"]["lost"], report["freezes"]["count"]) == (45, 1)


def test_a_route_that_never_flowed_is_missing() -> None:
    sessions = full_room()
    del sessions[2]["routes"][2:]  # v got nothing from b
    report = aggregate([{"sessions": sessions}], window=(END - 10, END))
    assert report["routes"]["missing"] == 2
    assert report["routes"]["missing_list"] == ["v <- b audio", "v <- b video"]


def test_fresh_and_departed_sessions_are_not_expected_to_receive() -> None:
    sessions = full_room()
    sessions[2]["routes"] = []
    sessions[2]["started_at"] = END - 1  # joined 1 s before the end: within the grace
    sessions.append(session("gone", "G", publish=True, routes=[], active=False,
                            errors=["left the room: removed"]))
    report = aggregate([{"sessions": sessions[:2]}, {"sessions": sessions[2:]}],
                       window=(END - 10, END), extra_errors=["server metrics: refused"])
    assert report["routes"]["missing"] == 0
    assert report["routes"]["expected"] == 4
    assert report["errors"]["count"] == 2
    assert {e["message"] for e in report["errors"]["top"]} == {"left the room: removed",
                                                              "server metrics: refused"}


def test_flatten_names_every_metric() -> None:
    report = aggregate([{"sessions": full_room()}], window=(END - 10, END))
    report["server"] = {"cpu_cores": 0.5, "packets_out_per_s": 1000.0, "packets_in_per_s": 100.0,
                        "us_per_forwarded_packet": 50.0,
                        "loop_lag_ms": {"exposed": False, "max": None, "mean": None}}
    report["tester"] = {"max_worker_cores": 0.3, "loop_lag_ms": {"p99": 1.0, "max": 2.0}}
    figures = flatten(report)
    assert set(figures) == set(METRICS)
    assert figures["server.us_per_packet"] == 50.0
    assert figures["frames.lost"] == 0
    assert figures["routes.missing"] == 0


def test_moves_are_counted_with_their_reasons_and_times() -> None:
    sessions = full_room()
    sessions[0]["moves"] = [{"at": END - 5, "reason": "draining", "url": "ws://b/ws",
                             "rejoined": 0.4, "media_back": 1.2}]
    sessions[2]["moves"] = [{"at": END - 5, "reason": "draining", "url": "ws://b/ws",
                             "rejoined": 0.6, "media_back": None},
                            {"at": END - 2, "reason": "moved", "url": "ws://c/ws",
                             "rejoined": None, "media_back": None}]
    sessions[1]["redirects"] = 1
    report = aggregate([{"sessions": sessions}], window=(END - 10, END))
    moves = report["moves"]
    assert (moves["count"], moves["rejoined"]) == (3, 2)
    assert moves["reasons"] == {"draining": 2, "moved": 1}
    assert moves["rejoin_ms"]["p50"] == pytest.approx(500)
    assert moves["media_back_ms"]["n"] == 1
    assert (report["peers"]["moved"], report["peers"]["redirected"]) == (2, 1)
    assert [len(s["moves"]) for s in report["sessions"]] == [1, 0, 2]
    assert [s["participant_id"] for s in report["sessions"]] == ["A", "B", "V"]
