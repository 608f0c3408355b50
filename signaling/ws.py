"""The WebSocket endpoints ``/ws`` and ``/rooms/{room_id}/ws``: one Session per socket."""

from __future__ import annotations

from functools import partial

from aiohttp import WSMsgType, web

from signaling.keys import NODE
from signaling.protocol import is_room_id
from signaling.session import Session


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Serve one participant's socket until it closes; the Session does the protocol."""
    node = request.app[NODE]
    fixed_room = request.match_info.get("room_id")
    if fixed_room is not None and not is_room_id(fixed_room):
        raise web.HTTPNotFound(text="invalid room id")
    ws = web.WebSocketResponse(
        heartbeat=node.settings.ws_heartbeat, max_msg_size=node.settings.max_message_bytes
    )
    await ws.prepare(request)
    session = Session(
        node,
        ws,
        abort=partial(_abort, request),
        fixed_room=fixed_room,
        remote=request.remote or "?",
    )
    node.counters.ws_opened += 1
    session.start()
    reason = "client closed the socket"
    try:
        async for frame in ws:
            if frame.type is WSMsgType.TEXT:
                session.receive(frame.data)
            elif frame.type is WSMsgType.BINARY:
                session.receive_invalid("binary frames are not part of the protocol")
        if ws.exception() is not None:
            reason = f"socket error: {ws.exception()!r}"
        elif ws.close_code not in (None, 1000, 1001):
            reason = f"{reason} (code {ws.close_code})"
    finally:
        # Also on cancellation (aiohttp may cancel the handler when the peer vanishes): the
        # session's own task finishes the leave either way.
        await session.close(reason)
    return ws


def _abort(request: web.Request) -> None:
    """Drop the TCP connection now (no close handshake): pending writes fail at once."""
    if request.transport is not None:
        request.transport.abort()
