"""How busy the whole machine was during a window, and whether the window can be trusted
(sans-IO but for ``read_cpu_times``).

A benchmark on a shared machine measures the server, the tester and everybody else at once.
``/proc/stat`` (proc(5)) counts every CPU's time in states since boot; two readings give the
cores busy in between and the share stolen by the hypervisor. ``/proc/pressure/cpu`` (Linux
PSI) counts the time some runnable task waited for a CPU: a container held to its CPU quota,
or an overcommitted host, shows there even with cores idle in /proc/stat. A window in which
the machine had no idle core left, lost time to steal, made tasks wait for a CPU, or whose
tester could not keep its own event loop on time, says more about the machine than about the
server: it is flagged unreliable, and a capacity search names what ran out (``bottleneck``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

SATURATED_SHARE = 0.9
"""The machine counts as saturated above this share of its cores busy."""
STEAL_LIMIT = 0.05
"""Above this share of CPU time stolen by the hypervisor, timings are not the server's."""
PRESSURE_LIMIT = 0.25
"""Above this share of the window with some task waiting for a CPU, the machine is full."""
LAG_LIMIT_MS = 50.0
"""Tester event-loop lag (p99) above which its own measurements arrive late."""
CORE_LIMIT = 0.9
"""One process (one event loop) above this many cores is at its limit."""

Bottleneck = Literal["server", "tester", "machine"]


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """The aggregate ``cpu`` line of /proc/stat, in clock ticks."""

    busy: int
    idle: int
    steal: int
    cores: int
    at: float = 0.0
    """time.monotonic() of the reading."""
    stalled_us: int | None = None
    """/proc/pressure/cpu "some" total: microseconds some task waited for a CPU."""

    @classmethod
    def parse(cls, text: str) -> CpuTimes:
        """From /proc/stat's text: user nice system idle iowait irq softirq steal (guest
        time is already inside user and nice, so it is not added again)."""
        cores = 0
        total: list[int] = []
        for line in text.splitlines():
            name, _, rest = line.partition(" ")
            if name == "cpu":
                total = [int(x) for x in rest.split()]
            elif name.startswith("cpu") and name[3:].isdigit():
                cores += 1
        if len(total) < 8:
            raise ValueError("no aggregate cpu line in /proc/stat")
        user, nice, system, idle, iowait, irq, softirq, steal = total[:8]
        return cls(busy=user + nice + system + irq + softirq, idle=idle + iowait, steal=steal,
                   cores=max(cores, 1))


def parse_pressure(text: str) -> int | None:
    """The "some" line's total (microseconds) of /proc/pressure/cpu; None if absent."""
    for line in text.splitlines():
        if line.startswith("some "):
            for field in line.split()[1:]:
                name, _, value = field.partition("=")
                if name == "total" and value.isdigit():
                    return int(value)
    return None


def read_cpu_times() -> CpuTimes | None:
    """This machine's CPU times now (None where there is no /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            times = CpuTimes.parse(f.read())
    except OSError:
        return None
    stalled = None
    try:
        with open("/proc/pressure/cpu") as f:
            stalled = parse_pressure(f.read())
    except OSError:
        pass  # no PSI (older kernels, or disabled): the other figures still hold
    return CpuTimes(times.busy, times.idle, times.steal, times.cores, time.monotonic(), stalled)


@dataclass(frozen=True, slots=True)
class MachineLoad:
    """The machine over one window."""

    cores: int
    busy_cores: float
    """Cores busy on average (every process: server, tester, the rest)."""
    steal_share: float
    """Share of CPU time the hypervisor gave to other guests."""
    load_average: tuple[float, float, float] | None = None
    pressure: float | None = None
    """Share of the window in which some task waited for a CPU (None: no PSI)."""

    @classmethod
    def between(cls, start: CpuTimes, end: CpuTimes,
                load_average: tuple[float, float, float] | None = None) -> MachineLoad:
        busy, idle, steal = end.busy - start.busy, end.idle - start.idle, end.steal - start.steal
        total = busy + idle + steal
        pressure = None
        if start.stalled_us is not None and end.stalled_us is not None and end.at > start.at:
            wall_us = (end.at - start.at) * 1e6
            pressure = min(1.0, max(0.0, (end.stalled_us - start.stalled_us) / wall_us))
        if total <= 0:
            return cls(end.cores, 0.0, 0.0, load_average, pressure)
        return cls(end.cores, end.cores * busy / total, steal / total, load_average, pressure)

    @property
    def saturated(self) -> bool:
        """No core left: busy, or tasks kept waiting for one (CPU pressure)."""
        return (self.busy_cores >= SATURATED_SHARE * self.cores
                or (self.pressure or 0.0) > PRESSURE_LIMIT)

    def as_dict(self) -> dict[str, Any]:
        return {"cores": self.cores, "busy_cores": round(self.busy_cores, 3),
                "steal_pct": round(100 * self.steal_share, 2),
                "cpu_pressure_pct": None if self.pressure is None
                else round(100 * self.pressure, 1),
                "load_average": list(self.load_average) if self.load_average else None}


class MachineWindow:
    """Reads /proc/stat and the load average at ``start`` and ``stop`` of a window."""

    def __init__(self) -> None:
        self._start = read_cpu_times()

    def start(self) -> None:
        self._start = read_cpu_times()

    def stop(self) -> MachineLoad | None:
        end = read_cpu_times()
        if self._start is None or end is None:
            return None
        return MachineLoad.between(self._start, end, os.getloadavg())


@dataclass(frozen=True, slots=True)
class Reliability:
    """Whether a window's figures describe the server, and if not, why."""

    reasons: tuple[str, ...]

    @property
    def reliable(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        return {"reliable": self.reliable, "reasons": list(self.reasons)}

    def line(self) -> str:
        """One line for a report."""
        return "reliable" if self.reliable else "UNRELIABLE: " + "; ".join(self.reasons)


def judge(machine: MachineLoad | None, tester_lag_p99_ms: float | None,
          tester_cores: Mapping[str, float] | None = None) -> Reliability:
    """The verdict on one window: unreliable when the machine was saturated or stolen from,
    or the tester lagged or one of its processes ran out of core."""
    reasons = []
    if machine is not None:
        if machine.busy_cores >= SATURATED_SHARE * machine.cores:
            reasons.append(f"the machine was saturated ({machine.busy_cores:.2f} of "
                           f"{machine.cores} cores busy)")
        pressure = machine.pressure or 0.0
        if pressure > PRESSURE_LIMIT:
            reasons.append(f"tasks waited for a CPU {100 * pressure:.0f} % of the "
                           "time (CPU pressure)")
        if machine.steal_share > STEAL_LIMIT:
            reasons.append(f"{100 * machine.steal_share:.1f} % of CPU time was stolen by the "
                           "hypervisor")
    if tester_lag_p99_ms is not None and tester_lag_p99_ms > LAG_LIMIT_MS:
        reasons.append(f"the tester's event loop lagged (p99 {tester_lag_p99_ms:.0f} ms)")
    for name, cores in (tester_cores or {}).items():
        if cores > CORE_LIMIT:
            reasons.append(f"tester process {name} used {cores:.2f} cores (its limit)")
    return Reliability(tuple(reasons))


def bottleneck(machine: MachineLoad | None, tester_lag_p99_ms: float | None,
               tester_max_cores: float | None) -> Bottleneck:
    """What ran out in a window that broke a threshold: the machine when it had no core left
    or was stolen from (nothing else can be told apart then); else the tester when its loop
    lagged or one of its processes used a whole core; else the server."""
    if machine is not None and (machine.saturated or machine.steal_share > STEAL_LIMIT):
        return "machine"
    if (tester_lag_p99_ms or 0) > LAG_LIMIT_MS or (tester_max_cores or 0) > CORE_LIMIT:
        return "tester"
    return "server"
