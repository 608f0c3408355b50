"""The end-of-run summary (rich tables) and the progress line, as plain text off a terminal."""

from __future__ import annotations

import io
import time
from typing import Any

from loadtest.runner import Runner
from loadtest.scenario import Scenario
from loadtest.summary import render
from loadtest.thresholds import Verdict, parse_threshold

PHASES = ("socket_open", "joined", "offer", "answer", "ice", "dtls", "first_rtp", "first_frame")


def report(**extra: Any) -> dict[str, Any]:
    return {
        "scenario": {"url": "http://127.0.0.1:8080", "rooms": 2, "peers": 4, "publishers": 4,
                     "preset": "180p", "workers": 2},
        "window": {"seconds": 6.0},
        "peers": {"active": 8, "target": 8, "joined": 8, "churned": 0, "failed": 0},
        "join_ms": {p: {"p50": 10.0 + i, "p95": 20.0 + i} for i, p in enumerate(PHASES)},
        "ttff_ms": {"p50": 120.0, "p95": 180.0, "max": 250.0, "n": 24},
        "routes": {"present": 48, "expected": 48, "missing": 0, "flowing": 48,
                   "missing_list": []},
        "frames": {"received": 4321, "lost": 2, "lost_pct": 0.046, "lost_at_end": 1},
        "packets": {"received": 98765, "lost": 3, "lost_pct": 0.003},
        "freezes": {"count": 1, "seconds": 0.4},
        "latency_ms": {"p50": 4.2, "p95": 9.5, "p99": 14.25, "max": 31.0, "n": 4321},
        "bitrate_bps": {"rx": 12_340_000, "video_route_p50": 250_000, "video_route_min": 200_000},
        "jitter_ms": {"video": {"p50": 1.25, "p95": 2.5}, "audio": {"p50": 0.5, "p95": 0.75}},
        "server": {"cpu_cores": 0.85, "packet_metrics_exposed": True, "packets_out_per_s": 5000,
                   "packets_in_per_s": 1500, "us_per_forwarded_packet": 170.0,
                   "loop_lag_ms": {"exposed": True, "max": 12.5}},
        "tester": {"workers": 2, "max_worker_cores": 0.95, "total_cores": 1.5,
                   "loop_lag_ms": {"p99": 60.0, "max": 80.0}},
        "errors": {"count": 2, "top": [{"count": 2, "message": "socket closed by the server"}]},
        "passed": False,
        **extra,
    }


def test_the_summary_keeps_every_figure_and_is_plain_text_off_a_terminal() -> None:
    verdicts = [Verdict(parse_threshold("frames.lost>0"), 2.0, True),
                Verdict(parse_threshold("latency.p99>200ms"), 14.25, False)]
    text = render(report(aborted="the server went away"), verdicts)
    assert "\x1b" not in text and "\r" not in text
    assert max(map(len, text.splitlines())) <= 120
    for figure in (
        "http://127.0.0.1:8080", "2 room(s) x 4 peers (4 publishing), 180p", "window 6.0 s",
        "2 worker(s)", "8/8 in their rooms at the end", "8 joins (0 after churn), 0 failed",
        "1st frame", "p50 120 ms, p95 180 ms, max 250 ms per route (n=24)",
        "48/48 expected present, 0 missing, 48 measured",
        "4,321 received, 2 lost (0.046%; 1 after a stream stopped)", "1 (0.4 s frozen)",
        "98,765 received, 3 lost (0.003%)", "p99 14.2 ms", "max 31.0 ms", "(one-way, 4,321",
        "rx 12.34 Mbit/s total", "video route p50 0.25 Mbit/s, min 0.20 Mbit/s",
        "video p50 1.25 ms p95 2.50 ms; audio p50 0.50 ms p95 0.75 ms", "CPU 0.85 cores",
        "5,000 pkt/s out, 1,500 in, 170.0 us CPU/forwarded packet", "loop lag max 12.5 ms",
        "busiest 0.95 cores", "WARNING: a tester worker used >90%",
        "WARNING: the tester's event loop lagged", "2 x socket closed by the server",
        "ABORTED", "the server went away", "frames.lost>0", "BROKEN (2)",
        "latency.p99>200ms", "ok (14.25 ms)", "result: FAIL",
    ):
        assert figure in text, figure
    # The join phases: a column per phase, a row per percentile.
    join = next(line for line in text.splitlines() if line.lstrip().startswith("p95 "))
    assert join.split() == ["p95", *(str(20 + i) for i in range(8))]


def test_a_capacity_search_gets_a_table_of_its_steps() -> None:
    cap = {"capacity_rooms": 3, "stopped_by": "latency.p99>100ms", "first_broken_rooms": 4,
           "steps": [
               {"rooms": 3, "passed": True, "inconclusive": False,
                "figures": {"latency.p99": 40.0, "frames.lost": 0, "server.cpu": 1.1,
                            "server.us_per_packet": 90.0, "tester.cpu": 0.6}},
               {"rooms": 4, "passed": False, "inconclusive": False,
                "figures": {"latency.p99": 140.0, "frames.lost": 3}}]}
    text = render(report(capacity=cap, passed=True), [])
    assert "3 room(s) (stopped by latency.p99>100ms; first broken: 4; bottleneck: -)" in text
    rows = [line.split() for line in text.splitlines()]
    assert ["3", "ok", "40.0", "ms", "0", "1.10", "cores", "90.0", "us", "0.60", "cores"] in rows
    assert ["4", "BROKEN", "140.0", "ms", "3", "-", "-", "-"] in rows
    assert text.rstrip().endswith("result: PASS")
    # Every worker of a machine (coshop serve --workers 2) scraped: the count is the machine's.
    machine = report(capacity=cap, passed=True)
    machine["scenario"]["metrics_urls"] = ["http://127.0.0.1:8081", "http://127.0.0.1:8082"]
    assert "3 room(s) on 2 server processes together (stopped" in render(machine, [])


def test_progress_off_a_terminal_is_a_plain_line_every_5_s() -> None:
    out = io.StringIO()
    runner = Runner(Scenario(url="http://127.0.0.1:9", rooms=1), progress=out)
    runner.live.joined, runner.live.target, runner.live.server_cpu = 1, 2, 0.5
    now = time.time()
    runner._show(now)
    runner._show(now + 1)  # too soon: not printed
    runner._say("a note")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\x1b" not in out.getvalue() and "\r" not in out.getvalue()
    assert "peers 1/2" in lines[0] and "server 0.50 cores" in lines[0]
    assert lines[1] == "a note"


def test_moves_get_a_row_when_there_were_any() -> None:
    assert "moves" not in render(report(), [])
    moves = {"count": 3, "reasons": {"draining": 3}, "rejoined": 3,
             "rejoin_ms": {"p50": 150.0}, "media_back_ms": {"p50": 900.0, "max": 1400.0, "n": 3}}
    text = render(report(moves=moves, peers={"active": 8, "target": 8, "joined": 8,
                                              "churned": 0, "failed": 0, "moved": 3}), [])
    row = " ".join(text.split())  # the table wraps long rows
    assert "moves 3 (3 draining) by 3 peers: 3 rejoined, p50 150 ms; video back p50 900 ms, " \
        "max 1,400 ms (n=3)" in row


def test_an_unreliable_window_says_so_with_the_machine_figures() -> None:
    machine = {"cores": 2, "busy_cores": 1.97, "steal_pct": 0.0, "load_average": [2.4, 2.1, 1.9]}
    verdict = {"reliable": False, "reasons": ["the machine was saturated (1.97 of 2 cores busy)"]}
    text = render(report(machine=machine, reliability=verdict), [])
    assert "1.97 of 2 cores busy, steal 0.0 %, load average 2.40 2.10 1.90" in text
    assert "UNRELIABLE: the machine was saturated (1.97 of 2 cores busy)" in text
