"""Node credentials for edge relays: only nodes holding the relay key mint them."""

from __future__ import annotations

import time

import pytest

from rooms.models import Role
from signaling.auth import Grant, InvalidToken, TokenAuthority
from signaling.relay_credential import RELAY_CREDENTIAL_TTL, RelayCredentials

KEY = "a-cluster-relay-key-of-at-least-32-bytes"


def test_a_credential_names_its_node_for_its_room_only() -> None:
    creds = RelayCredentials(KEY)
    token = creds.mint("r1", "edge-1")
    assert creds.verify(token, room_id="r1") == "edge-1"
    with pytest.raises(InvalidToken, match="another room"):
        creds.verify(token, room_id="r2")


def test_forged_and_expired_credentials_are_refused() -> None:
    token = RelayCredentials("some-other-key-of-at-least-32-bytes!").mint("r1", "edge-1")
    with pytest.raises(InvalidToken):
        RelayCredentials(KEY).verify(token, room_id="r1")
    old = RelayCredentials(KEY).mint("r1", "edge-1", now=time.time() - RELAY_CREDENTIAL_TTL - 60)
    with pytest.raises(InvalidToken):
        RelayCredentials(KEY).verify(old, room_id="r1")


def test_join_tokens_and_node_credentials_never_pass_for_each_other() -> None:
    authority = TokenAuthority(KEY)
    join = authority.mint(Grant.of_role("r1", "mallory", "Mallory", Role.HOST, time.time() + 60))
    with pytest.raises(InvalidToken):
        RelayCredentials(KEY).verify(join, room_id="r1")  # a client's token is no credential
    credential = RelayCredentials(KEY).mint("r1", "edge-1")
    with pytest.raises(InvalidToken):
        authority.verify(credential, room="r1")
