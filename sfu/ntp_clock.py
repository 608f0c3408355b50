"""NTP timestamps (RFC 5905 §6: seconds since 1900 and a 32-bit fraction) from the system
clock, without aiortc's datetime per call (sans-IO arithmetic, plus one clock read).

aiortc's ``clock.current_ntp_time`` builds two datetimes and a timedelta for each call; the
SFU needs the time once per forwarded packet (abs-send-time, sender reports), so this reads
``time.time_ns()`` and shifts.
"""

from __future__ import annotations

import time

#: Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
NTP_OFFSET_S = 2208988800
_NS = 1_000_000_000
_NTP_OFFSET_MS = NTP_OFFSET_S * 1000


def ntp_from_unix_ns(unix_ns: int) -> int:
    """The 64-bit NTP timestamp of a Unix time in nanoseconds."""
    seconds, ns = divmod(unix_ns, _NS)
    return ((seconds + NTP_OFFSET_S) << 32) | ((ns << 32) // _NS)


def ntp_now() -> int:
    """The 64-bit NTP timestamp of now."""
    return ntp_from_unix_ns(time.time_ns())


def ntp_ms_now() -> int:
    """Milliseconds since the NTP epoch: aiortc's ``clock.current_ms()``, for arrival times."""
    return time.time_ns() // 1_000_000 + _NTP_OFFSET_MS
