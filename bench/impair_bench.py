"""Calls through an impaired network: how well the SFU repairs loss, per condition.

Real ``coshop serve`` in one network namespace, real aiortc publishers and viewers that
decode in another, and the user-space impairment router of tests/impair between them
(loss, delay, jitter, blackout; both directions). Each condition is one call: set up on
a clean network, then measured for ``--duration`` seconds under the condition.
Receivers re-send NACKs every 100 ms as browsers do, except in the row marked
"aiortc receivers" (aiortc's receiver NACKs a gap only once). Needs root.

    sudo python bench/impair_bench.py --duration 15

Columns: frames decoded / frames the publishers produced, freezes (no new frame for
> 500 ms), the longest gap, mean fps per received stream, RTX packets the SFU sent,
PLIs it sent to publishers; then the machine's load (1-minute average, before -> after)
and "SATURATED" when the load exceeded the cores (figures then say little).
"""

from __future__ import annotations

import argparse
import asyncio
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
    Case("5% loss + 40 ms ±20 ms jitter", Conditions(loss=0.05, delay=0.04, jitter=0.02)),
    Case("1 s blackout, 40 ms", Conditions(delay=0.04), blackout=1.0),
]


def row(r: CallResult) -> str:
    load = f"{r.load_before[0]:.2f} -> {r.load_after[0]:.2f}"
    flag = "SATURATED" if r.saturated else ""
    return (
        f"{r.label:<36} {r.decoded_ratio:>8.2%} {r.freezes:>8} {r.longest:>8.2f} "
        f"{r.fps:>6.1f} {r.rtx:>6} {r.plis:>5}  {load:<14} {flag}"
    )


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=15.0, help="seconds measured per case")
    p.add_argument("--publishers", type=int, default=2)
    p.add_argument("--viewers", type=int, default=2)
    args = p.parse_args()
    why_not = namespaces_available()
    if why_not is not None:
        print(f"impair_bench: {why_not}", file=sys.stderr)
        return 2
    print(
        f"{os.cpu_count()} cores; {args.publishers} publishers + {args.viewers} viewers; "
        f"{args.duration:.0f} s per case"
    )
    print(
        f"{'condition':<36} {'decoded':>8} {'freezes':>8} {'longest':>8} {'fps':>6} "
        f"{'RTX':>6} {'PLIs':>5}  {'load (1 min)':<14}"
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
            )
        print(row(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
