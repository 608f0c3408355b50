"""Join tokens: signing, verification, expiry, room binding."""

from __future__ import annotations

import base64
import json

import pytest

from rooms.models import Role
from signaling.auth import DEMO_SECRET, Grant, InvalidToken, TokenAuthority

NOW = 1_700_000_000.0
GRANT = Grant(room="r1", identity="u1", name="Ann", role=Role.HOST, exp=NOW + 60)


def test_round_trip() -> None:
    auth = TokenAuthority("s3cret")
    token = auth.mint(GRANT)
    assert auth.verify(token, room="r1", now=NOW) == GRANT
    body, sig = token.split(".")
    assert "=" not in token and "+" not in token and "/" not in token  # base64url, unpadded
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload == {"exp": NOW + 60, "identity": "u1", "name": "Ann", "role": "host",
                       "room": "r1"}
    assert len(base64.urlsafe_b64decode(sig + "=")) == 32  # HMAC-SHA256


def test_required_only_with_a_secret() -> None:
    assert TokenAuthority("x").required
    demo = TokenAuthority(None)
    assert not demo.required
    # Demo tokens are signed with the well-known demo key, so every demo node accepts them.
    assert TokenAuthority(DEMO_SECRET).verify(demo.mint(GRANT), room="r1", now=NOW) == GRANT


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda t: t + "x", "bad token signature"),
        (lambda t: "x" + t, "bad token signature"),
        (lambda t: t.replace(".", ""), "malformed token"),
        (lambda t: t.split(".")[0] + ".", "malformed token"),
        (lambda t: "." + t.split(".")[1], "malformed token"),
        (lambda t: t.split(".")[0] + ".é", "malformed token signature"),
        (lambda t: "", "malformed token"),
    ],
)
def test_tampered_tokens(mutate: object, why: str) -> None:
    auth = TokenAuthority("s3cret")
    token = mutate(auth.mint(GRANT))  # type: ignore[operator]
    with pytest.raises(InvalidToken, match=why):
        auth.verify(token, room="r1", now=NOW)


def test_forged_payload_is_rejected() -> None:
    auth = TokenAuthority("s3cret")
    token = auth.mint(GRANT)
    _, sig = token.split(".")
    forged = dict(json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==")), role="admin")
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="bad token signature"):
        auth.verify(f"{body}.{sig}", room="r1", now=NOW)


def test_other_secret_is_rejected() -> None:
    with pytest.raises(InvalidToken, match="signature"):
        TokenAuthority("other").verify(TokenAuthority("s3cret").mint(GRANT), room="r1", now=NOW)


def test_expired_and_wrong_room() -> None:
    auth = TokenAuthority("s3cret")
    token = auth.mint(GRANT)
    with pytest.raises(InvalidToken, match="expired"):
        auth.verify(token, room="r1", now=GRANT.exp)
    with pytest.raises(InvalidToken, match="another room"):
        auth.verify(token, room="r2", now=NOW)


def test_signed_garbage_payload_is_malformed() -> None:
    auth = TokenAuthority("s3cret")
    body = base64.urlsafe_b64encode(b'{"room": "r1"}').rstrip(b"=").decode()
    sig = auth.mint(GRANT).split(".")[1]
    # A valid signature over a payload missing fields: sign it the way mint does.
    good = auth._sign(body)
    token = body + "." + base64.urlsafe_b64encode(good).rstrip(b"=").decode()
    assert sig != token.split(".")[1]
    with pytest.raises(InvalidToken, match="malformed token payload"):
        auth.verify(token, room="r1", now=NOW)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("exp", float("nan")),
        ("exp", float("inf")),
        ("exp", float("-inf")),
        ("exp", "4e9"),
        ("exp", True),
        ("identity", ""),
        ("identity", "has space"),
        ("identity", 7),
        ("name", ""),
        ("name", "x" * 65),
        ("room", ""),
        ("role", "root"),
    ],
)
def test_signed_payload_with_a_bad_field_is_malformed(field: str, value: object) -> None:
    auth = TokenAuthority("s3cret")
    payload = {"room": "r1", "identity": "u1", "name": "Ann", "role": "host", "exp": NOW + 60,
               field: value}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    token = body + "." + base64.urlsafe_b64encode(auth._sign(body)).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="malformed token payload"):
        auth.verify(token, room="r1", now=NOW)


def test_a_grant_that_cannot_be_verified_is_not_minted() -> None:
    auth = TokenAuthority("s3cret")
    for bad in (
        Grant(room="r1", identity="", name="Ann", role=Role.HOST, exp=NOW),
        Grant(room="r1", identity="u1", name="Ann", role=Role.HOST, exp=float("nan")),
    ):
        with pytest.raises(ValueError):
            auth.mint(bad)
