"""Thresholds: parsing with units, clear errors, evaluation, defaults."""

from __future__ import annotations

import pytest

from loadtest.thresholds import (
    METRICS,
    ThresholdError,
    evaluate,
    parse_threshold,
    with_defaults,
)


@pytest.mark.parametrize(
    ("text", "metric", "op", "value"),
    [
        ("latency.p99>200ms", "latency.p99", ">", 200.0),
        (" latency.p99 > 0.2s ", "latency.p99", ">", 200.0),
        ("latency.p50>=500us", "latency.p50", ">=", 0.5),
        ("frames.lost>0", "frames.lost", ">", 0.0),
        ("frames.lost_pct>0.5%", "frames.lost_pct", ">", 0.5),
        ("bitrate.rx<2Mbps", "bitrate.rx", "<", 2e6),
        ("bitrate.video.min<300kbit/s", "bitrate.video.min", "<", 3e5),
        ("server.us_per_packet>0.05ms", "server.us_per_packet", ">", 50.0),
        ("server.packets_out<10k/s", "server.packets_out", "<", 1e4),
        ("freezes.seconds>=1500ms", "freezes.seconds", ">=", 1.5),
        ("errors!=0", "errors", "!=", 0.0),
    ],
)
def test_parse(text: str, metric: str, op: str, value: float) -> None:
    t = parse_threshold(text)
    assert (t.metric, t.op) == (metric, op)
    assert t.value == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latency.p99", "expected METRIC OP VALUE"),
        ("latency.p99=>3", "expected METRIC OP VALUE"),
        ("latency.p42>3ms", "unknown metric 'latency.p42'"),
        ("latncy.p99>3ms", "--list-metrics"),
        ("latency.p99>3Mbps", "measured in ms"),
        ("frames.lost>2ms", "measured in count"),
    ],
)
def test_bad_thresholds_say_why(text: str, message: str) -> None:
    with pytest.raises(ThresholdError, match=message.replace(".", r"\.")):
        parse_threshold(text)


def test_unknown_metric_suggests_its_siblings() -> None:
    with pytest.raises(ThresholdError, match=r"latency\.p99"):
        parse_threshold("latency.p98>1ms")


def test_evaluate_breaks_on_true_condition_and_on_missing_data() -> None:
    ts = [parse_threshold(x) for x in ("latency.p99>100ms", "frames.lost>0", "server.cpu>1.5")]
    verdicts = evaluate(ts, {"latency.p99": 40.0, "frames.lost": 3, "server.cpu": None})
    assert [v.broken for v in verdicts] == [False, True, True]
    assert verdicts[0].reason == "ok (40 ms)"
    assert verdicts[1].reason == "BROKEN (3)"
    assert verdicts[2].reason == "no data"


def test_defaults_apply_unless_the_metric_is_named() -> None:
    metrics = [t.metric for t in with_defaults([parse_threshold("errors>5")])]
    assert metrics == ["errors", "peers.failed", "routes.missing", "frames.lost_pct"]
    assert [t.text for t in with_defaults([])] == ["errors>0", "peers.failed>0",
                                                  "routes.missing>0", "frames.lost_pct>1"]


def test_every_metric_accepts_its_own_unit() -> None:
    for m in METRICS.values():
        unit = {"count": "", "cores": "", "/s": "/s"}.get(m.unit, m.unit)
        assert parse_threshold(f"{m.name}>1{unit}").value == pytest.approx(1.0)
