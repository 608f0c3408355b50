"""A host's mute with real media (aiortc peers answering over the socket): the muted camera is
no longer forwarded, whatever its client does, until it says the camera is on again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from signaling.keys import NODE
from tests.helpers import wait_for
from tests.participant import Participant
from tests.signaling.conftest import Client
from tests.signaling.wsclient import WsClient

pytestmark = pytest.mark.media

Connect = Callable[..., Awaitable[WsClient]]



async def test_a_muted_camera_is_not_forwarded_until_it_is_on_again(
    client: Client, participants: Callable[..., Awaitable[Participant]]
) -> None:
    created = await client.post("/api/rooms", json={"id": "show", "kind": "live"})
    assert created.status == 201
    minted = await client.post("/api/rooms/show/tokens", json={"name": "hana", "role": "host"})
    host_token = (await minted.json())["token"]
    host, guest = await participants("hana", 0), await participants("gus", 1)
    viewer = await participants("vic", 2, publish=False)
    await host.join("show", token=host_token)
    await guest.join("show")
    await viewer.join("show", role="viewer")
    await wait_for(lambda: viewer.peer.video_from(guest.id).frames > 5, timeout=20,
                   message="the viewer decodes the guest")

    def paused_at(who: Participant) -> bool:
        media = client.app[NODE].sfu.get_room("show")
        assert media is not None
        peer = media.peers[who.id]
        [video] = [s for s in peer.subscriptions
                   if s.source == guest.id and s.forwarder.kind == "video"]
        return video.forwarder.paused

    assert not paused_at(viewer) and not paused_at(host)
    # The guest's client ignores the mute and keeps sending: the server stops forwarding.
    await host.ws.send({"type": "mute", "participant_id": guest.id, "kind": "video"})
    await wait_for(lambda: paused_at(viewer) and paused_at(host), timeout=10,
                   message="the muted camera is still forwarded")
    # Its camera on again (its own media_state): forwarded again, from a keyframe.
    await guest.ws.send({"type": "media_state", "audio": True, "video": True})
    await wait_for(lambda: not paused_at(viewer) and not paused_at(host), timeout=10)
    before = viewer.peer.video_from(guest.id).frames
    await wait_for(lambda: viewer.peer.video_from(guest.id).frames > before + 5, timeout=20,
                   message="the guest's video did not come back")
    assert host.errors == guest.errors == viewer.errors == []
