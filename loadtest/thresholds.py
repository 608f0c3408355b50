"""Pass/fail thresholds such as ``latency.p99>200ms`` (sans-IO): parsing and evaluation.

A threshold names a condition that FAILS the run: ``--fail-if 'frames.lost>0'``. Every
metric has a base unit; a value may carry any unit of the same dimension (``0.2s`` for a
millisecond metric). A metric without data (no samples, server figures unavailable)
fails its threshold: the run could not show that it holds.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


class ThresholdError(ValueError):
    """A threshold expression that cannot be parsed."""


# Base unit of each dimension, and what other spellings are worth in it.
_TIME = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0}
_BITS = {"bps": 1.0, "bit/s": 1.0, "kbps": 1e3, "kbit/s": 1e3, "mbps": 1e6, "mbit/s": 1e6,
         "gbps": 1e9, "gbit/s": 1e9}
_PLAIN = {"": 1.0, "k": 1e3}


@dataclass(frozen=True, slots=True)
class Metric:
    """A figure thresholds may name, in ``unit``."""

    name: str
    unit: str  # "ms", "s", "us", "count", "%", "bit/s", "cores" or "/s"
    help: str

    def scale(self, unit: str) -> float:
        """How many base units one ``unit`` is; ThresholdError if the dimension differs."""
        u = unit.strip().lower()
        if self.unit in ("ms", "s", "us"):
            if u == "":
                return 1.0
            if u in _TIME:
                return _TIME[u] / _TIME[self.unit]
        elif self.unit == "bit/s":
            if u in _BITS or u == "":
                return _BITS.get(u, 1.0)
        elif self.unit == "%":
            if u in ("", "%"):
                return 1.0
        elif self.unit == "/s":
            if u in ("", "/s"):
                return 1.0
            if u in ("k", "k/s"):
                return 1e3
        elif u in _PLAIN:
            return _PLAIN[u]
        raise ThresholdError(f"{self.name} is measured in {self.unit}; {unit!r} does not fit")


def _catalog() -> dict[str, Metric]:
    m: list[Metric] = []
    for stat in ("p50", "p95", "p99", "max", "mean"):
        m.append(Metric(f"latency.{stat}", "ms", f"one-way video frame latency, {stat}"))
    for stat in ("p50", "p95", "max"):
        m.append(Metric(f"ttff.{stat}", "ms", f"time to first frame per route, {stat}"))
        for phase in JOIN_PHASES:
            m.append(Metric(f"join.{phase}.{stat}", "ms", f"join phase {phase}, {stat}"))
        for kind in ("video", "audio"):
            m.append(Metric(f"jitter.{kind}.{stat}", "ms", f"{kind} route jitter, {stat}"))
    m += [
        Metric("frames.received", "count", "video frames received, all routes"),
        Metric("frames.lost", "count", "video frames lost, all routes"),
        Metric("frames.lost_pct", "%", "video frames lost, % of frames sent"),
        Metric("packets.lost", "count", "RTP packets lost, all routes"),
        Metric("packets.lost_pct", "%", "RTP packets lost, % of packets"),
        Metric("freezes", "count", "video freezes (W3C rule), all routes"),
        Metric("freezes.seconds", "s", "time spent frozen, all routes"),
        Metric("routes.expected", "count", "routes that should flow at the end"),
        Metric("routes.present", "count", "expected routes that flowed"),
        Metric("routes.missing", "count", "expected routes that never flowed"),
        Metric("peers.joined", "count", "peer sessions that joined"),
        Metric("peers.failed", "count", "peer sessions that failed to join"),
        Metric("errors", "count", "errors seen by peers, workers or the tester"),
        Metric("bitrate.rx", "bit/s", "received bitrate, all routes"),
        Metric("bitrate.video.p50", "bit/s", "bitrate of a video route, median"),
        Metric("bitrate.video.min", "bit/s", "bitrate of the slowest video route"),
        Metric("server.cpu", "cores", "server process CPU"),
        Metric("server.packets_out", "/s", "packets the server forwarded per second"),
        Metric("server.packets_in", "/s", "packets the server received per second"),
        Metric("server.us_per_packet", "us", "server CPU per forwarded packet"),
        Metric("server.loop_lag.max", "ms", "server event-loop lag, max"),
        Metric("server.loop_lag.mean", "ms", "server event-loop lag, mean"),
        Metric("tester.cpu", "cores", "CPU of the busiest tester worker"),
        Metric("tester.loop_lag.p99", "ms", "event-loop lag of the worst tester worker, p99"),
        Metric("tester.loop_lag.max", "ms", "event-loop lag of the worst tester worker, max"),
    ]
    return {x.name: x for x in m}


#: Join phases in order, as named in thresholds and reports.
JOIN_PHASES = ("socket_open", "joined", "offer", "answer", "ice", "dtls", "first_rtp",
               "first_frame")
METRICS: dict[str, Metric] = _catalog()

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt,
}
_EXPR = re.compile(
    r"^\s*(?P<metric>[A-Za-z0-9_.]+)\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[A-Za-zµ/%]*)\s*$"
)


@dataclass(frozen=True, slots=True)
class Threshold:
    """``metric op value``: the run fails when it is true. ``value`` is in the metric's unit."""

    metric: str
    op: str
    value: float
    text: str

    def broken_by(self, actual: float) -> bool:
        return _OPS[self.op](actual, self.value)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A threshold against a run's figure: broken or not, and why."""

    threshold: Threshold
    actual: float | None
    broken: bool

    @property
    def reason(self) -> str:
        unit = METRICS[self.threshold.metric].unit
        if self.actual is None:
            return "no data"
        shown = f"{self.actual:.4g}" + ("" if unit in ("count", "cores") else f" {unit}")
        return f"{'BROKEN' if self.broken else 'ok'} ({shown})"


def parse_threshold(text: str) -> Threshold:
    """Parse ``metric op value[unit]``; ThresholdError with the reason otherwise."""
    m = _EXPR.match(text)
    if m is None:
        raise ThresholdError(
            f"cannot parse threshold {text!r}: expected METRIC OP VALUE[UNIT], "
            "e.g. 'latency.p99>200ms' (OP one of < <= > >= == !=)"
        )
    name = m["metric"]
    metric = METRICS.get(name)
    if metric is None:
        close = [k for k in METRICS if k.split(".")[0] == name.split(".")[0]][:8]
        hint = f"; did you mean one of {', '.join(close)}" if close else \
            "; see `coshop loadtest --list-metrics`"
        raise ThresholdError(f"unknown metric {name!r} in threshold {text!r}{hint}")
    value = float(m["value"]) * metric.scale(m["unit"])
    return Threshold(name, m["op"], value, text.strip())


#: Always on unless a threshold names the same metric: a run with errors, peers that could
#: not join, routes that never flowed or more than 1% of frames lost is not a pass.
DEFAULT_THRESHOLDS = ("errors>0", "peers.failed>0", "routes.missing>0", "frames.lost_pct>1")


def with_defaults(thresholds: Iterable[Threshold]) -> list[Threshold]:
    """``thresholds`` plus every default whose metric they do not name."""
    out = list(thresholds)
    named = {t.metric for t in out}
    out += [t for t in map(parse_threshold, DEFAULT_THRESHOLDS) if t.metric not in named]
    return out


def evaluate(thresholds: Iterable[Threshold], figures: Mapping[str, float | None]) -> list[Verdict]:
    """One verdict per threshold; a figure that is missing or None breaks its threshold."""
    verdicts = []
    for t in thresholds:
        actual = figures.get(t.metric)
        broken = True if actual is None else t.broken_by(actual)
        verdicts.append(Verdict(t, actual, broken))
    return verdicts
