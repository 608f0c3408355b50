"""Join tokens: JSON Web Tokens (RFC 7519) with LiveKit-style grants, signed and checked by PyJWT.

A token grants one identity (``sub``) a role in one ``room`` until ``exp``. The node signs and
checks HS256 tokens with ``COSHOP_SECRET``; a brand's backend may instead sign RS256/ES256 tokens
whose public key the node is given (``COSHOP_JWT_PUBLIC_KEY``). With no secret (demo mode) joining
needs no token, and tokens are HS256 with a well-known demo key, so any demo node checks them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rooms import validation
from rooms.models import Role
from signaling import untrusted_json

#: Public on purpose: demo mode trusts its clients. 32 bytes, the HS256 minimum (RFC 7518 §3.2).
DEMO_SECRET = "coshop-demo-mode-key-not-a-secret"
#: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (RFC 7519 §4.1.4).
LEEWAY = 5.0
HMAC_ALGORITHM = "HS256"

PublicKey = RSAPublicKey | EllipticCurvePublicKey


class InvalidToken(Exception):
    """The token is malformed, forged, expired, not yet valid or for another room."""


@dataclass(frozen=True, slots=True)
class Permissions:
    """The token's grants. Only ``can_publish`` is enforced today; ``can_subscribe`` and
    ``can_moderate`` are carried (into resume credentials too) for the SFU and rooms to use."""

    can_publish: bool = True
    can_subscribe: bool = True
    can_moderate: bool = False

    @classmethod
    def of_role(cls, role: Role) -> Permissions:
        """What ``role`` allows when a token does not say: viewers do not publish, hosts and
        admins moderate."""
        return cls(
            can_publish=role is not Role.VIEWER,
            can_subscribe=True,
            can_moderate=role in (Role.HOST, Role.ADMIN),
        )


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token allows: ``identity`` joins ``room`` as ``role`` (shown as ``name``)."""

    room: str
    identity: str
    name: str
    role: Role
    exp: float
    permissions: Permissions

    @classmethod
    def of_role(cls, room: str, identity: str, name: str, role: Role, exp: float) -> Grant:
        """A grant with the permissions ``role`` implies."""
        return cls(room, identity, name, role, exp, Permissions.of_role(role))


_Id = Annotated[str, Field(strict=True, pattern=f"^{validation.ROOM_ID_PATTERN.pattern}$")]
# NaN compares false with everything and Infinity is never reached: neither ever expires.
_Time = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class _Claims(BaseModel):
    """A token's claims as signed: every one checked, so a forged demo-mode token (the demo
    key is public) or a brand's token can claim nothing the API could not mint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: _Id
    name: Annotated[str, Field(strict=True, min_length=1, max_length=64)]
    room: _Id
    role: Role
    exp: _Time
    nbf: _Time | None = None
    iat: _Time | None = None
    # Omitted grants default to what the role allows (Permissions.of_role).
    can_publish: Annotated[bool | None, Field(strict=True, alias="canPublish")] = None
    can_subscribe: Annotated[bool | None, Field(strict=True, alias="canSubscribe")] = None
    can_moderate: Annotated[bool | None, Field(strict=True, alias="canModerate")] = None

    def grant(self) -> Grant:
        implied = Permissions.of_role(self.role)
        permissions = Permissions(
            can_publish=_given(self.can_publish, implied.can_publish),
            can_subscribe=_given(self.can_subscribe, implied.can_subscribe),
            can_moderate=_given(self.can_moderate, implied.can_moderate),
        )
        return Grant(self.room, self.sub, self.name, self.role, self.exp, permissions)


def _given(value: bool | None, default: bool) -> bool:
    return default if value is None else value


class _StrictJWT(jwt.PyJWT):
    """PyJWT, with claims decoded like every other client JSON (strict, depth-bounded)."""

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        # The override point PyJWT documents for decoding payloads differently.
        try:
            payload = untrusted_json.loads(decoded["payload"])
        except untrusted_json.InvalidJson as exc:
            raise jwt.DecodeError(f"invalid payload: {exc}") from None
        if not isinstance(payload, dict):
            raise jwt.DecodeError("invalid payload: not a JSON object")
        return payload


_JWT = _StrictJWT(
    {"require": ["sub", "name", "room", "role", "exp"], "verify_exp": True, "verify_nbf": True,
     "verify_iat": True}
)


def load_public_key(path: Path) -> PublicKey:
    """A brand's token-signing key from a PEM file: RSA (RS256) or EC P-256 (ES256).
    Raises ValueError (OSError when the file cannot be read)."""
    key = load_pem_public_key(path.read_bytes())
    if isinstance(key, EllipticCurvePublicKey) and not isinstance(key.curve, SECP256R1):
        raise ValueError(f"{path}: an EC key must be on P-256 (ES256)")
    if not isinstance(key, RSAPublicKey | EllipticCurvePublicKey):
        raise ValueError(f"{path}: an RSA or EC P-256 public key is required")
    return key


class TokenAuthority:
    """Mints HS256 join tokens and verifies HS256 ones (and RS256/ES256 with a public key)."""

    def __init__(self, secret: str | None, *, public_key: PublicKey | None = None) -> None:
        self.required = secret is not None
        self._secret = secret if secret is not None else DEMO_SECRET
        self._public_key = public_key
        ec = isinstance(public_key, EllipticCurvePublicKey)
        self._public_algorithm = "ES256" if ec else "RS256"

    def mint(self, grant: Grant, *, now: float | None = None) -> str:
        """Sign ``grant`` into an HS256 JWT. Raises ValueError for a grant ``verify`` would
        refuse (an empty identity, a NaN expiry, ...)."""
        issued = time.time() if now is None else now
        claims = _Claims.model_validate({
            "sub": grant.identity,
            "name": grant.name,
            "room": grant.room,
            "role": grant.role,
            "exp": grant.exp,
            "nbf": issued,
            "iat": issued,
            "canPublish": grant.permissions.can_publish,
            "canSubscribe": grant.permissions.can_subscribe,
            "canModerate": grant.permissions.can_moderate,
        })
        payload = claims.model_dump(mode="json", by_alias=True)
        return _JWT.encode(payload, self._secret, algorithm=HMAC_ALGORITHM)

    def verify(self, token: str, *, room: str) -> Grant:
        """Check signature, time claims (with LEEWAY), every claim and the room; return the
        grant. Raises InvalidToken."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            # The key follows from the algorithm, never the other way round: an HS256 token is
            # never checked with the public key as its HMAC secret (RFC 8725 §2.1).
            if algorithm == HMAC_ALGORITHM:
                payload = _JWT.decode(
                    token, self._secret, algorithms=[HMAC_ALGORITHM], leeway=LEEWAY
                )
            elif self._public_key is not None and algorithm == self._public_algorithm:
                payload = _JWT.decode(
                    token, self._public_key, algorithms=[self._public_algorithm], leeway=LEEWAY
                )
            else:
                raise InvalidToken(f"token algorithm {algorithm!r} is not accepted")
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token not yet valid") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad token signature") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from None
        try:
            grant = _Claims.model_validate(payload).grant()
        except ValidationError:
            raise InvalidToken("malformed token claims") from None
        if grant.room != room:
            raise InvalidToken("token is for another room")
        return grant
