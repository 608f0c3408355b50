"""When to ping a client's WebSocket and when to give it up (sans-IO).

aiohttp's own heartbeat drops a socket whose pong is later than half the ping interval, so
noticing a dead client within 5 s meant dropping live ones whose network paused for about
a second: a 2 s outage, which media rides out, cost everyone their session (issue 9). Here
the two are apart: a silent client is pinged every ``interval`` seconds, and dropped only
once nothing at all (a message, a ping, a pong) has come from it for ``timeout`` seconds.
"""

from __future__ import annotations

from enum import Enum


class Due(Enum):
    """What the socket's watchdog does now."""

    NOTHING = "nothing"
    PING = "ping"
    DROP = "drop"


class Liveness:
    """One socket's silence, measured on a monotonic clock."""

    __slots__ = ("_heard", "_pinged", "interval", "timeout")

    def __init__(self, *, interval: float, timeout: float, now: float) -> None:
        if not 0 < interval < timeout:
            raise ValueError(f"need 0 < interval ({interval}) < timeout ({timeout})")
        self.interval = interval
        self.timeout = timeout
        self._heard = now
        self._pinged = now

    def heard(self, now: float) -> None:
        """Anything arrived from the client: it is alive."""
        self._heard = now

    def due(self, now: float) -> Due:
        """What to do at ``now`` (after PING, call ``pinged``)."""
        if now - self._heard >= self.timeout:
            return Due.DROP
        if now - max(self._heard, self._pinged) >= self.interval:
            return Due.PING
        return Due.NOTHING

    def pinged(self, now: float) -> None:
        self._pinged = now

    def next_check(self, now: float) -> float:
        """Seconds until ``due`` may answer something other than NOTHING."""
        ping_at = max(self._heard, self._pinged) + self.interval
        drop_at = self._heard + self.timeout
        return max(0.0, min(ping_at, drop_at) - now)
