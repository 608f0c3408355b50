"""The webhook retry schedule."""

from __future__ import annotations

import pytest

from signaling.webhook_backoff import Backoff


def test_default_schedule_doubles_up_to_the_cap_then_gives_up() -> None:
    backoff = Backoff()
    assert backoff.schedule() == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    assert backoff.delay(0) == 0.0
    assert backoff.delay(7) == 60.0
    assert backoff.delay(8) is None  # the eighth attempt failed: no ninth


def test_custom_schedule() -> None:
    assert Backoff(attempts=4, base=0.5, factor=3, cap=2.0).schedule() == [0.5, 1.5, 2.0]
    assert Backoff(attempts=1).schedule() == []
    assert Backoff(attempts=1).delay(1) is None


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"base": -1.0}, {"factor": 0.5}])
def test_invalid(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**bad)  # type: ignore[arg-type]
