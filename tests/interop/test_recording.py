"""Recording a room against a real ``coshop serve``: two real aiortc publishers of known colours
(each also sending a 440 Hz tone) are recorded for about 3 s through the HTTP API; PyAV then
opens each WebM file, decodes its VP8 video and Opus audio, and the test checks the colour,
the duration, the tone and the manifest."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
import pytest

from tests.interop.conftest import Server
from tests.interop.stranger import PALETTE, ColourTrack, Stranger, ToneTrack, nearest_colour
from tests.interop.waiting import until
from tests.interop.whip_client import WhipClient

SECRET = "recording-test-secret-32-bytes!!"
RED, GREEN, BLUE = 0, 1, 2
RECORD_FOR = 3.0


async def _call(
    server: Server, method: str, path: str, status: int, *, bearer: str = SECRET, **kw: Any
) -> Any:
    headers = {"Authorization": f"Bearer {bearer}"}
    async with aiohttp.ClientSession() as http, http.request(
        method, server.url + path, headers=headers, **kw
    ) as response:
        body = await response.json()
        assert response.status == status, body
        return body


def _decode(path: Path) -> tuple[list[tuple[float, int, bool]], np.ndarray]:
    """(time, nearest palette colour, keyframe) of every video frame; all audio samples."""
    frames: list[tuple[float, int, bool]] = []
    with av.open(str(path)) as container:
        assert container.format.name.startswith("matroska")  # webm is matroska's subset
        video = container.streams.video[0]
        assert video.codec_context.name == "vp8"
        for frame in container.decode(video):
            rgb = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
            assert frame.time is not None
            frames.append((frame.time, nearest_colour(tuple(rgb)), frame.key_frame))
    chunks = []
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "opus"
        for frame in container.decode(audio):
            chunks.append(frame.to_ndarray()[0])  # planar float: the first channel
    return frames, np.concatenate(chunks) if chunks else np.zeros(0)


def _dominant_hz(samples: np.ndarray, rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.timeout(90)
async def test_recording_writes_a_decodable_webm_per_publisher(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    directory = tmp_path / "recordings"
    server = serve(secret=SECRET, recording_dir=str(directory))
    await _call(server, "POST", "/api/rooms", 201, json={"id": "shop"})
    colours: dict[str, int] = {}
    people = []
    for name, colour in (("ann", RED), ("bob", BLUE)):
        token = (await _call(server, "POST", "/api/rooms/shop/tokens", 201,
                             json={"name": name, "identity": name}))["token"]
        person = Stranger(server.url, name, colour, tone=True,
                          colour_of=lambda pid: colours.get(pid))
        colours[name] = colour
        people.append((person, token))
    try:
        for person, token in people:
            await person.join("shop", extra={"token": token})
        ann, bob = people[0][0], people[1][0]
        await until(lambda: ann.right_frames("bob") > 10 and bob.right_frames("ann") > 10, 20,
                    "both publishers' media flows")
        started = await _call(server, "POST", "/api/rooms/shop/recording", 201)
        assert started["state"] == "recording" and started["room"] == "shop"
        # Already recording: refused, and the running one carries on.
        again = await _call(server, "POST", "/api/rooms/shop/recording", 409)
        assert again["error"]["code"] == "recording"
        began = time.monotonic()
        await asyncio.sleep(RECORD_FOR)  # the length of the recording, not a wait for state
        running = await _call(server, "GET", "/api/rooms/shop/recording", 200)
        assert running["publishers"] == ["ann", "bob"]
        # The room's host may stop it with a host token instead of the key; a guest may not.
        host = (await _call(server, "POST", "/api/rooms/shop/tokens", 201,
                            json={"name": "Boss", "role": "host"}))["token"]
        await _call(server, "DELETE", "/api/rooms/shop/recording", 401, bearer=people[0][1])
        manifest = await _call(server, "DELETE", "/api/rooms/shop/recording", 200, bearer=host)
        recorded_for = time.monotonic() - began
        await _call(server, "DELETE", "/api/rooms/shop/recording", 409)
    finally:
        for person, _ in people:
            await person.close()

    folder = directory / "shop" / manifest["id"]
    assert json.loads((folder / "manifest.json").read_text()) == manifest
    assert manifest["errors"] == [] and manifest["lost_to_queue"] == 0
    assert abs(manifest["duration"] - recorded_for) < 1.0
    by_owner = {f["participant_id"]: f for f in manifest["files"]}
    assert set(by_owner) == {"ann", "bob"}
    for owner, entry in by_owner.items():
        assert entry["file"] == f"{owner}.webm" and entry["skipped"] == {}
        video, audio = entry["tracks"]["video"], entry["tracks"]["audio"]
        assert (video["codec"], audio["codec"]) == ("vp8", "opus")
        assert (video["width"], video["height"]) == (160, 120)
        # The file starts at the keyframe asked for at the start (well within a second) and
        # runs to the stop: the manifest's timestamps are seconds since started_at.
        assert 0 <= video["first_pts"] < 1.0
        assert RECORD_FOR - 1.2 < video["last_pts"] - video["first_pts"] < recorded_for + 0.5
        assert 0 <= audio["first_pts"] < 1.0
        assert RECORD_FOR - 1.2 < audio["last_pts"] - audio["first_pts"] < recorded_for + 0.5
        assert entry["first_wall_time"] >= manifest["started_at"]

        frames, samples = _decode(folder / entry["file"])
        assert frames[0][2], "the file starts at a keyframe"
        assert len(frames) == video["frames"]
        span = frames[-1][0] - frames[0][0]
        assert abs(span - (video["last_pts"] - video["first_pts"])) < 0.05
        assert span > RECORD_FOR - 1.2
        # ~30 fps sent; a loaded machine may send fewer, but not a trickle.
        assert len(frames) > 10 * span
        wrong = [c for _, c, _ in frames if c != colours[owner]]
        assert not wrong, f"{owner}: {len(wrong)} of {len(frames)} not {PALETTE[colours[owner]]}"
        assert frames[0][0] == pytest.approx(video["first_pts"], abs=0.002)
        # Opus decodes to the publisher's 440 Hz tone, about as long as the video.
        assert len(samples) / 48000 > RECORD_FOR - 1.2
        # ToneTrack repeats one 20 ms frame of 440 Hz, so its spectrum is lines 50 Hz apart:
        # the strongest is 450 Hz (the same on the publisher's side: nothing was re-encoded).
        assert _dominant_hz(samples[48000 // 2:]) == pytest.approx(450, abs=2)
        assert np.sqrt(np.mean(samples[48000 // 2:] ** 2)) > 0.05


@pytest.mark.timeout(120)
async def test_a_live_stage_with_a_whip_encoder_is_recorded_until_the_room_empties(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    directory = tmp_path / "recordings"
    server = serve(secret=SECRET, recording_dir=str(directory))
    await _call(server, "POST", "/api/rooms", 201, json={"id": "show", "kind": "live"})

    async def token(identity: str, role: str) -> str:
        body = await _call(server, "POST", "/api/rooms/show/tokens", 201,
                           json={"name": identity, "identity": identity, "role": role})
        return str(body["token"])

    colours = {"cam": GREEN, "guest": RED, "late": BLUE}
    encoder = WhipClient(f"{server.url}/whip/show", await token("cam", "host"),
                         [ColourTrack(GREEN), ToneTrack()])
    guest = Stranger(server.url, "guest", RED, tone=True, colour_of=colours.get)
    late = Stranger(server.url, "late", BLUE, tone=True, colour_of=colours.get)
    try:
        await encoder.publish()  # the WHIP client's aiortc sends VP8: recordable
        await guest.join("show", extra={"token": await token("guest", "guest")})
        await until(lambda: guest.right_frames("cam") > 10, 20, "the WHIP video flows")
        started = await _call(server, "POST", "/api/rooms/show/recording", 201)
        await asyncio.sleep(1.0)  # recording before the late one comes on stage
        await late.join("show", extra={"token": await token("late", "guest")})
        await until(lambda: guest.right_frames("late") > 30, 20, "the late one's video flows")
        assert await encoder.stop() == 200
    finally:
        await encoder.close()
        await guest.close()
        await late.close()
    # Everyone left: the room's media closed, and the recording stopped with it.
    manifest_path = directory / "show" / started["id"] / "manifest.json"
    await until(manifest_path.exists, 15, "the manifest written when the room emptied")
    manifest = json.loads(manifest_path.read_text())
    by_owner = {f["participant_id"]: f for f in manifest["files"]}
    assert set(by_owner) == {"cam", "guest", "late"}
    assert by_owner["late"]["tracks"]["video"]["first_pts"] > 0.9
    for owner, entry in by_owner.items():
        frames, samples = _decode(directory / "show" / started["id"] / entry["file"])
        assert frames[0][2] and len(frames) > 15, owner
        assert all(c == colours[owner] for _, c, _ in frames), owner
        assert frames[0][0] == pytest.approx(entry["tracks"]["video"]["first_pts"], abs=0.002)
        assert len(samples) > 48000 // 2, owner
