"""HMAC-SHA256 signed join tokens: ``base64url(json payload) "." base64url(signature)``.

A token grants one identity a role in one room until ``exp`` (Unix seconds). With a secret set
(production mode) joining requires a valid token for that room; in demo mode tokens are optional
and signed with a well-known demo key, so any node of a demo cluster can check them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rooms import validation
from rooms.models import Role
from signaling import untrusted_json

DEMO_SECRET = "coshop-demo-mode-not-secret"


class InvalidToken(Exception):
    """The token is malformed, forged, expired or for another room."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token allows: ``identity`` joins ``room`` as ``role`` (shown as ``name``)."""

    room: str
    identity: str
    name: str
    role: Role
    exp: float


_Id = Annotated[str, Field(strict=True, pattern=f"^{validation.ROOM_ID_PATTERN.pattern}$")]


class _Payload(BaseModel):
    """A token's payload as signed: every field checked, so a forged demo-mode token (the demo
    key is public) can claim nothing a minted one could not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    room: _Id
    identity: _Id
    name: Annotated[str, Field(strict=True, min_length=1, max_length=64)]
    role: Role
    # NaN compares false with everything and Infinity is never reached: neither ever expires.
    exp: Annotated[float, Field(strict=True, allow_inf_nan=False)]

    def grant(self) -> Grant:
        return Grant(self.room, self.identity, self.name, self.role, self.exp)


class TokenAuthority:
    """Mints and verifies join tokens with one HMAC key."""

    def __init__(self, secret: str | None) -> None:
        self.required = secret is not None
        self._key = (secret if secret is not None else DEMO_SECRET).encode()

    def mint(self, grant: Grant) -> str:
        """Sign ``grant`` into a token string. Raises ValueError for a grant ``verify`` would
        refuse (an empty identity, a NaN expiry, ...)."""
        payload = _Payload.model_validate(asdict(grant)).model_dump(mode="json")
        body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{_b64encode(self._sign(body))}"

    def verify(self, token: str, *, room: str, now: float | None = None) -> Grant:
        """Check signature, expiry and room; return the grant. Raises InvalidToken."""
        body, dot, sig = token.partition(".")
        if not dot or not body or not sig:
            raise InvalidToken("malformed token")
        try:
            signature = _b64decode(sig)
        except ValueError:
            raise InvalidToken("malformed token signature") from None
        if not hmac.compare_digest(signature, self._sign(body)):
            raise InvalidToken("bad token signature")
        try:
            grant = _Payload.model_validate(untrusted_json.loads(_b64decode(body))).grant()
        except (ValueError, ValidationError):
            raise InvalidToken("malformed token payload") from None
        if grant.exp <= (time.time() if now is None else now):
            raise InvalidToken("token expired")
        if grant.room != room:
            raise InvalidToken("token is for another room")
        return grant

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode(), hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(str(exc)) from None
