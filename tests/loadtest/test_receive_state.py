"""The receive state's bases (loadtest.receive_state): with the C extension's types, RouteStats
is still the dataclass it was (fields, vars, repr, equality, pickling, JSON summary), and the
C bases and their pure-Python stand-ins leave the same state, value and type, for the same
packets (a Python process that cannot import the extension runs the same scenarios)."""

from __future__ import annotations

import copy
import dataclasses
import gc
import inspect
import json
import pickle
import subprocess
import sys
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from loadtest import receive_state
from loadtest.metrics import LiveTally, RouteStats
from loadtest.nack import NackRequester, SequenceUnwrapper
from loadtest.receiver import _Reception, _Repair, _Stream
from loadtest.reception_report import ReceptionStatistics
from loadtest.stamp import Stamp
from tests.loadtest.test_compiled_receive import Step, run, scenarios

ROOT = Path(__file__).resolve().parents[2]

#: RouteStats' fields, in order, as the plain dataclass had them.
ROUTE_FIELDS = [
    "kind", "keep_samples", "tally", "packets", "bytes", "lost_packets", "frames",
    "lost_frames", "freezes", "freeze_seconds", "freeze_log", "first_packet_at",
    "first_frame_at", "latencies_ms", "latency", "last_packet_at", "last_frame_at",
    "last_frame", "jitter", "_max_seq", "repairing", "frames_dropped", "nacks", "plis",
    "retransmissions", "_frame_gaps", "_transit", "_clock_rate", "_publisher",
]


def test_the_bases_are_the_extensions() -> None:
    assert receive_state.COMPILED
    assert RouteStats.__mro__[1] is receive_state.RouteCore is not receive_state.PyRouteCore
    for cls in (ReceptionStatistics, SequenceUnwrapper, NackRequester, _Stream, _Reception,
                _Repair):
        assert cls.__mro__[1].__module__ == "loadtest._compiled_receive"


def fed_route() -> RouteStats:
    tally = LiveTally()
    route = RouteStats("video", keep_samples=True, tally=tally)
    now = 1_700_000_000.0
    for i, seq in enumerate([65534, 65535, 2, 0, 3, 4]):  # a wrap, a gap, a late packet
        now += 0.033
        stamp = Stamp(2, i, int(now * 1e6) - 40_000)
        route.on_packet(seq=seq, timestamp=3000 * i, clock_rate=90000, size=1000 + i,
                        marker=True, stamp=stamp, now=now)
    return route


def test_the_hot_fields_are_the_bases_and_shown_where_a_dataclass_shows_them() -> None:
    route = fed_route()
    assert [f.name for f in dataclasses.fields(RouteStats)] == ROUTE_FIELDS
    for name in ("packets", "bytes", "lost_packets", "first_packet_at", "last_packet_at",
                 "jitter", "_max_seq", "repairing", "_transit", "_clock_rate"):
        # No class attribute (a dataclass default) hides the C field.
        assert inspect.getattr_static(route, name) is vars(receive_state.RouteCore)[name]
    assert (route.packets, route.bytes, route.lost_packets, route._max_seq) == (6, 6015, 1, 4)
    assert route.first_packet_at == 1_700_000_000.033 and route.jitter > 0
    state = vars(route)
    assert list(state) != [] and set(state) == set(ROUTE_FIELDS)
    assert all(state[name] is getattr(route, name) or state[name] == getattr(route, name)
               for name in ROUTE_FIELDS)
    shown = ", ".join(f"{f.name}={getattr(route, f.name)!r}"
                      for f in dataclasses.fields(RouteStats) if f.repr)
    assert repr(route) == f"RouteStats({shown})"
    assert "packets=6, bytes=6015, lost_packets=1" in repr(route)
    assert dataclasses.asdict(route)["_max_seq"] == 4


def test_equality_pickling_and_the_json_summary_see_every_field() -> None:
    route = fed_route()
    assert route == dataclasses.replace(route)
    assert route != dataclasses.replace(route, packets=7)
    assert route != dataclasses.replace(route, first_packet_at=None)
    twins = [pickle.loads(pickle.dumps(route, protocol))
             for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1)]  # 0, 1: never could
    for twin in [*twins, copy.deepcopy(route), copy.copy(route)]:
        assert type(twin) is RouteStats
        mine, theirs = vars(route), vars(twin)
        assert mine.pop("latency").summary() == theirs.pop("latency").summary()
        if twin.tally is not route.tally:
            assert vars(mine.pop("tally")).keys() == vars(theirs.pop("tally")).keys()
        assert mine == theirs
    summary = json.loads(json.dumps(route.summary(2.0)))
    assert summary["packets"] == 6 and summary["bytes"] == 6015
    assert summary["lost_packets"] == 1 and summary["first_packet_at"] == 1_700_000_000.033
    assert summary["jitter_ms"] == 1000 * route.jitter / 90000


def test_optional_fields_take_none_and_the_c_fields_keep_their_types() -> None:
    route = RouteStats("audio")
    assert (route.first_packet_at, route._max_seq, route._transit) == (None, None, None)
    route._max_seq = 7
    route.first_packet_at = 3  # an int, as Python arithmetic may give: a float from now on
    assert route._max_seq == 7 and route.first_packet_at == 3.0
    route.new_stream()
    assert route._max_seq is None and route._transit is None
    stats = ReceptionStatistics(48000)
    assert stats._base is None and stats._last_sr is None and stats._last_transit is None
    assert stats.__slots__ and set(stats.__slots__) == set(receive_state.PyStatisticsCore.__slots__)
    assert NackRequester()._newest is None and SequenceUnwrapper().highest is None


def test_state_in_reference_cycles_is_collected() -> None:
    route = RouteStats("video")
    route.me = route  # type: ignore[attr-defined]
    gone = [weakref.ref(route)]
    # A repair state is a cycle (its playout calls back a bound method of it), and so is a
    # stream that is its own source here; each holds a route that outlives it if it leaks.
    repair = _Repair(1, "pub", RouteStats("video"), learn_rtt=True)
    gone.append(weakref.ref(repair.route))
    stream = _Stream("pub", "video", RouteStats("video"), _Reception("video"), None)
    stream.source = stream  # type: ignore[assignment]
    assert stream.route is not None
    gone.append(weakref.ref(stream.route))
    del route, repair, stream
    gc.collect()
    assert [ref() for ref in gone] == [None, None, None]


def typed(value: Any) -> Any:
    """``value`` comparable by value and type (1 is not 1.0 here), dicts in any order."""
    if isinstance(value, dict):
        return ("dict", sorted((repr(k), typed(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [typed(v) for v in value])
    return (type(value).__name__, repr(value))


_PURE_PYTHON = """
import pickle, sys
sys.modules["loadtest._compiled_receive"] = None  # as where it was never built
from loadtest import receive_state
from loadtest.metrics import RouteStats
assert not receive_state.COMPILED and RouteStats.__mro__[1] is receive_state.PyRouteCore
from tests.loadtest.test_compiled_receive import run
while True:
    try:
        steps = pickle.load(sys.stdin.buffer)
    except EOFError:
        break
    pickle.dump(run(steps, compiled=False), sys.stdout.buffer)
    sys.stdout.flush()
"""


@pytest.fixture(scope="module")
def pure_python() -> Iterator[Callable[[list[Step]], dict[str, Any]]]:
    """The Python path's state after some steps, in a process without the extension."""
    proc = subprocess.Popen([sys.executable, "-c", _PURE_PYTHON], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def state(steps: list[Step]) -> dict[str, Any]:
        pickle.dump(steps, stdin)
        stdin.flush()
        result: dict[str, Any] = pickle.load(stdout)
        return result

    yield state
    stdin.close()
    stdout.close()
    assert proc.wait(timeout=30) == 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=scenarios())
def test_the_c_bases_leave_what_the_pure_python_ones_leave(
    pure_python: Callable[[list[Step]], dict[str, Any]], steps: list[Step]
) -> None:
    expected = pure_python(steps)
    python = run(steps, compiled=False)
    compiled = run(steps, compiled=True)
    compiled.pop("counts")
    assert typed(python) == typed(expected)
    assert typed(compiled) == typed(expected)
