"""REMB reports summed into one downlink estimate per subscriber."""

from __future__ import annotations

from sfu.downlink import REMB_MAX_AGE, DownlinkEstimate


def test_no_report_means_no_estimate() -> None:
    assert DownlinkEstimate().bitrate(0.0) is None


def test_reports_about_separate_streams_add_up() -> None:
    d = DownlinkEstimate()  # aiortc: one receiver-side estimator per video track
    d.on_remb(300_000, [1], 0.0)
    d.on_remb(200_000, [2], 0.1)
    assert d.bitrate(0.2) == 500_000
    d.on_remb(100_000, [1], 0.3)  # the newer report about stream 1 replaces the older
    assert d.bitrate(0.4) == 300_000


def test_a_report_about_more_streams_replaces_the_smaller_ones() -> None:
    d = DownlinkEstimate()  # Chromium: one report for every stream of the connection
    d.on_remb(300_000, [1, 2], 0.0)
    d.on_remb(900_000, [1, 2, 3], 1.0)
    assert d.bitrate(1.0) == 900_000


def test_old_reports_expire() -> None:
    d = DownlinkEstimate()
    d.on_remb(300_000, [1], 0.0)
    assert d.bitrate(REMB_MAX_AGE) == 300_000
    assert d.bitrate(REMB_MAX_AGE + 0.1) is None
