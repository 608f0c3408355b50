"""The WebSocket endpoints ``/ws`` and ``/rooms/{room_id}/ws``: one Session per socket."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial

from aiohttp import WSMsgType, web

from signaling.keys import NODE
from signaling.liveness import Due, Liveness
from signaling.protocol import is_room_id
from signaling.session import Session


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Serve one participant's socket until it closes; the Session does the protocol."""
    node = request.app[NODE]
    fixed_room = request.match_info.get("room_id")
    if fixed_room is not None and not is_room_id(fixed_room):
        raise web.HTTPNotFound(text="invalid room id")
    # Pings and pongs are handled here (see signaling/liveness.py), not by aiohttp.
    ws = web.WebSocketResponse(autoping=False, max_msg_size=node.settings.max_message_bytes)
    await ws.prepare(request)
    loop = asyncio.get_running_loop()
    liveness = Liveness(
        interval=node.settings.ws_heartbeat, timeout=node.settings.ws_timeout, now=loop.time()
    )
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
    watchdog = asyncio.create_task(_watch(ws, liveness, request), name="ws-liveness")
    try:
        async for frame in ws:
            liveness.heard(loop.time())
            if frame.type is WSMsgType.TEXT:
                session.receive(frame.data)
            elif frame.type is WSMsgType.PING:
                await ws.pong(frame.data)
            elif frame.type is WSMsgType.BINARY:
                session.receive_invalid("binary frames are not part of the protocol")
        if watchdog.done() and not watchdog.cancelled():
            reason = f"nothing from the client for {liveness.timeout:g} s"
        elif ws.exception() is not None:
            reason = f"socket error: {ws.exception()!r}"
        elif ws.close_code not in (None, 1000, 1001):
            reason = f"{reason} (code {ws.close_code})"
    finally:
        watchdog.cancel()
        # Also on cancellation (aiohttp may cancel the handler when the peer vanishes): the
        # session's own task finishes the leave either way.
        await session.close(reason)
        await asyncio.wait([watchdog])  # never raises: the watchdog is owned to its end
    return ws


async def _watch(ws: web.WebSocketResponse, liveness: Liveness, request: web.Request) -> None:
    """Ping a silent client; drop its connection once it has been silent too long."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(liveness.next_check(loop.time()))
        due = liveness.due(loop.time())
        if due is Due.DROP:
            _abort(request)  # the receive loop then ends, and the session with it
            return
        if due is Due.PING:
            liveness.pinged(loop.time())
            with contextlib.suppress(ConnectionError):
                await ws.ping()


def _abort(request: web.Request) -> None:
    """Drop the TCP connection now (no close handshake): pending writes fail at once."""
    if request.transport is not None:
        request.transport.abort()
