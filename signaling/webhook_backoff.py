"""The retry schedule of a webhook delivery, sans-IO: bounded attempts, exponential backoff."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """``attempts`` tries at most; after the n-th failure wait ``base * factor**(n-1)``
    seconds, never more than ``cap`` (the defaults wait 1, 2, 4, ... 60 s: about 2 minutes)."""

    attempts: int = 8
    base: float = 1.0
    factor: float = 2.0
    cap: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.factor < 1 or self.cap < 0:
            raise ValueError(f"invalid backoff {self}")

    def delay(self, failures: int) -> float | None:
        """Seconds to wait after ``failures`` failed attempts; None: give up."""
        if failures < 1:
            return 0.0
        if failures >= self.attempts:
            return None
        return min(self.cap, self.base * self.factor ** (failures - 1))

    def schedule(self) -> list[float]:
        """Every wait, in order (``attempts - 1`` of them)."""
        return [d for n in range(1, self.attempts) if (d := self.delay(n)) is not None]
