"""Flood control and chat hygiene: token buckets per participant, chat message cleaning.

Sans-IO: every method takes ``now`` (seconds, any monotonic clock) instead of reading a clock.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Final

from rooms.shopping.errors import InvalidChatMessage

MAX_CHAT_LENGTH: Final = 500
"""Longest chat message, in code points, after cleaning."""

CHAT_HISTORY_SIZE: Final = 100
"""Chat messages a room keeps (and a joining client gets): the oldest are dropped first."""

# Reject absurd input before doing any per-character work on it.
_MAX_RAW_CHAT_LENGTH: Final = 8 * MAX_CHAT_LENGTH

# Bidirectional embedding/override/isolate controls: invisible, and able to make a message
# display differently from what it says (CVE-2021-42574, "Trojan Source").
_BIDI_CONTROLS: Final = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """A token bucket's shape: ``burst`` actions at once, refilled at ``rate`` per second."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        if not (self.rate > 0 and self.burst >= 1):
            raise ValueError("a rate policy needs rate > 0 and burst >= 1")


VOTE_POLICY: Final = RatePolicy(rate=2.0, burst=10)
REACTION_POLICY: Final = RatePolicy(rate=5.0, burst=20)
CHAT_POLICY: Final = RatePolicy(rate=1.0, burst=5)
CHECKOUT_POLICY: Final = RatePolicy(rate=0.5, burst=5)
"""Checkout links: each publishes ``checkout_started`` to the whole room."""


class TokenBucket:
    """Allows ``policy.burst`` actions at once and ``policy.rate`` per second on average."""

    __slots__ = ("_tokens", "_updated", "policy")

    def __init__(self, policy: RatePolicy, now: float) -> None:
        self.policy = policy
        self._tokens = float(policy.burst)
        self._updated = now

    def _refill(self, now: float) -> None:
        # A clock that steps back refills nothing (and never takes tokens away).
        if now > self._updated:
            elapsed = now - self._updated
            self._tokens = min(self.policy.burst, self._tokens + elapsed * self.policy.rate)
            self._updated = now

    def tokens(self, now: float) -> float:
        """Tokens available at ``now``."""
        self._refill(now)
        return self._tokens

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if there are enough; False (spending nothing) otherwise."""
        if cost <= 0:
            raise ValueError("cost must be positive")
        self._refill(now)
        if self._tokens + 1e-9 < cost:
            return False
        self._tokens = max(0.0, self._tokens - cost)
        return True

    def retry_after(self, now: float, cost: float = 1.0) -> float:
        """Seconds until ``allow(cost)`` would succeed: 0 now, inf if cost exceeds the burst."""
        if cost > self.policy.burst:
            return math.inf
        missing = cost - self.tokens(now)
        return max(0.0, missing / self.policy.rate)

    def full(self, now: float) -> bool:
        """True when the bucket is as good as new (so a limiter may forget it)."""
        return self.tokens(now) >= self.policy.burst


class RateLimiter:
    """One token bucket per key (a participant id, or ``f"{room}:{participant}"``)."""

    def __init__(self, policy: RatePolicy) -> None:
        self.policy = policy
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, key: str, now: float, cost: float = 1.0) -> bool:
        """Whether ``key`` may act now; if so, the action is counted."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.policy, now)
        return bucket.allow(now, cost)

    def retry_after(self, key: str, now: float, cost: float = 1.0) -> float:
        """Seconds until ``key`` may act (see TokenBucket.retry_after)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0 if cost <= self.policy.burst else math.inf
        return bucket.retry_after(now, cost)

    def forget(self, key: str) -> None:
        """Drop the key's bucket (when the participant leaves)."""
        self._buckets.pop(key, None)

    def prune(self, now: float) -> int:
        """Drop the buckets that have refilled completely (a new one would be the same), so
        memory follows the active keys. Returns how many were dropped."""
        full = [key for key, bucket in self._buckets.items() if bucket.full(now)]
        for key in full:
            del self._buckets[key]
        return len(full)

    def __len__(self) -> int:
        return len(self._buckets)


def clean_chat_message(text: str) -> str:
    """The message as it will be shown: NFC-normalised, control and bidi-override characters
    removed (newlines kept, tabs as spaces), surrounding whitespace stripped.

    Raises InvalidChatMessage when nothing is left or more than MAX_CHAT_LENGTH remains.
    Too long is refused, never truncated: the sender should know what others read.
    """
    if len(text) > _MAX_RAW_CHAT_LENGTH:
        raise InvalidChatMessage(f"chat message longer than {MAX_CHAT_LENGTH} characters")
    kept = []
    for char in unicodedata.normalize("NFC", text.replace("\r\n", "\n")):
        if char == "\t":
            kept.append(" ")
        elif char == "\n" or not (
            unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS
        ):
            kept.append(char)
    cleaned = "".join(kept).strip()
    if not cleaned:
        raise InvalidChatMessage("empty chat message")
    if len(cleaned) > MAX_CHAT_LENGTH:
        raise InvalidChatMessage(f"chat message longer than {MAX_CHAT_LENGTH} characters")
    return cleaned
