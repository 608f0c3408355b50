"""Join tokens: JWT claims and grants, signature, time claims, room binding, a brand's key."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from rooms.models import Role
from signaling.auth import (
    DEMO_SECRET,
    LEEWAY,
    Grant,
    InvalidToken,
    Permissions,
    TokenAuthority,
    load_public_key,
)

SECRET = "s3cret-of-at-least-thirty-two-bytes"
NOW = time.time()
GRANT = Grant.of_role("r1", "u1", "Ann", Role.HOST, NOW + 3600)


def _claims(**changes: Any) -> dict[str, Any]:
    base = {"sub": "u1", "name": "Ann", "room": "r1", "role": "host", "exp": time.time() + 60}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def _signed(claims: dict[str, Any], key: Any = SECRET, algorithm: str = "HS256") -> str:
    """A token as a brand's backend mints it, with PyJWT."""
    return jwt.encode(claims, key, algorithm=algorithm)


def test_round_trip_is_a_standard_jwt() -> None:
    auth = TokenAuthority(SECRET)
    token = auth.mint(GRANT, now=NOW)
    assert auth.verify(token, room="r1") == GRANT
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert jwt.decode(token, SECRET, algorithms=["HS256"]) == {
        "sub": "u1", "name": "Ann", "room": "r1", "role": "host", "exp": NOW + 3600,
        "nbf": NOW, "iat": NOW, "canPublish": True, "canSubscribe": True, "canModerate": True,
    }


def test_a_token_minted_elsewhere_with_pyjwt_is_accepted() -> None:
    token = _signed(_claims(canPublish=False, iat=int(NOW), nbf=int(NOW)))
    grant = TokenAuthority(SECRET).verify(token, room="r1")
    assert (grant.identity, grant.name, grant.role) == ("u1", "Ann", Role.HOST)
    assert grant.permissions == Permissions(can_publish=False, can_moderate=True)


@pytest.mark.parametrize(
    ("role", "implied"),
    [
        (Role.VIEWER, Permissions(can_publish=False)),
        (Role.GUEST, Permissions()),
        (Role.HOST, Permissions(can_moderate=True)),
        (Role.ADMIN, Permissions(can_moderate=True)),
    ],
)
def test_omitted_grants_follow_the_role(role: Role, implied: Permissions) -> None:
    grant = TokenAuthority(SECRET).verify(_signed(_claims(role=str(role))), room="r1")
    assert grant.permissions == implied == Permissions.of_role(role)


def test_required_only_with_a_secret() -> None:
    assert TokenAuthority(SECRET).required
    demo = TokenAuthority(None)
    assert not demo.required
    # Demo tokens are signed with the well-known demo key, so every demo node accepts them.
    assert TokenAuthority(DEMO_SECRET).verify(demo.mint(GRANT), room="r1") == GRANT
    assert len(DEMO_SECRET.encode()) >= 32  # RFC 7518 §3.2


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), "bad token signature"),
        (lambda t: t.rsplit(".", 1)[0] + ".", "bad token signature"),
        (lambda t: "x" + t, "malformed token"),
        (lambda t: t.replace(".", ""), "malformed token"),
        (lambda t: t.split(".", 1)[1], "malformed token"),
        (lambda t: t + ".é", "malformed token"),
        (lambda t: "", "malformed token"),
    ],
)
def test_tampered_tokens(mutate: Any, why: str) -> None:
    auth = TokenAuthority(SECRET)
    with pytest.raises(InvalidToken, match=why):
        auth.verify(mutate(auth.mint(GRANT)), room="r1")


def test_forged_claims_and_other_keys_are_rejected() -> None:
    auth = TokenAuthority(SECRET)
    header, _, signature = auth.mint(GRANT).split(".")
    forged_body = _signed(_claims(role="admin")).split(".")[1]
    with pytest.raises(InvalidToken, match="bad token signature"):
        auth.verify(f"{header}.{forged_body}.{signature}", room="r1")
    with pytest.raises(InvalidToken, match="bad token signature"):
        TokenAuthority("another-secret-of-thirty-two-bytes!").verify(auth.mint(GRANT), room="r1")
    # The demo key is public: a production node never accepts what it signs.
    with pytest.raises(InvalidToken, match="bad token signature"):
        auth.verify(TokenAuthority(None).mint(GRANT), room="r1")


@pytest.mark.parametrize("algorithm", ["none", "HS384", "HS512"])
def test_only_the_configured_algorithms(algorithm: str) -> None:
    key = None if algorithm == "none" else SECRET + "-long-enough-for-hs512-" + "x" * 40
    token = jwt.encode(_claims(), key, algorithm=algorithm)
    with pytest.raises(InvalidToken, match="not accepted"):
        TokenAuthority(key).verify(token, room="r1")


def test_time_claims_with_a_small_leeway() -> None:
    auth = TokenAuthority(SECRET)
    now = time.time()
    assert auth.verify(_signed(_claims(exp=now - LEEWAY / 2)), room="r1")
    with pytest.raises(InvalidToken, match="expired"):
        auth.verify(_signed(_claims(exp=now - LEEWAY - 1)), room="r1")
    assert auth.verify(_signed(_claims(nbf=now + LEEWAY / 2)), room="r1")
    with pytest.raises(InvalidToken, match="not yet valid"):
        auth.verify(_signed(_claims(nbf=now + LEEWAY + 60)), room="r1")
    with pytest.raises(InvalidToken, match="not yet valid"):
        auth.verify(_signed(_claims(iat=now + LEEWAY + 60)), room="r1")


def test_wrong_room() -> None:
    with pytest.raises(InvalidToken, match="another room"):
        TokenAuthority(SECRET).verify(TokenAuthority(SECRET).mint(GRANT), room="r2")


@pytest.mark.parametrize("missing", ["sub", "name", "room", "role", "exp"])
def test_required_claims(missing: str) -> None:
    with pytest.raises(InvalidToken, match="malformed token"):
        TokenAuthority(SECRET).verify(_signed(_claims(**{missing: None})), room="r1")


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "4e9"),
        ("nbf", "now"),
        ("sub", ""),
        ("sub", "has space"),
        ("sub", 7),
        ("sub", "x" * 65),
        ("name", ""),
        ("name", "x" * 65),
        ("room", ""),
        ("role", "root"),
        ("canPublish", "true"),
        ("canModerate", 1),
        ("iss", "https://brand.example"),  # no claim beyond the documented ones
    ],
)
def test_a_signed_token_with_a_bad_claim_is_malformed(claim: str, value: object) -> None:
    with pytest.raises(InvalidToken, match="malformed token"):
        TokenAuthority(SECRET).verify(_signed(_claims(**{claim: value})), room="r1")


def test_a_boolean_expiry_is_refused() -> None:
    # PyJWT reads exp=true as 1 (long expired) before the claims model calls it no number.
    with pytest.raises(InvalidToken, match="token expired"):
        TokenAuthority(SECRET).verify(_signed(_claims(exp=True)), room="r1")


@pytest.mark.parametrize("exp", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_non_finite_expiry_is_malformed(exp: str) -> None:
    # PyJWT's encoder refuses these; a hostile minter writes them by hand.
    text = '{"sub":"u1","name":"Ann","room":"r1","role":"host","exp":' + exp + "}"
    token = jwt.api_jws.encode(text.encode(), SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken, match="malformed token"):
        TokenAuthority(SECRET).verify(token, room="r1")


def test_a_grant_that_cannot_be_verified_is_not_minted() -> None:
    auth = TokenAuthority(SECRET)
    for bad in (
        Grant.of_role("r1", "", "Ann", Role.HOST, NOW),
        Grant.of_role("r1", "u1", "Ann", Role.HOST, float("nan")),
    ):
        with pytest.raises(ValueError):
            auth.mint(bad)


def _pem(public_key: Any, tmp_path: Path) -> Path:
    path = tmp_path / "brand.pem"
    path.write_bytes(public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ))
    return path


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_brands_public_key(algorithm: str, tmp_path: Path) -> None:
    private: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256" else ec.generate_private_key(ec.SECP256R1())
    )
    auth = TokenAuthority(SECRET, public_key=load_public_key(_pem(private.public_key(), tmp_path)))
    grant = auth.verify(_signed(_claims(), private, algorithm), room="r1")
    assert grant.identity == "u1"
    assert auth.verify(auth.mint(GRANT), room="r1") == GRANT  # its own HS256 tokens still work
    # Without the key configured, the brand's tokens are refused.
    with pytest.raises(InvalidToken, match="not accepted"):
        TokenAuthority(SECRET).verify(_signed(_claims(), private, algorithm), room="r1")
    # The public key (PEM text) is no HMAC secret: the classic algorithm confusion fails.
    pem = _pem(private.public_key(), tmp_path).read_text()
    # (PyJWT will not sign with a PEM as HMAC key either, so sign by hand.)
    unsigned = _signed(_claims()).rsplit(".", 1)[0]
    mac = hmac.new(pem.encode(), unsigned.encode(), hashlib.sha256).digest()
    confused = f"{unsigned}.{jwt.utils.base64url_encode(mac).decode()}"
    with pytest.raises(InvalidToken, match="bad token signature"):
        auth.verify(confused, room="r1")


def test_a_key_that_is_not_p256_or_rsa_is_refused(tmp_path: Path) -> None:
    path = _pem(ec.generate_private_key(ec.SECP384R1()).public_key(), tmp_path)
    with pytest.raises(ValueError, match="P-256"):
        load_public_key(path)
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(ValueError):
        load_public_key(tmp_path / "junk.pem")
