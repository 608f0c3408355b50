"""Capacity discovery (sans-IO): add rooms one at a time until a step breaks a threshold.

On a shared machine one bad window can be noise, so a broken step is measured again
(``confirmations`` times) before the search concludes; the answer is the last room
count whose window held every threshold. A broken window in which the tester itself
lagged, or in which the whole machine was saturated, says nothing about the server: it is
inconclusive, measured again up to ``inconclusive_retries`` times, and then ends the search
naming what ran out (``bottleneck``: "tester" or "machine"; loadtest.machine decides). A
search ended by a threshold names the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Step:
    """One measured window: how many rooms ran, whether every threshold held, and why not."""

    rooms: int
    passed: bool
    broken: tuple[str, ...] = ()
    figures: dict[str, Any] = field(default_factory=dict)
    inconclusive: bool = False  # broken while the tester lagged or the machine was full
    bottleneck: str | None = None  # what ran out, for a broken step: server, tester, machine


class CapacitySearch:
    """Which room count to measure next, and when to stop."""

    def __init__(self, *, start: int = 1, limit: int = 50, confirmations: int = 1,
                 inconclusive_retries: int = 2) -> None:
        if not 1 <= start <= limit:
            raise ValueError(f"need 1 <= start ({start}) <= limit ({limit})")
        self.limit = limit
        self.confirmations = confirmations
        self.steps: list[Step] = []
        self.last_good = 0
        self.first_bad: int | None = None
        self.stopped_by: str | None = None  # "threshold", "limit", "tester" or "machine"
        self.inconclusive_retries = inconclusive_retries
        self._next = start
        self._retries = confirmations
        self._inconclusive = inconclusive_retries

    @property
    def done(self) -> bool:
        return self.stopped_by is not None

    @property
    def rooms(self) -> int:
        """The room count the next window should run with."""
        return self._next

    def record(self, step: Step) -> None:
        """Take one window's result and decide the next room count."""
        if self.done:
            raise RuntimeError("the search is over")
        if step.rooms != self._next:
            raise ValueError(f"expected a step with {self._next} rooms, got {step.rooms}")
        self.steps.append(step)
        if step.passed:
            self.last_good = step.rooms
            self._retries = self.confirmations
            self._inconclusive = self.inconclusive_retries
            if step.rooms >= self.limit:
                self.stopped_by = "limit"
            else:
                self._next = step.rooms + 1
        elif step.inconclusive:
            if self._inconclusive > 0:
                self._inconclusive -= 1
            else:
                self.stopped_by = step.bottleneck if step.bottleneck == "machine" else "tester"
        elif self._retries > 0:
            self._retries -= 1  # measure the same room count again
        else:
            self.first_bad = step.rooms
            self.stopped_by = "threshold"

    @property
    def bottleneck(self) -> str | None:
        """What limited the capacity found: the server (a threshold broke while neither the
        tester nor the machine ran out), the tester, the machine; None at the limit."""
        if self.stopped_by == "threshold":
            return "server"
        if self.stopped_by in ("tester", "machine"):
            return self.stopped_by
        return None

    def result(self) -> dict[str, Any]:
        """The search as JSON-ready data."""
        return {
            "capacity_rooms": self.last_good,
            "first_broken_rooms": self.first_bad,
            "stopped_by": self.stopped_by,
            "bottleneck": self.bottleneck,
            "limit": self.limit,
            "steps": [
                {"rooms": s.rooms, "passed": s.passed, "broken": list(s.broken),
                 "inconclusive": s.inconclusive, "bottleneck": s.bottleneck,
                 "figures": s.figures}
                for s in self.steps
            ],
        }
