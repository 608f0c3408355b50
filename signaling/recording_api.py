"""``/api/rooms/{room_id}/recording``: start, read and stop a room's recording (sfu.recording).

The HTTP API acts for the brand (its bearer key, as every /api route); a recording covers
the room's media on this node, where the room is pinned.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from rooms.errors import NotInRoom
from sfu import MediaRoom
from sfu.errors import RecordingConflict
from signaling.api import api_error
from signaling.http_models import RecordingManifest, RecordingStatus
from signaling.keys import NODE
from signaling.protocol import ErrorCode, is_room_id

routes = web.RouteTableDef()


def _media_room(request: web.Request) -> MediaRoom:
    room_id = request.match_info["room_id"]
    media = request.app[NODE].sfu.get_room(room_id) if is_room_id(room_id) else None
    if media is None:
        raise NotInRoom(f"nobody is in room {room_id!r} on this node: nothing to record")
    return media


def _json(model: RecordingStatus, status: int = 200) -> web.Response:
    return web.json_response(model.model_dump(mode="json", exclude_unset=True), status=status)


@routes.post("/api/rooms/{room_id}/recording")
async def start(request: web.Request) -> web.Response:
    """Start recording the room's publishers."""
    media = _media_room(request)
    recording_id = time_id()
    try:
        recording = media.start_recording(recording_id, request.app[NODE].settings.recording_dir)
    except OSError as exc:
        return api_error(ErrorCode.INTERNAL, f"the recording directory is not writable: {exc}")
    return _json(RecordingStatus.model_validate(recording.status()), 201)


@routes.get("/api/rooms/{room_id}/recording")
async def status(request: web.Request) -> web.Response:
    """The running recording."""
    media = _media_room(request)
    if media.recording is None:
        raise RecordingConflict(f"room {media.room_id} is not being recorded")
    return _json(RecordingStatus.model_validate(media.recording.status()))


@routes.delete("/api/rooms/{room_id}/recording")
async def stop(request: web.Request) -> web.Response:
    """Stop the recording; its manifest."""
    manifest: dict[str, Any] = await _media_room(request).stop_recording()
    return _json(RecordingManifest.model_validate(manifest))


def time_id() -> str:
    """A recording id that sorts by start time and does not collide."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)
