"""The summary table printed at the end of a run (sans-IO: a report in, text out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtest.aggregate import PHASE_ATTRS
from loadtest.thresholds import Verdict

_PHASE_TITLES = {"socket_open": "socket", "joined": "joined", "offer": "offer",
                 "answer": "answer", "ice": "ICE", "dtls": "DTLS", "first_rtp": "1st RTP",
                 "first_frame": "1st frame"}


def _n(v: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if v is None else f"{v:,.{digits}f}{unit}"


def _mbps(v: float | None) -> str:
    return "-" if v is None else f"{v / 1e6:,.2f} Mbit/s"


def render(report: Mapping[str, Any], verdicts: Sequence[Verdict]) -> str:
    """The human summary of ``report``."""
    sc, peers, routes = report["scenario"], report["peers"], report["routes"]
    lines = [
        f"coshop loadtest  {sc['url']}  {report.get('rooms_measured', sc['rooms'])} room(s)"
        f" x {sc['peers']} peers "
        f"({sc['publishers']} publishing), {sc['preset']}, "
        f"window {report['window']['seconds']:.1f} s, {sc['workers']} worker(s)",
        f"  peers        {peers['active']}/{peers['target']} in their rooms at the end, "
        f"{peers['joined']} joins ({peers['churned']} after churn), {peers['failed']} failed",
    ]
    head = "".join(f"{_PHASE_TITLES[p]:>10}" for p in PHASE_ATTRS)
    lines.append(f"  join (ms)  {head}")
    for stat in ("p50", "p95"):
        row = "".join(f"{_n(report['join_ms'][p][stat], 0):>10}" for p in PHASE_ATTRS)
        lines.append(f"    {stat:<8} {row}")
    t = report["ttff_ms"]
    lines.append(f"  first frame  p50 {_n(t['p50'], 0, ' ms')}, p95 {_n(t['p95'], 0, ' ms')}, "
                 f"max {_n(t['max'], 0, ' ms')} per route (n={t['n']})")
    lines.append(f"  routes       {routes['present']}/{routes['expected']} expected present, "
                 f"{routes['missing']} missing, {routes['flowing']} measured")
    for m in routes["missing_list"][:5]:
        lines.append(f"                 missing: {m}")
    fr, pk, fz = report["frames"], report["packets"], report["freezes"]
    lines.append(f"  frames       {fr['received']:,} received, {fr['lost']:,} lost "
                 f"({_n(fr['lost_pct'], 3, '%')}; {fr['lost_at_end']:,} after a stream stopped)")
    lines.append(f"  freezes      {fz['count']} ({fz['seconds']:.1f} s frozen)")
    lines.append(f"  packets      {pk['received']:,} received, {pk['lost']:,} lost "
                 f"({_n(pk['lost_pct'], 3, '%')})")
    lat = report["latency_ms"]
    lines.append(f"  latency      p50 {_n(lat['p50'], 1, ' ms')}  p95 {_n(lat['p95'], 1, ' ms')}"
                 f"  p99 {_n(lat['p99'], 1, ' ms')}  max {_n(lat['max'], 1, ' ms')}"
                 f"  (one-way, {lat['n']:,} frames)")
    br = report["bitrate_bps"]
    lines.append(f"  bitrate      rx {_mbps(br['rx'])} total; video route p50 "
                 f"{_mbps(br['video_route_p50'])}, min {_mbps(br['video_route_min'])}")
    jv, ja = report["jitter_ms"]["video"], report["jitter_ms"]["audio"]
    lines.append(f"  jitter       video p50 {_n(jv['p50'], 2, ' ms')} "
                 f"p95 {_n(jv['p95'], 2, ' ms')}; audio p50 {_n(ja['p50'], 2, ' ms')} "
                 f"p95 {_n(ja['p95'], 2, ' ms')}")
    srv = report.get("server") or {}
    lag = srv.get("loop_lag_ms") or {}
    lag_text = (f"loop lag max {_n(lag.get('max'), 1, ' ms')}" if lag.get("exposed")
                else "loop lag not exposed")
    pkt = ("packet counters not exposed" if not srv.get("packet_metrics_exposed") else
           f"{_n(srv.get('packets_out_per_s'), 0)} pkt/s out, {_n(srv.get('packets_in_per_s'), 0)}"
           f" in, {_n(srv.get('us_per_forwarded_packet'), 1)} us CPU/forwarded packet")
    lines.append(f"  server       CPU {_n(srv.get('cpu_cores'), 2, ' cores')}, {pkt}, {lag_text}")
    tester = report.get("tester") or {}
    tlag = tester.get("loop_lag_ms") or {}
    lines.append(f"  tester       {tester.get('workers')} worker(s), busiest "
                 f"{_n(tester.get('max_worker_cores'), 2, ' cores')}, total "
                 f"{_n(tester.get('total_cores'), 2, ' cores')}, loop lag p99 "
                 f"{_n(tlag.get('p99'), 1, ' ms')} max {_n(tlag.get('max'), 1, ' ms')}")
    if (tester.get("max_worker_cores") or 0) > 0.9:
        lines.append("               WARNING: a tester worker used >90% of a core: its own "
                     "latency figures are inflated; use more --workers or fewer peers")
    if (tlag.get("p99") or 0) > 50:
        lines.append("               WARNING: the tester's event loop lagged (the machine is "
                     "overloaded): latency and loss include the tester's own delays")
    errors = report["errors"]
    lines.append(f"  errors       {errors['count']}")
    for e in errors["top"][:5]:
        lines.append(f"                 {e['count']:>4} x {e['message'][:100]}")
    cap = report.get("capacity")
    if cap:
        lines.append(f"  capacity     {cap['capacity_rooms']} room(s) (stopped by "
                     f"{cap['stopped_by']}; first broken: {cap['first_broken_rooms']})")
        for step in cap["steps"]:
            f = step["figures"]
            lines.append(
                f"    {step['rooms']:>3} rooms  "
                f"{'ok    ' if step['passed'] else '?     ' if step['inconclusive'] else 'BROKEN'}"
                f"  "
                f"p99 {_n(f.get('latency.p99'), 1, ' ms')}  lost {_n(f.get('frames.lost'), 0)}"
                f"  server {_n(f.get('server.cpu'), 2, ' cores')}"
                f" {_n(f.get('server.us_per_packet'), 1, ' us/pkt')}"
                f"  tester {_n(f.get('tester.cpu'), 2, ' cores')}")
    if report.get("aborted"):
        lines.append(f"  ABORTED      {report['aborted']}")
    for i, v in enumerate(verdicts):
        label = "thresholds" if i == 0 else ""
        lines.append(f"  {label:<12} fail if {v.threshold.text:<24} {v.reason}")
    lines.append(f"  result       {'PASS' if report['passed'] else 'FAIL'}")
    return "\n".join(lines)
