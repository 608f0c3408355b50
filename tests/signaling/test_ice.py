"""COSHOP_ICE_SERVERS and coturn shared-secret TURN credentials, handed out in ``joined``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable

import pytest

from signaling import Settings
from signaling.ice import ice_servers_for, parse_ice_servers, turn_credentials
from signaling.settings import SettingsError
from tests.signaling.conftest import Client
from tests.signaling.wsclient import WsClient

SERVERS = (
    '[{"urls": "stun:stun.example.com:3478"},'
    ' {"urls": ["turn:turn.example.com:3478?transport=udp",'
    ' "turn:turn.example.com:3478?transport=tcp"]},'
    ' {"urls": "turns:fixed.example.com:5349", "username": "u", "credential": "p"}]'
)


def test_credentials_are_coturns_rest_scheme() -> None:
    username, password = turn_credentials("s3cret", "ann", now=1000.0, ttl=60)
    assert username == "1060:ann"
    expected = hmac.new(b"s3cret", b"1060:ann", hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


def test_turn_entries_without_credentials_get_the_participants_own() -> None:
    servers = parse_ice_servers(SERVERS)
    out = ice_servers_for(servers, "ann", secret="k", now=100.0, ttl=10)
    assert out[0] == {"urls": ["stun:stun.example.com:3478"]}
    assert out[1]["username"] == "110:ann" and out[1]["credential"]
    assert out[2] == {"urls": ["turns:fixed.example.com:5349"], "username": "u",
                      "credential": "p"}
    # Without a secret a TURN entry is passed as configured.
    assert "username" not in ice_servers_for(servers, "ann", secret=None, now=0, ttl=1)[1]


@pytest.mark.parametrize("bad", ["not json", '{"urls": "stun:x"}', '[{"urls": "http://x"}]',
                                 '[{"urls": []}]', '[{"url": "stun:x"}]'])
def test_bad_ice_servers_are_refused_at_start_up(bad: str) -> None:
    with pytest.raises(SettingsError, match="COSHOP_ICE_SERVERS"):
        Settings.from_env({"COSHOP_ICE_SERVERS": bad})


async def test_joined_carries_the_ice_servers_with_credentials(
    make_client: Callable[[Settings], Awaitable[Client]],
) -> None:
    client = await make_client(Settings(port=0, ice_servers=SERVERS, turn_secret="k",
                                        turn_ttl=600))
    ws = WsClient(await client.ws_connect("/ws"))
    try:
        joined = await ws.join("ice", "ann")
        servers = joined.ice_servers
        assert [s.urls[0] for s in servers] == [
            "stun:stun.example.com:3478", "turn:turn.example.com:3478?transport=udp",
            "turns:fixed.example.com:5349"]
        expiry, user = servers[1].username.split(":")
        assert user == joined.you.id and abs(int(expiry) - (time.time() + 600)) < 5
        assert servers[1].credential == turn_credentials(
            "k", joined.you.id, now=int(expiry) - 600, ttl=600)[1]
    finally:
        await ws.close()
