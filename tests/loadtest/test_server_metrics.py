"""Server figures from Prometheus text: parsing, rates, CPU per forwarded packet."""

from __future__ import annotations

import pytest

from loadtest.server_metrics import ServerSeries, interval, parse, sample

PAGE = """# HELP process_cpu_seconds_total CPU
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total {cpu}
coshop_sfu_packets_out_total {out}
coshop_sfu_packets_in_total {inn}
coshop_ws_errors_total{{code="bad_message"}} 2
coshop_ws_errors_total{{code="internal"}} 1
coshop_participants 10
weird_value NaN
"""


def page(cpu: float, out: int, inn: int) -> str:
    return PAGE.format(cpu=cpu, out=out, inn=inn)


def test_parse_sums_labels_and_skips_comments_and_nan() -> None:
    m = parse(page(1.5, 100, 40))
    assert m["coshop_ws_errors_total"] == 3
    assert m["coshop_sfu_packets_out_total"] == 100
    assert "weird_value" not in m
    s = sample(m, 10.0)
    assert (s.cpu_seconds, s.packets_out, s.packets_in, s.participants) == (1.5, 100, 40, 10)
    assert s.loop_lag_ms is None


def test_loop_lag_is_found_by_name_and_converted_to_ms() -> None:
    s = sample(parse("coshop_event_loop_lag_seconds 0.004\n"), 0)
    assert s.loop_lag_ms == pytest.approx(4.0)


def test_rates_and_cpu_per_forwarded_packet() -> None:
    series = ServerSeries()
    assert series.add(sample(parse(page(1.0, 0, 0)), 100.0)) is None
    iv = series.add(sample(parse(page(1.5, 10_000, 2_000)), 102.0))
    assert iv is not None
    assert (iv.cpu, iv.packets_out, iv.packets_in) == (0.25, 5000, 1000)
    series.add(sample(parse(page(2.0, 20_000, 4_000)), 104.0))
    w = series.window(100.0, 104.0)
    assert w["cpu_cores"] == pytest.approx(0.25)
    assert w["packets_out_per_s"] == pytest.approx(5000)
    assert w["us_per_forwarded_packet"] == pytest.approx(50.0)
    assert w["loop_lag_ms"]["exposed"] is False


def test_an_interval_where_a_counter_drops_is_left_out() -> None:
    # The SFU's totals sum the peers still connected: a peer leaving lowers them.
    a = sample(parse(page(1.0, 10_000, 0)), 0.0)
    b = sample(parse(page(1.2, 9_000, 0)), 1.0)
    assert interval(a, b) is None
    series = ServerSeries()
    for s in (a, b, sample(parse(page(1.4, 11_000, 0)), 2.0)):
        series.add(s)
    w = series.window(0.0, 2.0)
    assert w["seconds"] == 1.0
    assert w["us_per_forwarded_packet"] == pytest.approx(100.0)


def test_a_server_without_packet_counters_says_so() -> None:
    series = ServerSeries()
    series.add(sample(parse("process_cpu_seconds_total 1\n"), 0.0))
    series.add(sample(parse("process_cpu_seconds_total 2\n"), 1.0))
    w = series.window(0, 1)
    assert (w["cpu_cores"], w["packets_out_per_s"], w["us_per_forwarded_packet"]) == (1.0, None,
                                                                                      None)
    assert w["packet_metrics_exposed"] is False


def test_node_wide_names_win_over_per_room_ones_and_histogram_parts() -> None:
    # Per-room series share the fragment but vanish with their room; histogram parts are
    # not values. coshop's node-wide series must be the ones read.
    s = sample(parse(
        'coshop_room_packets_out_total{room="a"} 5\n'
        "coshop_sfu_packets_out_total 900\n"
        'coshop_track_packets_in_total{room="a",participant="p",kind="video"} 3\n'
        "coshop_sfu_packets_in_total 400\n"
        'coshop_event_loop_lag_distribution_seconds_bucket{le="0.001"} 7\n'
        "coshop_event_loop_lag_distribution_seconds_count 7\n"
        "coshop_event_loop_lag_seconds 0.002\n"
    ), 0)
    assert (s.packets_out, s.packets_in) == (900, 400)
    assert s.loop_lag_ms == pytest.approx(2.0)


def test_fragment_search_skips_histogram_parts() -> None:
    s = sample(parse(
        'other_loop_lag_hist_seconds_bucket{le="1"} 9\nother_loop_lag_seconds 0.5\n'
    ), 0)
    assert s.loop_lag_ms == pytest.approx(500.0)


def test_typed_families_keep_their_sample_names_and_a_malformed_page_raises() -> None:
    # prometheus-client names a counter's family without _total; the samples keep it.
    m = parse("# TYPE coshop_sfu_packets_out counter\ncoshop_sfu_packets_out_total 7\n"
              "# TYPE h histogram\n"
              'h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3\nh_count 3\nh_sum 1.5\n')
    assert m["coshop_sfu_packets_out_total"] == 7
    assert (m["h_bucket"], m["h_count"], m["h_sum"]) == (5, 3, 1.5)
    with pytest.raises(ValueError):
        parse("not a metric line at all\n")


def test_the_workers_of_one_machine_add_up_but_their_lag_does_not() -> None:
    from loadtest.server_metrics import combine

    one = {"process_cpu_seconds_total": 10.0, "coshop_sfu_packets_out_total": 1000.0,
           "coshop_event_loop_lag_seconds": 0.004}
    two = {"process_cpu_seconds_total": 5.0, "coshop_sfu_packets_out_total": 300.0,
           "coshop_event_loop_lag_seconds": 0.020}
    both = combine([one, two])
    assert both == {"process_cpu_seconds_total": 15.0, "coshop_sfu_packets_out_total": 1300.0,
                    "coshop_event_loop_lag_seconds": 0.020}
    assert combine([one]) == one
