"""The summary printed at the end of a run (sans-IO: a report in, rich tables out).

``tables`` builds the renderables; ``render`` lays them out as plain text (no colour, no
control characters) for logs and tests; ``console`` is the rich Console the CLI and the
runner print through: styled on a terminal, plain text otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from loadtest.aggregate import PHASE_ATTRS
from loadtest.thresholds import Verdict

#: Columns of the summary when it does not go to a terminal (CI logs, files, tests).
PLAIN_WIDTH = 120

_PHASE_TITLES = {"socket_open": "socket", "joined": "joined", "offer": "offer",
                 "answer": "answer", "ice": "ICE", "dtls": "DTLS", "first_rtp": "1st RTP",
                 "first_frame": "1st frame"}


def console(file: TextIO) -> Console:
    """A Console on ``file``: colours and live updates on a terminal; on anything else plain
    text, PLAIN_WIDTH wide, whatever FORCE_COLOR or TERM say."""
    tty = file.isatty()
    return Console(file=file, force_terminal=tty, width=None if tty else PLAIN_WIDTH,
                   no_color=not tty, highlight=False, soft_wrap=False)


def _n(v: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if v is None else f"{v:,.{digits}f}{unit}"


def _mbps(v: float | None) -> str:
    return "-" if v is None else f"{v / 1e6:,.2f} Mbit/s"


def _figures(report: Mapping[str, Any]) -> Table:
    """The run's figures, one row per subject."""
    t = Table(title="figures", title_justify="left", box=box.SIMPLE_HEAD,
              show_edge=False, show_header=False,
              pad_edge=False)
    t.add_column("subject", style="bold", no_wrap=True)
    t.add_column("figures", overflow="fold")
    peers, routes = report["peers"], report["routes"]
    t.add_row("peers", f"{peers['active']}/{peers['target']} in their rooms at the end, "
                       f"{peers['joined']} joins ({peers['churned']} after churn), "
                       f"{peers['failed']} failed")
    mv = report.get("moves") or {}
    if mv.get("count"):
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(mv["reasons"].items()))
        back = mv["media_back_ms"]
        t.add_row("moves", f"{mv['count']} ({reasons}) by {peers.get('moved', 0)} peers: "
                           f"{mv['rejoined']} rejoined, p50 {_n(mv['rejoin_ms']['p50'], 0, ' ms')}"
                           f"; video back p50 {_n(back['p50'], 0, ' ms')}, max "
                           f"{_n(back['max'], 0, ' ms')} (n={back['n']})")
    ttff = report["ttff_ms"]
    t.add_row("first frame", f"p50 {_n(ttff['p50'], 0, ' ms')}, p95 {_n(ttff['p95'], 0, ' ms')}"
                             f", max {_n(ttff['max'], 0, ' ms')} per route (n={ttff['n']})")
    missing = "".join(f"\nmissing: {m}" for m in routes["missing_list"][:5])
    t.add_row("routes", f"{routes['present']}/{routes['expected']} expected present, "
                        f"{routes['missing']} missing, {routes['flowing']} measured{missing}")
    fr, pk, fz = report["frames"], report["packets"], report["freezes"]
    t.add_row("frames", f"{fr['received']:,} received, {fr['lost']:,} lost "
                        f"({_n(fr['lost_pct'], 3, '%')}; {fr['lost_at_end']:,} after a stream "
                        "stopped)")
    stalled = fz.get("while_tester_stalled", 0)
    t.add_row("freezes", f"{fz['count']} ({fz['seconds']:.1f} s frozen)"
              + (f", {stalled} while the tester itself stalled" if stalled else ""))
    t.add_row("packets", f"{pk['received']:,} received, {pk['lost']:,} lost "
                         f"({_n(pk['lost_pct'], 3, '%')})")
    lat = report["latency_ms"]
    t.add_row("latency", f"p50 {_n(lat['p50'], 1, ' ms')}  p95 {_n(lat['p95'], 1, ' ms')}  "
                         f"p99 {_n(lat['p99'], 1, ' ms')}  max {_n(lat['max'], 1, ' ms')}  "
                         f"(one-way, {lat['n']:,} frames)")
    br = report["bitrate_bps"]
    t.add_row("bitrate", f"rx {_mbps(br['rx'])} total; video route p50 "
                         f"{_mbps(br['video_route_p50'])}, min {_mbps(br['video_route_min'])}")
    jv, ja = report["jitter_ms"]["video"], report["jitter_ms"]["audio"]
    t.add_row("jitter", f"video p50 {_n(jv['p50'], 2, ' ms')} p95 {_n(jv['p95'], 2, ' ms')}; "
                        f"audio p50 {_n(ja['p50'], 2, ' ms')} p95 {_n(ja['p95'], 2, ' ms')}")
    srv = report.get("server") or {}
    lag = srv.get("loop_lag_ms") or {}
    lag_text = (f"loop lag max {_n(lag.get('max'), 1, ' ms')}" if lag.get("exposed")
                else "loop lag not exposed")
    pkt = ("packet counters not exposed" if not srv.get("packet_metrics_exposed") else
           f"{_n(srv.get('packets_out_per_s'), 0)} pkt/s out, "
           f"{_n(srv.get('packets_in_per_s'), 0)} in, "
           f"{_n(srv.get('us_per_forwarded_packet'), 1)} us CPU/forwarded packet")
    t.add_row("server", f"CPU {_n(srv.get('cpu_cores'), 2, ' cores')}, {pkt}, {lag_text}")
    for url, node in (report.get("nodes") or {}).items():
        t.add_row(f"node {url}", f"CPU {_n(node.get('cpu_cores'), 2, ' cores')}, "
                                 f"{_n(node.get('packets_out_per_s'), 0)} pkt/s out, "
                                 f"{_n(node.get('packets_in_per_s'), 0)} in, "
                                 f"{_n(node.get('us_per_forwarded_packet'), 1)} us CPU/"
                                 "forwarded packet")
    tester = report.get("tester") or {}
    tlag = tester.get("loop_lag_ms") or {}
    text = Text(f"{tester.get('workers')} worker(s), busiest "
                f"{_n(tester.get('max_worker_cores'), 2, ' cores')}, total "
                f"{_n(tester.get('total_cores'), 2, ' cores')}, loop lag p99 "
                f"{_n(tlag.get('p99'), 1, ' ms')} max {_n(tlag.get('max'), 1, ' ms')}")
    if (tester.get("max_worker_cores") or 0) > 0.9:
        text.append("\nWARNING: a tester worker used >90% of a core: its own latency figures "
                    "are inflated; use more --workers or fewer peers", style="bold yellow")
    if (tlag.get("p99") or 0) > 50:
        text.append("\nWARNING: the tester's event loop lagged (the machine is overloaded): "
                    "latency and loss include the tester's own delays", style="bold yellow")
    t.add_row("tester", text)
    machine, verdict = report.get("machine"), report.get("reliability")
    if machine:
        load = machine.get("load_average") or []
        psi = machine.get("cpu_pressure_pct")
        mtext = Text(f"{machine['busy_cores']:.2f} of {machine['cores']} cores busy, steal "
                     f"{machine['steal_pct']:.1f} %, "
                     + ("" if psi is None else f"CPU pressure {psi:.0f} %, ")
                     + "load average "
                     + (" ".join(f"{x:.2f}" for x in load) or "-"))
        if verdict and not verdict["reliable"]:
            mtext.append("\nUNRELIABLE: " + "; ".join(verdict["reasons"]), style="bold red")
        t.add_row("machine", mtext)
    errors = report["errors"]
    top = "".join(f"\n{e['count']:>4} x {e['message'][:100]}" for e in errors["top"][:5])
    t.add_row("errors", Text(f"{errors['count']}{top}",
                             style="red" if errors["count"] else ""))
    cap = report.get("capacity")
    if cap:
        urls = report.get("scenario", {}).get("metrics_urls") or []
        # Several --metrics-url: the server figures are every worker's of the machine summed.
        where = f" on {len(urls)} server processes together" if len(urls) > 1 else ""
        t.add_row("capacity", f"{cap['capacity_rooms']} room(s){where} (stopped by "
                              f"{cap['stopped_by']}; first broken: {cap['first_broken_rooms']}"
                              f"; bottleneck: {cap.get('bottleneck') or '-'})")
    if report.get("aborted"):
        t.add_row(Text("ABORTED", style="bold red"), Text(str(report["aborted"]), style="red"))
    return t


def _join(report: Mapping[str, Any]) -> Table:
    """Join phases, ms from the start of the join: p50 and p95 of each."""
    t = Table(title="join (ms)", title_justify="left", box=box.SIMPLE_HEAD,
              show_edge=False, pad_edge=False)
    t.add_column("")
    for p in PHASE_ATTRS:
        t.add_column(_PHASE_TITLES[p], justify="right")
    for stat in ("p50", "p95"):
        t.add_row(stat, *(_n(report["join_ms"][p][stat], 0) for p in PHASE_ATTRS))
    return t


def _capacity(cap: Mapping[str, Any]) -> Table:
    """Each step of a capacity search."""
    t = Table(title="capacity steps", title_justify="left", box=box.SIMPLE_HEAD,
              show_edge=False,
              pad_edge=False)
    for name in ("rooms", "verdict", "latency p99", "frames lost", "server CPU",
                 "server CPU/pkt", "tester CPU"):
        t.add_column(name, justify="left" if name == "verdict" else "right")
    for step in cap["steps"]:
        f = step["figures"]
        verdict = (Text("ok", style="green") if step["passed"] else
                   Text("?", style="yellow") if step["inconclusive"] else
                   Text("BROKEN", style="bold red"))
        t.add_row(str(step["rooms"]), verdict, _n(f.get("latency.p99"), 1, " ms"),
                  _n(f.get("frames.lost"), 0), _n(f.get("server.cpu"), 2, " cores"),
                  _n(f.get("server.us_per_packet"), 1, " us"),
                  _n(f.get("tester.cpu"), 2, " cores"))
    return t


def _thresholds(verdicts: Sequence[Verdict]) -> Table:
    t = Table(title="thresholds", title_justify="left", box=box.SIMPLE_HEAD,
              show_edge=False, pad_edge=False)
    t.add_column("fail if")
    t.add_column("verdict")
    for v in verdicts:
        t.add_row(v.threshold.text, Text(v.reason, style="bold red" if v.broken else "green"))
    return t


def tables(report: Mapping[str, Any], verdicts: Sequence[Verdict]) -> Group:
    """The summary of ``report`` as rich renderables, top to bottom."""
    sc = report["scenario"]
    parts: list[RenderableType] = [Text(
        f"coshop loadtest  {sc['url']}  {report.get('rooms_measured', sc['rooms'])} room(s)"
        f" x {sc['peers']} peers ({sc['publishers']} publishing), {sc['preset']}, "
        f"window {report['window']['seconds']:.1f} s, {sc['workers']} worker(s)",
        style="bold")]
    parts += [Text(), _join(report), Text(), _figures(report)]
    if report.get("capacity"):
        parts += [Text(), _capacity(report["capacity"])]
    if verdicts:
        parts += [Text(), _thresholds(verdicts)]
    parts.append(Text())
    passed = bool(report["passed"])
    parts.append(Text(f"result: {'PASS' if passed else 'FAIL'}",
                      style="bold green" if passed else "bold red"))
    return Group(*parts)


def render(report: Mapping[str, Any], verdicts: Sequence[Verdict]) -> str:
    """The summary of ``report`` as plain text, PLAIN_WIDTH wide, no trailing blanks."""
    out = io.StringIO()
    console(out).print(tables(report, verdicts))
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())
