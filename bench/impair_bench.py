"""Calls through an impaired network: how well the SFU repairs loss, per condition.

Real ``coshop serve`` in one network namespace, real aiortc publishers and viewers that
decode in another, and the user-space impairment router of tests/impair between them
(loss, delay, jitter, blackout; both directions). Each condition is one call: set up on
a clean network, then measured for ``--duration`` seconds under the condition.
Receivers re-send NACKs every 100 ms as browsers do, except in the row marked
"aiortc receivers" (aiortc's receiver NACKs a gap only once). With ``--browsers N`` (default
1) Chromium pages on the web client join every call too, and each condition prints a second
row for them (their decoder's own frame counts, getStats). The clean row is the baseline of
the same run. Needs root, and Debian's Chromium for the browser rows.

    sudo python bench/impair_bench.py --duration 15

Columns: frames decoded / frames the publishers produced, freezes (no new frame for
> 500 ms), the longest gap, mean fps per received stream, RTX packets the SFU sent and
their share of the packets it forwarded, PLIs it sent to publishers (the last three for
the whole call, so the same on both rows); then the machine's load (1-minute average,
before -> after) and "SATURATED" when the load exceeded the cores (figures then say little).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.impair.harness import CallResult, impaired_network, namespaces_available
from tests.impair.link import Conditions


@dataclass(frozen=True)
class Case:
    label: str
    conditions: Conditions
    renack: float = 0.1
    blackout: float = 0.0


CASES = [
    Case("clean", Conditions()),
    Case("2% loss + 40 ms", Conditions(loss=0.02, delay=0.04)),
    Case("2% loss + 40 ms, aiortc receivers", Conditions(loss=0.02, delay=0.04), renack=0.0),
    Case("5% loss + 40 ms", Conditions(loss=0.05, delay=0.04)),
    Case("5% loss + 40 ms ±20 ms jitter", Conditions(loss=0.05, delay=0.04, jitter=0.02)),
    Case("1 s blackout, 40 ms", Conditions(delay=0.04), blackout=1.0),
    Case("2 s blackout, 40 ms", Conditions(delay=0.04), blackout=2.0),
]


def receivers(r: CallResult, *, browsers: bool) -> CallResult:
    """The call's figures for one kind of receiver (Chromium pages or aiortc peers)."""
    streams = [s for s in r.streams if s["receiver"].startswith("chromium") == browsers]
    label = f"  Chromium ({r.label})" if browsers else r.label
    return dataclasses.replace(r, streams=streams, label=label)


def row(r: CallResult) -> str:
    load = f"{r.load_before[0]:.2f} -> {r.load_after[0]:.2f}"
    flag = "SATURATED" if r.saturated else ""
    return (
        f"{r.label:<44} {r.decoded_ratio:>8.2%} {r.freezes:>8} {r.longest:>8.2f} "
        f"{r.fps:>6.1f} {r.rtx:>6} {r.rtx_share:>6.1%} {r.plis:>5}  {load:<14} {flag}"
    )


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=15.0, help="seconds measured per case")
    p.add_argument("--publishers", type=int, default=2)
    p.add_argument("--viewers", type=int, default=2)
    p.add_argument("--browsers", type=int, default=1, help="Chromium pages per call (0: none)")
    args = p.parse_args()
    why_not = namespaces_available()
    if why_not is not None:
        print(f"impair_bench: {why_not}", file=sys.stderr)
        return 2
    print(
        f"{os.cpu_count()} cores; {args.publishers} publishers + {args.viewers} viewers + "
        f"{args.browsers} Chromium; {args.duration:.0f} s per case"
    )
    print(
        f"{'condition':<44} {'decoded':>8} {'freezes':>8} {'longest':>8} {'fps':>6} "
        f"{'RTX':>6} {'RTX %':>6} {'PLIs':>5}  {'load (1 min)':<14}"
    )
    for case in CASES:
        async with impaired_network() as net:
            result = await net.call(
                case.label,
                publishers=args.publishers,
                viewers=args.viewers,
                duration=args.duration,
                conditions=case.conditions,
                renack=case.renack,
                blackout_after=args.duration / 3 if case.blackout else None,
                blackout=case.blackout,
                browsers=args.browsers,
            )
        print(row(receivers(result, browsers=False)), flush=True)
        if args.browsers and case.renack:  # the row without re-NACKs is about aiortc's receiver
            print(row(receivers(result, browsers=True)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
