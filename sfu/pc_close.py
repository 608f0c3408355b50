"""Closing an aiortc RTCPeerConnection from code that may itself be cancelled.

aiortc closes a connection on its own when DTLS ends (a task running ``close()``), and a
second ``close()`` awaits the first one's future directly. If that second caller is cancelled
(a shutdown cancelling the SFU's tasks), the shared future is cancelled with it and aiortc's
own close task dies with ``InvalidStateError`` ("Task exception was never retrieved").
"""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection


async def close_peer_connection(pc: RTCPeerConnection) -> None:
    """``pc.close()``, shielded: cancelling the caller leaves the close (and its shared
    future) to finish on its own, within milliseconds."""
    await asyncio.shield(pc.close())
