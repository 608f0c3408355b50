"""The ICE servers a node hands its clients (``COSHOP_ICE_SERVERS``), with time-limited TURN
credentials in coturn's shared-secret scheme (``COSHOP_TURN_SECRET``).

coturn's ``use-auth-secret`` / ``static-auth-secret`` (the "TURN REST API" scheme): the
username is ``<expiry unix time>:<participant id>`` and the password is
``base64(HMAC-SHA1(secret, username))``; coturn recomputes it and refuses an expired username.
Sans-IO: the clock is an argument.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator


class IceServer(BaseModel):
    """One entry of ``COSHOP_ICE_SERVERS``, as in the browser's RTCIceServer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _ice_schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(f"{url!r}: not a stun:, stuns:, turn: or turns: URL")
        return urls

    @property
    def is_turn(self) -> bool:
        return any(u.startswith(("turn:", "turns:")) for u in self.urls)


_LIST: TypeAdapter[list[IceServer]] = TypeAdapter(list[IceServer])


def parse_ice_servers(text: str) -> list[IceServer]:
    """``COSHOP_ICE_SERVERS``: a JSON list of RTCIceServer objects (``urls`` a string or a
    list, optional ``username`` and ``credential``). Raises ValueError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    try:
        return _LIST.validate_python(data)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


def turn_credentials(secret: str, user: str, *, now: float, ttl: float) -> tuple[str, str]:
    """coturn shared-secret credentials for ``user`` valid ``ttl`` seconds from ``now``."""
    username = f"{int(now + ttl)}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(
    servers: list[IceServer], user: str, *, secret: str | None, now: float, ttl: float
) -> list[dict[str, Any]]:
    """What one participant is told: TURN entries without their own credentials get
    ``user``'s time-limited ones (with ``secret``); STUN entries are passed as they are."""
    out: list[dict[str, Any]] = []
    for server in servers:
        entry: dict[str, Any] = {"urls": list(server.urls)}
        username, credential = server.username, server.credential
        if server.is_turn and username is None and secret is not None:
            username, credential = turn_credentials(secret, user, now=now, ttl=ttl)
        if username is not None:
            entry["username"] = username
        if credential is not None:
            entry["credential"] = credential
        out.append(entry)
    return out
