"""``coshop loadtest``: flags, scenario file, run, summary, JSON, plot and the exit code.

Exit codes: 0 every threshold held; 1 a threshold broke (or a capacity search found no
room count that holds); 2 bad usage, the server unreachable, or the run aborted.
Imports only argparse-level modules at load time: ``coshop serve`` builds this parser too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from loadtest.presets import PRESETS
from loadtest.scenario import ScenarioError, build, parse_duration
from loadtest.thresholds import METRICS

EXIT_OK, EXIT_THRESHOLD, EXIT_USAGE = 0, 1, 2


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    """Add ``loadtest`` to the ``coshop`` subcommands."""
    p = subparsers.add_parser(
        "loadtest",
        help="drive synthetic WebRTC peers against a coshop node and measure them",
        description=(
            "Synthetic peers join rooms through the real signaling, publish pre-encoded "
            "VP8/Opus and receive without decoding; the tester measures join phases, time to "
            "first frame, frame loss, freezes, one-way latency, bitrate, jitter and the "
            "server's CPU per forwarded packet. Flags override the --scenario file. "
            "Exit: 0 pass, 1 a threshold broke, 2 usage/connection error or aborted run."
        ),
    )
    p.add_argument("--url", help="the coshop node, e.g. http://127.0.0.1:8080")
    p.add_argument("--metrics-url", action="append", dest="metrics_urls", metavar="URL",
                   help="a node whose /metrics count in the server's figures (default: "
                        "--url); repeat it for every worker of `coshop serve --workers N`")
    p.add_argument("--scenario", metavar="FILE", help="TOML (or YAML) file with any of these "
                   "options, plus fail_if = [...] and [[faults]]")
    p.add_argument("--kind", choices=("group", "live"), help="room kind (default group); "
                   "live: the publishers are the stage, the other peers its audience")
    p.add_argument("--node", action="append", dest="nodes", metavar="URL",
                   help="another node of the cluster (repeat): viewers enter through --url "
                   "and these in turn; each node's CPU is reported")
    p.add_argument("--rooms", type=int, help="rooms (default 1; with --max-rooms: first step)")
    p.add_argument("--peers", type=int, help="peers per room (default 2)")
    p.add_argument("--publishers", type=int,
                   help="publishing peers per room; the rest are receive-only viewers "
                        "(default: all)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="video preset (default 360p)")
    p.add_argument("--duration", type=_duration,
                   help="run length, e.g. 60s (default 30s); with --max-rooms: each step's "
                        "measurement window")
    p.add_argument("--warmup", type=_duration, help="leave the first part of the run out of "
                   "the figures (join phases are always counted)")
    p.add_argument("--ramp", type=float, metavar="RATE", help="joins per second "
                   "(default: all at once)")
    p.add_argument("--churn", type=float, metavar="RATE",
                   help="peers leaving and rejoining per second, once everyone has joined")
    p.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    p.add_argument("--max-rooms", nargs="?", type=int, const=0, default=None, metavar="LIMIT",
                   help="capacity discovery: add rooms one at a time until a threshold "
                        "breaks (default thresholds: frames.lost>0, latency.p99>100ms); "
                        "optional LIMIT (default 50)")
    p.add_argument("--fail-if", action="append", metavar="EXPR",
                   help="fail (exit 1) when true, e.g. 'latency.p99>200ms'; repeatable")
    p.add_argument("--json", metavar="FILE", help="write every figure as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="latency/bitrate over time and time to "
                   "first frame (needs matplotlib)")
    p.add_argument("--list-metrics", action="store_true",
                   help="list the metrics --fail-if can name, and exit")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    """Run ``coshop loadtest`` from parsed flags; the exit code."""
    if args.list_metrics:
        for m in METRICS.values():
            print(f"{m.name:<28} {m.unit:<6} {m.help}")
        return EXIT_OK
    overrides: dict[str, Any] = {
        k: getattr(args, k) for k in ("url", "kind", "nodes", "rooms", "peers", "publishers",
                                      "preset", "duration", "warmup", "ramp", "churn", "workers",
                                      "json", "plot", "fail_if",
                                      "metrics_urls")
    }
    if args.max_rooms is not None:
        overrides["max_rooms"] = args.max_rooms or True
    try:
        scenario = build(args.scenario, overrides)
    except ScenarioError as exc:
        print(f"coshop loadtest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if scenario.url is None:
        print("coshop loadtest: no server: give --url (or url in the scenario)", file=sys.stderr)
        return EXIT_USAGE
    # The heavy part (aiortc, av, matplotlib) loads only when a run really starts.
    from loadtest.plot import PlotUnavailable, check_available, write_plot
    from loadtest.runner import ConnectError, Runner, WorkerError
    from loadtest.summary import console, render, tables

    if scenario.plot:
        try:
            check_available()
        except PlotUnavailable as exc:
            print(f"coshop loadtest: {exc}", file=sys.stderr)
            return EXIT_USAGE
    runner = Runner(scenario)
    try:
        if scenario.max_rooms:
            report, verdicts = asyncio.run(runner.run_capacity())
        else:
            report, verdicts = asyncio.run(runner.run())
    except (ConnectError, WorkerError) as exc:
        print(f"coshop loadtest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("coshop loadtest: interrupted", file=sys.stderr)
        return EXIT_USAGE
    if sys.stdout.isatty():
        console(sys.stdout).print(tables(report, verdicts))  # styled, the terminal's width
    else:
        print(render(report, verdicts))  # plain text for logs and pipes
    if scenario.json_file:
        Path(scenario.json_file).write_text(json.dumps(report, indent=1, default=str))
        print(f"wrote {scenario.json_file}")
    if scenario.plot:
        write_plot(report, scenario.plot)
        print(f"wrote {scenario.plot}")
    if report.get("aborted"):
        return EXIT_USAGE
    return EXIT_OK if report["passed"] else EXIT_THRESHOLD


def main(argv: list[str] | None = None) -> int:
    """``python -m loadtest.cli ...``: the same as ``coshop loadtest ...``."""
    parser = argparse.ArgumentParser(prog="coshop")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["loadtest", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
