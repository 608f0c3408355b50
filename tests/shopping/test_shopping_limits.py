"""Flood control (token buckets with an explicit clock) and chat message cleaning."""

from __future__ import annotations

import math

import pytest

from rooms.shopping import (
    CHAT_HISTORY_SIZE,
    CHAT_POLICY,
    MAX_CHAT_LENGTH,
    REACTION_POLICY,
    VOTE_POLICY,
    InvalidChatMessage,
    RateLimiter,
    RatePolicy,
    TokenBucket,
    clean_chat_message,
)

POLICY = RatePolicy(rate=2.0, burst=3)


def test_burst_then_refused_then_refilled_at_the_rate() -> None:
    bucket = TokenBucket(POLICY, now=100.0)
    assert [bucket.allow(100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after(100.0) == pytest.approx(0.5)
    assert not bucket.allow(100.4)
    assert bucket.allow(100.5)  # 2 tokens/s: one more after half a second.
    assert not bucket.allow(100.5)
    assert bucket.tokens(110.0) == 3  # Never more than the burst.
    assert [bucket.allow(110.0) for _ in range(4)] == [True, True, True, False]


def test_refusal_spends_nothing_and_cost_counts() -> None:
    bucket = TokenBucket(POLICY, now=0.0)
    assert bucket.allow(0.0, cost=2)
    assert not bucket.allow(0.0, cost=2)  # Only 1 left: refused, and still 1 left.
    assert bucket.allow(0.0, cost=1)
    assert bucket.retry_after(0.0, cost=3) == pytest.approx(1.5)
    assert bucket.retry_after(0.0, cost=4) == math.inf  # More than the burst: never.
    with pytest.raises(ValueError, match="cost must be positive"):
        bucket.allow(0.0, cost=0)


def test_clock_stepping_back_neither_refills_nor_breaks() -> None:
    bucket = TokenBucket(POLICY, now=50.0)
    for _ in range(3):
        assert bucket.allow(50.0)
    assert not bucket.allow(10.0)
    assert bucket.tokens(10.0) == 0
    assert bucket.allow(50.5)  # Refill counts from the latest time seen.


def test_sustained_rate_is_the_policy_rate() -> None:
    bucket = TokenBucket(RatePolicy(rate=5.0, burst=1), now=0.0)
    allowed = sum(bucket.allow(t / 100) for t in range(1000))  # 100 attempts/s for 10 s.
    assert allowed == 50  # 1 at t=0, then one per 0.2 s (t=0.2 .. 9.8).


def test_limiter_keys_are_independent_and_forgettable() -> None:
    limiter = RateLimiter(POLICY)
    assert all(limiter.allow("ann", 0.0) for _ in range(3))
    assert not limiter.allow("ann", 0.0)
    assert limiter.allow("bob", 0.0)
    assert limiter.retry_after("ann", 0.0) == pytest.approx(0.5)
    assert limiter.retry_after("cid", 0.0) == 0.0
    assert limiter.retry_after("cid", 0.0, cost=10) == math.inf
    assert len(limiter) == 2
    limiter.forget("ann")
    limiter.forget("nobody")
    assert len(limiter) == 1
    assert limiter.allow("ann", 0.0)  # A fresh bucket.


def test_prune_drops_only_full_buckets() -> None:
    limiter = RateLimiter(POLICY)
    limiter.allow("ann", 0.0)  # 1 spent: full again at 0.5.
    for _ in range(3):
        limiter.allow("bob", 0.0)  # 3 spent: full again at 1.5.
    assert limiter.prune(0.4) == 0
    assert limiter.prune(0.5) == 1
    assert len(limiter) == 1
    assert limiter.prune(1.5) == 1
    assert len(limiter) == 0


def test_policies() -> None:
    for policy in (VOTE_POLICY, REACTION_POLICY, CHAT_POLICY):
        assert policy.rate > 0 and policy.burst >= 1
    assert CHAT_POLICY.rate <= VOTE_POLICY.rate <= REACTION_POLICY.rate
    with pytest.raises(ValueError):
        RatePolicy(rate=0, burst=1)
    with pytest.raises(ValueError):
        RatePolicy(rate=1, burst=0)
    assert MAX_CHAT_LENGTH == 500
    assert CHAT_HISTORY_SIZE == 100


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  hello  ", "hello"),
        ("love\tthis", "love this"),
        ("line one\r\nline two", "line one\nline two"),
        ("bell\x07 and null\x00 and del\x7f and c1\x85", "bell and null and del and c1"),
        ("escape \x1b[31mred\x1b[0m", "escape [31mred[0m"),
        ("price \u202eevil\u202c ok \u2066x\u2069", "price evil ok x"),
        ("cafe\u0301", "caf\u00e9"),  # NFC: one code point, as others will count it.
        ("family 👨\u200d👩\u200d👧 ok", "family 👨\u200d👩\u200d👧 ok"),  # ZWJ stays.
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("x" * MAX_CHAT_LENGTH, "x" * MAX_CHAT_LENGTH),
        (" " * 100 + "hi" + "\x00" * 100, "hi"),
    ],
)
def test_clean_chat_message(raw: str, clean: str) -> None:
    assert clean_chat_message(raw) == clean


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty chat message"),
        ("   \n\t ", "empty chat message"),
        ("\x00\x01\u202e", "empty chat message"),
        ("x" * (MAX_CHAT_LENGTH + 1), "chat message longer than 500 characters"),
        ("x" * 10_000, "chat message longer than 500 characters"),
    ],
)
def test_chat_message_refused(raw: str, message: str) -> None:
    with pytest.raises(InvalidChatMessage) as info:
        clean_chat_message(raw)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)
