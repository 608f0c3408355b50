"""Webhook signatures against a vector computed here with hmac, independently of the module."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import Path
from typing import Any

from signaling.webhook_signature import signature, signature_header, verify
from tests.signaling.webhook_receiver import verify as receiver_verify

SECRET = "whsec_0123456789abcdef"
BODY = b'{"id":"r:1","type":"room_finished"}'
T = 1_700_000_000


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, T, BODY) == expected
    assert signature_header(SECRET, T, BODY) == f"t=1700000000,v1={expected}"


def test_known_vector() -> None:
    # Fixed once with `hmac.new(b"key", b"0.", hashlib.sha256).hexdigest()`.
    assert signature("key", 0, b"") == (
        "85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d"
    )


def test_verify_accepts_its_own_and_the_readme_receivers_check() -> None:
    header = signature_header(SECRET, T, BODY)
    assert verify(SECRET, header, BODY, now=T + 10)
    now = int(time.time())
    assert receiver_verify(SECRET, signature_header(SECRET, now, BODY), BODY)
    assert not receiver_verify("another-secret-000", signature_header(SECRET, now, BODY), BODY)


def test_verify_refuses_wrong_secret_body_timestamp_or_staleness() -> None:
    header = signature_header(SECRET, T, BODY)
    assert not verify("another-secret-000", header, BODY, now=T)
    assert not verify(SECRET, header, BODY + b" ", now=T)
    assert not verify(SECRET, header.replace("t=1700000000", "t=1700000001"), BODY, now=T)
    assert not verify(SECRET, header, BODY, now=T + 301)
    assert not verify(SECRET, "v1=" + signature(SECRET, T, BODY), BODY, now=T)
    assert not verify(SECRET, "garbage", BODY, now=T)


def test_the_readme_verification_snippet_accepts_ours_and_refuses_forgeries() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (snippet,) = [b for b in re.findall(r"```python\n(.*?)\n```", readme, flags=re.S)
                  if "Coshop-Signature" in b]
    scope: dict[str, Any] = {}
    exec(snippet, scope)
    readme_verify = scope["verify"]
    now = int(time.time())
    header = signature_header(SECRET, now, BODY)
    assert readme_verify(SECRET, header, BODY)
    assert not readme_verify("another-secret-000", header, BODY)
    assert not readme_verify(SECRET, header, BODY + b"x")
    assert not readme_verify(SECRET, signature_header(SECRET, now - 3600, BODY), BODY)
