"""Webhook signatures, sans-IO: HMAC-SHA256 (RFC 2104) over ``<timestamp>.<body>``.

A delivery carries ``Coshop-Signature: t=<unix seconds>,v1=<hex digest>``; a receiver recomputes
the digest with the endpoint's secret, compares in constant time and refuses old timestamps
(a replayed request). Signing the timestamp with the body binds the two.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Coshop-Signature"
EVENT_ID_HEADER = "Coshop-Event-Id"
"""The event's idempotency key: the same on every attempt and from every node."""
EVENT_TYPE_HEADER = "Coshop-Event-Type"
DEFAULT_TOLERANCE = 300.0
"""Seconds a receiver accepts a signature's timestamp away from its own clock."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Coshop-Signature`` value of ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, *, now: float, tolerance: float = DEFAULT_TOLERANCE
) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` within ``tolerance`` of ``now``."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, v) for v in fields.get("v1", []))
