"""Prometheus text rendering."""

from __future__ import annotations

from signaling.metrics import Sample, metric_name, render


def test_render_families() -> None:
    text = render(
        [
            Sample.single("coshop_rooms", "Rooms here.", "gauge", 3),
            Sample("coshop_errors_total", 'Errors "by" code\nline', "counter",
                   {(("code", "room_full"),): 2, (("code", 'we"ird\\'),): 1.5}),
            Sample("coshop_empty_total", "Nothing yet.", "counter", {}),
            Sample.single("x", "nan", "gauge", float("nan")),
        ]
    )
    assert text == (
        "# HELP coshop_rooms Rooms here.\n"
        "# TYPE coshop_rooms gauge\n"
        "coshop_rooms 3\n"
        '# HELP coshop_errors_total Errors "by" code\\nline\n'
        "# TYPE coshop_errors_total counter\n"
        'coshop_errors_total{code="room_full"} 2\n'
        'coshop_errors_total{code="we\\"ird\\\\"} 1.5\n'
        "# HELP coshop_empty_total Nothing yet.\n"
        "# TYPE coshop_empty_total counter\n"
        "# HELP x nan\n"
        "# TYPE x gauge\n"
        "x NaN\n"
    )


def test_metric_name() -> None:
    assert metric_name("coshop_sfu_packets-in.x") == "coshop_sfu_packets_in_x"
    assert metric_name("9lives") == "_9lives"
