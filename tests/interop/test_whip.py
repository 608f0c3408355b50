"""WHIP ingest (RFC 9725) against a real ``coshop serve``: a WHIP client written from the RFC
publishes a coloured video and a tone; a room participant (the stranger client) sees it join,
decodes its video in the right colour and its audio; DELETE takes it out of the room."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest

from tests.interop.conftest import Server
from tests.interop.stranger import ColourTrack, Stranger, ToneTrack
from tests.interop.waiting import health, until
from tests.interop.whip_client import WhipClient, WhipRefused

SECRET = "whip-test-secret-of-32-bytes-ok!"
API = {"Authorization": f"Bearer {SECRET}"}
BLUE = 2  # stranger.PALETTE index


async def _post(server: Server, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(
        server.url + path, json=body, headers=API
    ) as response:
        assert response.status in (200, 201), await response.text()
        out: dict[str, Any] = await response.json()
        return out


async def _token(server: Server, room: str, name: str, role: str, **extra: Any) -> str:
    body = await _post(server, f"/api/rooms/{room}/tokens", {"name": name, "role": role, **extra})
    token: str = body["token"]
    return token


@pytest.mark.timeout(90)
async def test_whip_stream_is_a_publisher_on_the_stage(serve: Callable[..., Server]) -> None:
    server = serve(secret=SECRET)
    await _post(server, "/api/rooms", {"id": "launch", "kind": "live"})
    viewer_token = await _token(server, "launch", "Fan", "viewer")
    whip_token = await _token(server, "launch", "Brand cam", "host", identity="brandcam")
    fan = Stranger(server.url, "Fan", None, role="viewer",
                   colour_of=lambda pid: BLUE if pid == "brandcam" else None)
    encoder = WhipClient(f"{server.url}/whip/launch?name=Studio", whip_token,
                         [ColourTrack(BLUE), ToneTrack()])
    again: WhipClient | None = None
    try:
        await fan.join("launch", extra={"token": viewer_token})
        await encoder.publish()
        assert encoder.resource is not None and "/whip/launch/" in encoder.resource
        assert encoder.answer is not None and "a=recvonly" in encoder.answer
        assert "a=candidate:" in encoder.answer, encoder.answer  # full gathering: no trickle
        await until(lambda: "brandcam" in fan.participants, 10, "the WHIP publisher joined")
        assert fan.participants["brandcam"]["name"] == "Studio"
        assert fan.participants["brandcam"]["role"] == "host"
        await until(lambda: fan.right_frames("brandcam") >= 30, 30,
                    "the fan decodes the WHIP video in its colour")
        got = fan.received["brandcam"]
        assert got.wrong_colour <= 2, got  # a first frame may be grey before the keyframe
        await until(lambda: fan.audio_frames.get("brandcam", 0) >= 25, 15,
                    "the fan decodes the WHIP audio")
        assert await encoder.stop() == 200
        await until(lambda: "brandcam" not in fan.participants, 10, "DELETE made it leave")
        left = fan.last("participant_left")
        assert left is not None and left["participant_id"] == "brandcam"
        # The session is gone: a second DELETE finds nothing.
        assert await encoder.stop() == 404
        # A moderator taking an encoder (a guest's) off the stage ends its session too.
        guest_token = await _token(server, "launch", "Guest cam", "guest", identity="guestcam")
        again = WhipClient(f"{server.url}/whip/launch", guest_token,
                           [ColourTrack(BLUE), ToneTrack()])
        await again.publish()
        await until(lambda: "guestcam" in fan.participants, 10, "on the stage")
        async with aiohttp.ClientSession() as http, http.delete(
            f"{server.url}/api/rooms/launch/participants/guestcam", headers=API
        ) as response:
            assert response.status == 200
        await until(lambda: "guestcam" not in fan.participants, 10, "removed")
        # Its session ended with it: the node holds the fan's connection only.
        deadline = time.monotonic() + 10
        while (await health(server))["peers"] != 1:
            assert time.monotonic() < deadline, "the removed encoder's connection stays"
            await asyncio.sleep(0.05)
        assert await again.stop() == 404
    finally:
        await encoder.close()
        await fan.close()
        if again is not None:
            await again.close()


@pytest.mark.timeout(90)
async def test_whip_refusals(serve: Callable[..., Server]) -> None:
    server = serve(secret=SECRET)
    await _post(server, "/api/rooms", {"id": "small", "capacity": 1})
    host = await _token(server, "small", "Cam", "host", identity="cam")
    viewer = await _token(server, "small", "Fan", "viewer")
    nowhere = await _token(server, "nosuchroom", "Cam", "host")
    endpoint = f"{server.url}/whip/small"

    async def refused(token: str | None, *, url: str = endpoint, **kwargs: Any) -> WhipRefused:
        client = WhipClient(url, token, [ColourTrack(BLUE)])
        try:
            with pytest.raises(WhipRefused) as caught:
                await client.publish(**kwargs)
            return caught.value
        finally:
            await client.close()

    no_token = await refused(None)
    assert no_token.status == 401 and no_token.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await refused("not-a-jwt")).status == 401
    assert (await refused(await _token(server, "other", "Cam", "host"))).status == 401
    assert (await refused(viewer)).status == 403
    assert (await refused(host, content_type="application/json")).status == 415
    assert (await refused(nowhere, url=f"{server.url}/whip/nosuchroom")).status == 404
    assert (await refused(host, offer_sdp="v=0\r\nnot sdp at all\r\n")).status == 400
    bad = await refused(host, offer_sdp="v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
    assert bad.status == 400 and "bad_sdp" in bad.body
    # Browsers need the preflight and the exposed Location (RFC 9725 §4.2).
    async with aiohttp.ClientSession() as http, http.options(endpoint, headers={
        "Origin": "https://studio.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        assert response.headers["Accept-Post"] == "application/sdp"
    # The stage is full (capacity 1): the encoder is told to come back later (RFC 9725 §4.5).
    sitter = Stranger(server.url, "Sitter", 0)
    encoder = WhipClient(endpoint, host, [ColourTrack(BLUE), ToneTrack()])
    try:
        await sitter.join("small", extra={"token": await _token(server, "small", "S", "guest")})
        full = await refused(host)
        assert full.status == 503 and full.headers["Retry-After"].isdigit()
        assert full.headers["Access-Control-Allow-Origin"] == "*"
        await sitter.close()
        await _wait_empty(server, "small")
        await encoder.publish()
        assert "Location" in full.headers["Access-Control-Expose-Headers"]
        # No trickle ICE nor ICE restart: PATCH is not allowed on the session.
        trickle = {"Authorization": f"Bearer {host}",
                   "Content-Type": "application/trickle-ice-sdpfrag"}
        async with aiohttp.ClientSession() as http, http.patch(
            encoder.resource or "", data=b"a=end-of-candidates\r\n", headers=trickle
        ) as response:
            assert response.status == 405
            assert "DELETE" in response.headers["Allow"]
        # Only who started it (or a moderator) may end it.
        other = await _token(server, "small", "Other", "guest", identity="other")
        assert await encoder.stop(token=other) == 403
        assert await encoder.stop() == 200
    finally:
        await encoder.close()
        await sitter.close()


async def _wait_empty(server: Server, room: str) -> None:
    deadline = time.monotonic() + 10
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(f"{server.url}/api/rooms/{room}", headers=API) as response:
                if (await response.json())["participant_count"] == 0:
                    return
            assert time.monotonic() < deadline, f"room {room} did not empty"
            await asyncio.sleep(0.1)


@pytest.mark.timeout(90)
async def test_an_obs_shaped_stream_h264_and_opus(serve: Callable[..., Server],
                                                  tmp_path: Path) -> None:
    """OBS sends H.264 and Opus: forwarded as they come (subscribers decode H.264); a
    recording (WebM: VP8 + Opus) keeps its audio and says the video was skipped."""
    server = serve(secret=SECRET, recording_dir=str(tmp_path / "rec"))
    await _post(server, "/api/rooms", {"id": "obs", "kind": "live"})
    fan = Stranger(server.url, "Fan", None, role="viewer",
                   colour_of=lambda pid: BLUE if pid == "obs" else None)
    encoder = WhipClient(f"{server.url}/whip/obs", await _token(server, "obs", "OBS", "host",
                                                                   identity="obs"),
                         [ColourTrack(BLUE), ToneTrack()], video_codec="video/H264")
    try:
        await fan.join("obs", extra={"token": await _token(server, "obs", "Fan", "viewer")})
        await encoder.publish()
        assert encoder.answer is not None and "H264/90000" in encoder.answer
        assert "VP8/90000" not in encoder.answer
        await until(lambda: fan.right_frames("obs") >= 20, 30, "the fan decodes the H.264")
        await until(lambda: fan.audio_frames.get("obs", 0) >= 25, 15, "and the audio")
        await _post(server, "/api/rooms/obs/recording", {})
        await asyncio.sleep(2.0)  # the recording's length
        async with aiohttp.ClientSession() as http, http.delete(
            f"{server.url}/api/rooms/obs/recording", headers=API
        ) as response:
            manifest = await response.json()
            assert response.status == 200, manifest
        (entry,) = manifest["files"]
        assert entry["skipped"] == {"video": "h264"}
        assert list(entry["tracks"]) == ["audio"] and entry["tracks"]["audio"]["frames"] > 25
        path = tmp_path / "rec" / "obs" / manifest["id"] / entry["file"]
        with av.open(str(path)) as container:
            assert not container.streams.video
            assert sum(1 for _ in container.decode(audio=0)) > 25
        assert await encoder.stop() == 200
    finally:
        await encoder.close()
        await fan.close()
    # A node that does not take H.264 refuses an H.264-only offer: 400 bad_sdp.
    strict = serve(secret=SECRET, allow_h264="false")
    await _post(strict, "/api/rooms", {"id": "vp8only"})
    refused = WhipClient(f"{strict.url}/whip/vp8only",
                         await _token(strict, "vp8only", "OBS", "host"),
                         [ColourTrack(BLUE), ToneTrack()], video_codec="video/H264")
    try:
        with pytest.raises(WhipRefused) as caught:
            await refused.publish()
        assert caught.value.status == 400 and "bad_sdp" in caught.value.body
    finally:
        await refused.close()
