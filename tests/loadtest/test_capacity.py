"""Capacity search: one room more per passing step, a break re-measured before it counts."""

from __future__ import annotations

import pytest

from loadtest.capacity import CapacitySearch, Step


def run(search: CapacitySearch, passes: dict[int, list[bool]]) -> list[int]:
    measured = []
    while not search.done:
        rooms = search.rooms
        measured.append(rooms)
        search.record(Step(rooms, passes[rooms].pop(0)))
    return measured


def test_adds_rooms_until_a_confirmed_break() -> None:
    search = CapacitySearch(start=1, limit=10, confirmations=1)
    measured = run(search, {1: [True], 2: [True], 3: [True], 4: [False, False]})
    assert measured == [1, 2, 3, 4, 4]
    assert (search.last_good, search.first_bad, search.stopped_by) == (3, 4, "threshold")


def test_a_break_that_does_not_repeat_is_noise() -> None:
    search = CapacitySearch(start=2, limit=4, confirmations=1)
    measured = run(search, {2: [True], 3: [False, True], 4: [True]})
    assert measured == [2, 3, 3, 4]
    assert (search.last_good, search.stopped_by) == (4, "limit")


def test_nothing_holds() -> None:
    search = CapacitySearch(confirmations=0)
    run(search, {1: [False]})
    assert (search.last_good, search.first_bad) == (0, 1)
    assert search.result()["capacity_rooms"] == 0
    assert search.result()["steps"] == [{"rooms": 1, "passed": False, "broken": [],
                                         "inconclusive": False, "bottleneck": None,
                                         "figures": {}}]


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="start"):
        CapacitySearch(start=5, limit=3)
    search = CapacitySearch(confirmations=0)
    with pytest.raises(ValueError, match="expected a step with 1 rooms"):
        search.record(Step(2, True))
    search.record(Step(1, False))
    with pytest.raises(RuntimeError, match="over"):
        search.record(Step(1, True))


def test_a_window_spoiled_by_the_tester_is_measured_again_then_ends_the_search() -> None:
    search = CapacitySearch(confirmations=0, inconclusive_retries=2)
    search.record(Step(1, True))
    for _ in range(2):
        search.record(Step(2, False, inconclusive=True))
        assert not search.done and search.rooms == 2
    search.record(Step(2, True))  # a clean window counts as usual
    search.record(Step(3, False, inconclusive=True))
    search.record(Step(3, False, inconclusive=True))
    search.record(Step(3, False, inconclusive=True))
    assert (search.last_good, search.first_bad, search.stopped_by) == (2, None, "tester")
