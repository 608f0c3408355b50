"""Worker results into one report (sans-IO): join phases, time to first frame, routes,
frame loss, freezes, latency, bitrate, jitter and errors over every worker's peers.

Loss a receiver cannot see by itself is found here, where both ends are known: frames
a publisher produced after the last one a receiver got (a stream that stopped for
good), and routes that should flow but never did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from loadtest.histogram import Histogram
from loadtest.metrics import percentile
from loadtest.thresholds import JOIN_PHASES

#: Report phase names -> JoinPhases attributes.
PHASE_ATTRS = {"socket_open": "socket_open", "joined": "joined", "offer": "offer",
               "answer": "answer_sent", "ice": "ice_connected", "dtls": "dtls_connected",
               "first_rtp": "first_rtp", "first_frame": "first_frame"}
_FREEZE_FLOOR_S = 0.150  # the W3C freeze rule, as in metrics.RouteStats


def _stats(values: list[float], scale: float = 1.0) -> dict[str, float | int | None]:
    v = [x * scale for x in values]
    return {
        "n": len(v),
        "p50": percentile(v, 50),
        "p95": percentile(v, 95),
        "max": max(v) if v else None,
    }


def _abs_phase(session: Mapping[str, Any], phase: str) -> float | None:
    value = session["phases"].get(phase)
    return None if value is None else float(session["started_at"]) + value


def aggregate(
    workers: Iterable[Mapping[str, Any]],
    *,
    window: tuple[float, float],
    grace: float = 3.0,
    extra_errors: Iterable[str] = (),
) -> dict[str, Any]:
    """One report from every worker's ``stats`` reply.

    ``window`` is (start, end) of the measurement in epoch seconds, the end being when the
    publishers were paused. A route is expected when both ends were joined ``grace``
    seconds before the end (a fresh subscription may not carry media yet).
    """
    t0, t1 = window
    seconds = max(t1 - t0, 1e-9)
    workers = list(workers)
    sessions = [s for w in workers for s in w["sessions"]]
    by_pid = {s["participant_id"]: s for s in sessions if s["participant_id"]}
    # Which worker hosts whom, and when each worker itself stalled (freezes.while_tester_stalled).
    stalls = [[(t - d, t) for t, d in w.get("stalls", [])] for w in workers]
    worker_of = {s["participant_id"]: i for i, w in enumerate(workers) for s in w["sessions"]
                 if s["participant_id"]}
    tester_freezes = 0

    # Join phases and time to first frame: every session, whenever it joined.
    phases: dict[str, list[float]] = {p: [] for p in JOIN_PHASES}
    for s in sessions:
        for name, attr in PHASE_ATTRS.items():
            if s["phases"].get(attr) is not None:
                phases[name].append(s["phases"][attr])
    ttff: list[float] = []
    for s in sessions:
        for source, first in s["first_frames"].items():
            pub = by_pid.get(source)
            ready = pub and (_abs_phase(pub, "dtls_connected") or _abs_phase(pub, "joined"))
            ttff.append(first - max(s["started_at"], ready or s["started_at"]))

    # Routes that should flow at the end: both ends joined and active, in the same room.
    active = [s for s in sessions if s["active"]]
    settled = [s for s in active
               if (j := _abs_phase(s, "joined")) is not None and j <= t1 - grace]
    expected: set[tuple[str, str, str]] = set()
    for rx in settled:
        for pub in settled:
            if pub is not rx and pub["publish"] and pub["room"] == rx["room"]:
                for kind in ("video", "audio"):
                    expected.add((rx["name"], pub["participant_id"], kind))

    latency = Histogram()
    frames = lost_frames = tail_lost = packets = lost_packets = freezes = 0
    freeze_seconds = 0.0
    repair = {"nacks": 0, "plis": 0, "retransmissions": 0, "frames_dropped": 0}
    total_bytes = 0
    present: set[tuple[str, str, str]] = set()
    jitter: dict[str, list[float]] = {"video": [], "audio": []}
    video_bitrates: list[float] = []
    rooms: dict[str, dict[str, Any]] = {}
    detail: list[dict[str, Any]] = []
    for s in sessions:
        room = rooms.setdefault(s["room"], {"peers": 0, "routes": 0, "lost_frames": 0,
                                            "freezes": 0, "latency": Histogram()})
        room["peers"] += 1 if s["active"] else 0
        for r in s["routes"]:
            if not r["packets"]:
                continue
            key = (s["name"], r["source"], r["kind"])
            if s["active"]:
                present.add(key)
            room["routes"] += 1
            packets += r["packets"]
            lost_packets += r["lost_packets"]
            total_bytes += r["bytes"]
            jitter[r["kind"]].append(r["jitter_ms"])
            for name in repair:
                repair[name] += r.get(name, 0)
            route_lost, route_freezes, route_freeze_s = r["lost_frames"], r["freezes"], \
                r["freeze_seconds"]
            if r["kind"] == "video":
                for end, gap in r.get("freeze_log", []):
                    ends = {worker_of.get(s["participant_id"]), worker_of.get(r["source"])}
                    if any(_overlaps(stalls[w], end - gap, end) for w in ends if w is not None):
                        tester_freezes += 1
                frames += r["frames"]
                h = Histogram.from_dict(r["latency"])
                latency.merge(h)
                room["latency"].merge(h)
                span = (r["last_packet_at"] or 0) - (r["first_packet_at"] or 0)
                if span >= 1.0:
                    video_bitrates.append(8 * r["bytes"] / span)
                pub = by_pid.get(r["source"])
                if s["active"] and pub is not None and pub["active"] and key in expected:
                    tail, frozen = _tail(r, pub, t1)
                    tail_lost += tail
                    route_lost += tail
                    if frozen is not None:
                        route_freezes += 1
                        route_freeze_s += frozen
            lost_frames += route_lost
            freezes += route_freezes
            freeze_seconds += route_freeze_s
            room["lost_frames"] += route_lost
            room["freezes"] += route_freezes
            pub = by_pid.get(r["source"])
            detail.append({
                "receiver": s["name"], "generation": s["generation"],
                "source": pub["name"] if pub else r["source"], "kind": r["kind"],
                "packets": r["packets"], "lost_packets": r["lost_packets"],
                "frames": r["frames"], "lost_frames": route_lost, "freezes": route_freezes,
                "freeze_log": r.get("freeze_log", []),
                **{name: r.get(name, 0) for name in repair},
                "latency_p50_ms": Histogram.from_dict(r["latency"]).percentile(50),
                "latency_p99_ms": Histogram.from_dict(r["latency"]).percentile(99),
                "jitter_ms": r["jitter_ms"],
            })

    # Moves: a `redirect` while in the room (its node drained, or the room moved).
    moves = [m for s in sessions for m in s.get("moves", [])]

    missing = sorted(expected - present)
    names = {s["participant_id"]: s["name"] for s in sessions if s["participant_id"]}
    errors: Counter[str] = Counter()
    for s in sessions:
        for e in s["errors"]:
            errors[f"{e}"] += 1
    for e in extra_errors:
        errors[e] += 1
    sent = frames + lost_frames
    return {
        "window": {"start": t0, "end": t1, "seconds": t1 - t0},
        # Who was in when (epoch seconds): freezes can be laid beside the joins and leaves.
        "sessions": [
            {"name": s["name"], "generation": s["generation"], "started_at": s["started_at"],
             "ended_at": s["ended_at"], "participant_id": s["participant_id"],
             "redirects": s.get("redirects", 0), "moves": s.get("moves", [])}
            for s in sessions
        ],
        "peers": {
            "target": len({s["name"] for s in sessions}),
            "sessions": len(sessions),
            "joined": sum(1 for s in sessions if s["phases"].get("joined") is not None),
            "active": len(active),
            "failed": sum(1 for s in sessions if s["state"] == "failed"),
            "churned": sum(1 for s in sessions if s["generation"] > 0),
            "publishers": sum(1 for s in active if s["publish"]),
            "redirected": sum(1 for s in sessions if s.get("redirects")),
            "moved": sum(1 for s in sessions if s.get("moves")),
        },
        "moves": {
            "count": len(moves),
            "reasons": dict(Counter(str(m["reason"]) for m in moves)),
            "rejoined": sum(1 for m in moves if m["rejoined"] is not None),
            "rejoin_ms": _stats([m["rejoined"] for m in moves if m["rejoined"] is not None],
                                1000),
            "media_back_ms": _stats(
                [m["media_back"] for m in moves if m["media_back"] is not None], 1000),
        },
        "join_ms": {p: _stats(v, 1000) for p, v in phases.items()},
        "ttff_ms": {**_stats(ttff, 1000), "values": sorted(1000 * x for x in ttff)},
        "routes": {
            "expected": len(expected),
            "present": len(expected & present),
            "missing": len(missing),
            "missing_list": [f"{rx} <- {names.get(pid, pid)} {kind}"
                             for rx, pid, kind in missing[:20]],
            "flowing": sum(1 for d in detail if d["packets"]),
        },
        "frames": {"received": frames, "lost": lost_frames, "lost_at_end": tail_lost,
                   "lost_pct": 100 * lost_frames / sent if sent else None},
        "packets": {"received": packets, "lost": lost_packets,
                    "lost_pct": 100 * lost_packets / (packets + lost_packets)
                    if packets + lost_packets else None},
        # while_tester_stalled: freezes during a stall (>= 100 ms) of the worker process that
        # publishes or receives the route: the tester's own doing, as far as it can tell.
        "freezes": {"count": freezes, "seconds": freeze_seconds,
                    "while_tester_stalled": tester_freezes},
        # What the receivers did to repair video like a browser (nothing with repair off):
        # sequence numbers NACKed, PLIs sent, RTX packets received, frames never shown.
        "repair": repair,
        "latency_ms": latency.summary(),
        "bitrate_bps": {"rx": 8 * total_bytes / seconds,
                        "video_route_p50": percentile(video_bitrates, 50),
                        "video_route_min": min(video_bitrates) if video_bitrates else None},
        "jitter_ms": {k: _stats(v) for k, v in jitter.items()},
        "errors": {"count": sum(errors.values()),
                   "top": [{"message": m, "count": n} for m, n in errors.most_common(10)]},
        "rooms": {
            name: {"peers": r["peers"], "routes": r["routes"], "lost_frames": r["lost_frames"],
                   "freezes": r["freezes"], "latency_p95_ms": r["latency"].percentile(95)}
            for name, r in sorted(rooms.items())
        },
        "routes_detail": detail,
    }


def _tail(route: Mapping[str, Any], pub: Mapping[str, Any], end: float) -> tuple[int, float | None]:
    """Frames ``pub`` produced after the route's last one, and the trailing freeze (seconds)
    if that silence breaks the W3C rule; ``end`` is when publishers were paused."""
    sent, got = pub["last_frame_sent"], route["last_frame"]
    if sent is None or got is None or sent <= got:
        return 0, None
    gap = end - (route["last_frame_at"] or end)
    mean = route["mean_frame_gap"]
    frozen = mean is not None and gap >= max(3 * mean, mean + _FREEZE_FLOOR_S)
    return sent - got, gap if frozen else None


def flatten(report: Mapping[str, Any]) -> dict[str, float | None]:
    """The figures thresholds can name (see ``thresholds.METRICS``), from a full report."""
    f: dict[str, float | None] = {}
    lat = report["latency_ms"]
    for stat in ("p50", "p95", "p99", "max", "mean"):
        f[f"latency.{stat}"] = lat.get(stat)
    for stat in ("p50", "p95", "max"):
        f[f"ttff.{stat}"] = report["ttff_ms"].get(stat)
        for phase in JOIN_PHASES:
            f[f"join.{phase}.{stat}"] = report["join_ms"][phase].get(stat)
        for kind in ("video", "audio"):
            f[f"jitter.{kind}.{stat}"] = report["jitter_ms"][kind].get(stat)
    f.update({
        "frames.received": report["frames"]["received"],
        "frames.lost": report["frames"]["lost"],
        "frames.lost_pct": report["frames"]["lost_pct"],
        "packets.lost": report["packets"]["lost"],
        "packets.lost_pct": report["packets"]["lost_pct"],
        "freezes": report["freezes"]["count"],
        "freezes.seconds": report["freezes"]["seconds"],
        "routes.expected": report["routes"]["expected"],
        "routes.present": report["routes"]["present"],
        "routes.missing": report["routes"]["missing"],
        "peers.joined": report["peers"]["joined"],
        "peers.failed": report["peers"]["failed"],
        "errors": report["errors"]["count"],
        "bitrate.rx": report["bitrate_bps"]["rx"],
        "bitrate.video.p50": report["bitrate_bps"]["video_route_p50"],
        "bitrate.video.min": report["bitrate_bps"]["video_route_min"],
    })
    server = report.get("server") or {}
    lag = server.get("loop_lag_ms") or {}
    f.update({
        "server.cpu": server.get("cpu_cores"),
        "server.packets_out": server.get("packets_out_per_s"),
        "server.packets_in": server.get("packets_in_per_s"),
        "server.us_per_packet": server.get("us_per_forwarded_packet"),
        "server.loop_lag.max": lag.get("max"),
        "server.loop_lag.mean": lag.get("mean"),
    })
    tester = report.get("tester") or {}
    tlag = tester.get("loop_lag_ms") or {}
    f.update({
        "tester.cpu": tester.get("max_worker_cores"),
        "tester.loop_lag.p99": tlag.get("p99"),
        "tester.loop_lag.max": tlag.get("max"),
    })
    return f


def merge_histograms(parts: Iterable[Mapping[str, Any]]) -> Histogram:
    """One histogram from several ``Histogram.to_dict()`` forms."""
    h = Histogram()
    for p in parts:
        h.merge(Histogram.from_dict(p))
    return h


def _overlaps(intervals: list[tuple[float, float]], start: float, end: float) -> bool:
    """True if any (a, b) of ``intervals`` overlaps [start, end]."""
    return any(a < end and b > start for a, b in intervals)
