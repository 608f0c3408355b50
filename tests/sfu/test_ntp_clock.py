"""sfu.ntp_clock against aiortc's datetime-based clock, which it replaces on the hot path."""

from __future__ import annotations

import datetime

from aiortc.clock import current_ms, current_ntp_time, datetime_to_ntp
from hypothesis import given
from hypothesis import strategies as st

from sfu.ntp_clock import ntp_from_unix_ns, ntp_ms_now, ntp_now

_UTC = datetime.UTC


@given(st.integers(min_value=0, max_value=4_000_000_000 * 1_000_000))
def test_same_timestamp_as_aiortc_for_any_microsecond(unix_us: int) -> None:
    """datetime keeps microseconds: for any whole microsecond the two agree exactly."""
    moment = datetime.datetime(1970, 1, 1, tzinfo=_UTC) + datetime.timedelta(microseconds=unix_us)
    assert ntp_from_unix_ns(unix_us * 1000) == datetime_to_ntp(moment)


@given(st.integers(min_value=0, max_value=999))
def test_nanoseconds_never_carry_into_the_next_microsecond(extra_ns: int) -> None:
    base = 1_700_000_000_123_456_000
    assert (
        ntp_from_unix_ns(base) <= ntp_from_unix_ns(base + extra_ns) < ntp_from_unix_ns(base + 1000)
    )


def test_now_matches_aiortcs_clock() -> None:
    before = current_ntp_time()
    ours = ntp_now()
    after = current_ntp_time()
    assert before <= ours <= after
    ms_before = current_ms()
    ms = ntp_ms_now()
    assert ms_before <= ms <= current_ms() + 1
