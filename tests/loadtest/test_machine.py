"""Machine load from /proc/stat, the reliability verdict and the bottleneck (sans-IO)."""

from __future__ import annotations

import pytest

from loadtest.capacity import CapacitySearch, Step
from loadtest.machine import (
    CpuTimes,
    MachineLoad,
    MachineWindow,
    bottleneck,
    judge,
    parse_pressure,
    read_cpu_times,
)

STAT = """cpu  100 10 50 800 40 0 0 {steal} 7 0
cpu0 50 5 25 400 20 0 0 0 0 0
cpu1 50 5 25 400 20 0 0 0 0 0
intr 1 2 3
ctxt 7
"""


def times(busy: int, idle: int, steal: int = 0) -> CpuTimes:
    return CpuTimes(busy=busy, idle=idle, steal=steal, cores=2)


def test_proc_stat_is_read_without_counting_guest_time_twice() -> None:
    t = CpuTimes.parse(STAT.format(steal=5))
    assert t == CpuTimes(busy=160, idle=840, steal=5, cores=2)
    with pytest.raises(ValueError, match="cpu"):
        CpuTimes.parse("intr 1\n")


def test_this_machines_proc_stat_reads() -> None:
    now = read_cpu_times()
    assert now is not None and now.cores >= 1 and now.busy > 0
    window = MachineWindow()
    load = window.stop()
    assert load is not None and 0 <= load.busy_cores <= load.cores
    assert load.load_average is not None


def test_busy_cores_and_steal_between_two_readings() -> None:
    load = MachineLoad.between(times(1000, 1000, 0), times(1150, 1040, 10))
    assert load.busy_cores == pytest.approx(2 * 150 / 200)
    assert load.steal_share == pytest.approx(10 / 200)
    assert not load.saturated
    full = MachineLoad.between(times(0, 0), times(190, 10))
    assert full.saturated and full.busy_cores == pytest.approx(1.9)
    assert MachineLoad.between(times(5, 5), times(5, 5)).busy_cores == 0.0


def test_a_quiet_window_is_reliable() -> None:
    quiet = MachineLoad(2, 0.8, 0.0)
    verdict = judge(quiet, 3.0, {"worker 0": 0.4})
    assert verdict.reliable and verdict.line() == "reliable"


def test_each_cause_of_an_unreliable_window_is_named() -> None:
    verdict = judge(MachineLoad(2, 1.95, 0.08), 120.0, {"worker 1": 0.97})
    assert not verdict.reliable
    text = verdict.line()
    assert text.startswith("UNRELIABLE: the machine was saturated (1.95 of 2 cores busy)")
    assert "8.0 % of CPU time was stolen" in text
    assert "event loop lagged (p99 120 ms)" in text
    assert "tester process worker 1 used 0.97 cores" in text
    assert judge(None, None).reliable


def test_the_bottleneck_is_the_machine_then_the_tester_then_the_server() -> None:
    assert bottleneck(MachineLoad(2, 2.0, 0.0), 200.0, 1.0) == "machine"
    assert bottleneck(MachineLoad(2, 1.0, 0.2), None, None) == "machine"
    assert bottleneck(MachineLoad(2, 1.2, 0.0), 80.0, 0.5) == "tester"
    assert bottleneck(MachineLoad(2, 1.2, 0.0), 5.0, 0.95) == "tester"
    assert bottleneck(MachineLoad(2, 1.2, 0.0), 5.0, 0.5) == "server"
    assert bottleneck(None, None, None) == "server"


def test_a_search_names_what_stopped_it() -> None:
    by_server = CapacitySearch(confirmations=0)
    by_server.record(Step(1, True))
    by_server.record(Step(2, False, ("latency.p99>100ms",), bottleneck="server"))
    assert by_server.result()["bottleneck"] == "server"

    by_machine = CapacitySearch(confirmations=0, inconclusive_retries=1)
    by_machine.record(Step(1, True))
    for _ in range(2):
        by_machine.record(Step(2, False, inconclusive=True, bottleneck="machine"))
    result = by_machine.result()
    assert (result["stopped_by"], result["bottleneck"], result["capacity_rooms"]) == (
        "machine", "machine", 1)
    assert result["steps"][-1]["bottleneck"] == "machine"

    at_limit = CapacitySearch(limit=1)
    at_limit.record(Step(1, True))
    assert at_limit.result()["bottleneck"] is None


def test_cpu_pressure_is_read_and_makes_a_full_machine_even_with_idle_cores() -> None:
    text = ("some avg10=33.63 avg60=55.35 avg300=63.50 total=1418237855\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    assert parse_pressure(text) == 1418237855
    assert parse_pressure("") is None
    start = CpuTimes(busy=0, idle=0, steal=0, cores=2, at=10.0, stalled_us=1_000_000)
    end = CpuTimes(busy=100, idle=100, steal=0, cores=2, at=12.0, stalled_us=2_000_000)
    load = MachineLoad.between(start, end)
    assert load.busy_cores == pytest.approx(1.0) and load.pressure == pytest.approx(0.5)
    assert load.saturated
    verdict = judge(load, None)
    assert verdict.reasons == ("tasks waited for a CPU 50 % of the time (CPU pressure)",)
    assert bottleneck(load, None, None) == "machine"
    assert load.as_dict()["cpu_pressure_pct"] == 50.0
    # Without PSI the other figures decide.
    assert MachineLoad.between(times(0, 0), times(100, 100)).pressure is None
