"""sfu.pc_close: a cancelled close never breaks aiortc's own close of the same connection."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection

from sfu.pc_close import close_peer_connection


async def _cancelled_while_aiortc_closes(close: object) -> None:
    pc = RTCPeerConnection()
    pc.addTransceiver("video")
    await pc.setLocalDescription(await pc.createOffer())
    own = asyncio.ensure_future(pc.close())  # what aiortc starts when DTLS ends
    await asyncio.sleep(0)
    ours = asyncio.ensure_future(close(pc))  # type: ignore[operator]
    await asyncio.sleep(0)
    ours.cancel()
    await asyncio.gather(ours, return_exceptions=True)
    await own  # raises InvalidStateError if our cancellation reached the shared future
    assert pc.connectionState == "closed"


async def test_cancelling_the_sfus_close_leaves_aiortcs_close_to_finish() -> None:
    await _cancelled_while_aiortc_closes(close_peer_connection)


async def test_the_unshielded_close_is_what_broke() -> None:
    """The failure the shield prevents, reproduced with a bare ``pc.close()``."""
    with pytest.raises(asyncio.InvalidStateError):
        await _cancelled_while_aiortc_closes(lambda pc: pc.close())
