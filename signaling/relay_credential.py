"""Node credentials: what an edge node shows a live room's origin to relay its stage.

A short-lived HS256 JWT (RFC 7519) for one room whose audience (``aud``, RFC 7519 §4.1.3) is
``coshop:relay``: a join token has no audience, so neither passes for the other (PyJWT refuses a
token with an audience it was not told to expect, and one without the audience it expects). The
key is ``COSHOP_RELAY_SECRET`` (else ``COSHOP_SECRET``), which clients never hold: only nodes mint
these; in demo mode it is the public demo key, like everything else there.
"""

from __future__ import annotations

import time

import jwt

from signaling.auth import HMAC_ALGORITHM, LEEWAY, InvalidToken

RELAY_AUDIENCE = "coshop:relay"
#: Seconds a credential is good for: it is shown once, as the relay connects.
RELAY_CREDENTIAL_TTL = 60.0


class RelayCredentials:
    """Mints and checks node credentials with the cluster's shared key."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def mint(self, room_id: str, node_id: str, *, now: float | None = None) -> str:
        """A credential for node ``node_id`` to relay ``room_id``."""
        issued = time.time() if now is None else now
        claims = {
            "aud": RELAY_AUDIENCE,
            "sub": node_id,
            "room": room_id,
            "iat": issued,
            "exp": issued + RELAY_CREDENTIAL_TTL,
        }
        return jwt.encode(claims, self._secret, algorithm=HMAC_ALGORITHM)

    def verify(self, token: str, *, room_id: str) -> str:
        """The relaying node's id; raises InvalidToken (forged, expired, not a node
        credential, another room)."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[HMAC_ALGORITHM], audience=RELAY_AUDIENCE,
                leeway=LEEWAY, options={"require": ["aud", "sub", "room", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"not a node credential: {exc}") from None
        if claims.get("room") != room_id:
            raise InvalidToken("node credential is for another room")
        node_id = claims.get("sub")
        if not isinstance(node_id, str) or not node_id:
            raise InvalidToken("node credential names no node")
        return node_id
