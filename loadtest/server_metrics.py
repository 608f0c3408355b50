"""The server's own figures from its Prometheus ``/metrics`` page (sans-IO).

Scrapes become samples; consecutive samples become rates: CPU cores, forwarded packets/s
and CPU microseconds per forwarded packet. coshop's own names are read first
(``coshop_sfu_packets_out_total``, ``coshop_event_loop_lag_seconds``...); failing those,
metrics are found by name fragment (``packets_out``, ``packets_in``, ``loop_lag``) so the
tester also reads servers with other names.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

#: The node-wide series coshop exports; per-room and per-track ones share their fragments
#: but drop out when a room ends, so they must never be taken for these.
PREFERRED = {
    "packets_out": "coshop_sfu_packets_out_total",
    "packets_in": "coshop_sfu_packets_in_total",
    "loop_lag": "coshop_event_loop_lag_seconds",
}
#: Parts of a histogram or summary, not values of their own.
_SUB_SERIES = ("_bucket", "_count", "_sum", "_created")


def parse(text: str) -> dict[str, float]:
    """Every sample of a text exposition, labelled samples summed by name (NaN/inf left out).

    Read with prometheus-client's own parser; a malformed page raises ValueError.
    """
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if math.isfinite(s.value):
                out[s.name] = out.get(s.name, 0.0) + s.value
    return out


def combine(pages: list[dict[str, float]]) -> dict[str, float]:
    """Several nodes' parsed pages as one machine's: counters and gauges summed (CPU seconds,
    packets), event-loop lag the worst node's (a lag does not add up)."""
    out: dict[str, float] = {}
    for page in pages:
        for name, value in page.items():
            if "loop_lag" in name and not name.endswith(("_count", "_sum", "_total")):
                out[name] = max(out.get(name, value), value)
            else:
                out[name] = out.get(name, 0.0) + value
    return out


def find(metrics: dict[str, float], fragment: str) -> tuple[str, float] | None:
    """coshop's metric for ``fragment`` if present, else the metric whose name contains it
    (counters ``_total`` first; histogram parts never), if any."""
    preferred = PREFERRED.get(fragment)
    if preferred is not None and preferred in metrics:
        return preferred, metrics[preferred]
    names = sorted((n for n in metrics if fragment in n and not n.endswith(_SUB_SERIES)),
                   key=lambda n: (not n.endswith("_total"), n))
    return (names[0], metrics[names[0]]) if names else None


@dataclass(frozen=True, slots=True)
class ServerSample:
    """One scrape: the counters and gauges the tester reads, at epoch time ``t``."""

    t: float
    cpu_seconds: float | None
    packets_out: float | None
    packets_in: float | None
    loop_lag_ms: float | None
    participants: float | None


def sample(metrics: dict[str, float], t: float) -> ServerSample:
    """The figures of one parsed scrape."""
    lag = find(metrics, "loop_lag")
    lag_ms = None
    if lag is not None:
        name, value = lag
        lag_ms = value * 1000 if "seconds" in name else value
    out, in_ = find(metrics, "packets_out"), find(metrics, "packets_in")
    return ServerSample(
        t=t,
        cpu_seconds=metrics.get("process_cpu_seconds_total"),
        packets_out=out[1] if out else None,
        packets_in=in_[1] if in_ else None,
        loop_lag_ms=lag_ms,
        participants=metrics.get("coshop_participants"),
    )


@dataclass(frozen=True, slots=True)
class Interval:
    """Rates between two consecutive samples."""

    t: float  # end of the interval
    seconds: float
    cpu: float | None  # cores
    packets_out: float | None  # per second
    packets_in: float | None
    cpu_delta: float | None
    out_delta: float | None


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def interval(a: ServerSample, b: ServerSample) -> Interval | None:
    """The rates from ``a`` to ``b``; None if a counter went backwards.

    coshop's totals keep departed peers' figures, but a restarted server (or another
    server's per-peer sums) can go down: such an interval is left out rather than counted
    as negative traffic.
    """
    dt = b.t - a.t
    if dt <= 0:
        return None
    deltas = [_delta(a.cpu_seconds, b.cpu_seconds), _delta(a.packets_out, b.packets_out),
              _delta(a.packets_in, b.packets_in)]
    if any(d is not None and d < 0 for d in deltas):
        return None
    cpu, out, in_ = deltas
    return Interval(
        t=b.t, seconds=dt,
        cpu=None if cpu is None else cpu / dt,
        packets_out=None if out is None else out / dt,
        packets_in=None if in_ is None else in_ / dt,
        cpu_delta=cpu, out_delta=out,
    )


class ServerSeries:
    """Every scrape of a run, and the figures of any window of it."""

    def __init__(self) -> None:
        self.samples: list[ServerSample] = []
        self.failures = 0  # scrapes that did not answer

    def add(self, s: ServerSample) -> Interval | None:
        """Record a scrape; the interval since the previous one (if computable)."""
        prev = self.samples[-1] if self.samples else None
        self.samples.append(s)
        return interval(prev, s) if prev is not None else None

    def window(self, t0: float, t1: float) -> dict[str, Any]:
        """CPU, packet rates, CPU per forwarded packet and loop lag between ``t0`` and ``t1``."""
        inside = [s for s in self.samples if t0 <= s.t <= t1]
        parts = [iv for a, b in itertools.pairwise(inside)
                 if (iv := interval(a, b)) is not None]
        seconds = sum(iv.seconds for iv in parts)
        cpu = [iv.cpu_delta for iv in parts if iv.cpu_delta is not None]
        out = [iv.out_delta for iv in parts if iv.out_delta is not None]
        pin = [iv.packets_in * iv.seconds for iv in parts if iv.packets_in is not None]
        lags = [s.loop_lag_ms for s in inside if s.loop_lag_ms is not None]
        cpu_total, out_total = sum(cpu), sum(out)
        return {
            "scrapes": len(inside),
            "seconds": seconds,
            "cpu_cores": cpu_total / seconds if cpu and seconds else None,
            "packets_out_per_s": out_total / seconds if out and seconds else None,
            "packets_in_per_s": sum(pin) / seconds if pin and seconds else None,
            "us_per_forwarded_packet": (cpu_total / out_total * 1e6
                                        if cpu and out and out_total > 0 else None),
            "loop_lag_ms": {"exposed": bool(lags), "max": max(lags) if lags else None,
                            "mean": sum(lags) / len(lags) if lags else None},
            "packet_metrics_exposed": any(s.packets_out is not None for s in inside),
        }
