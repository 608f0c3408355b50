"""Video size/bitrate presets of synthetic publishers (no media imports, so scenarios load fast)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VideoPreset:
    """A video size/bitrate preset for synthetic publishers."""

    name: str
    width: int
    height: int
    fps: int
    bitrate: int
    """Bits per second the replayed loop sends (tests/loadtest/test_presets.py measures it)."""


PRESETS: dict[str, VideoPreset] = {
    p.name: p
    for p in (
        VideoPreset("180p", 320, 180, 30, 300_000),
        VideoPreset("360p", 640, 360, 30, 800_000),
        # aiortc's VP8 encoder takes targets up to 1.5 Mbit/s, which this loop's texture
        # undershoots (media.encode_video): 1.15 Mbit/s is what 720p really sends.
        VideoPreset("720p", 1280, 720, 30, 1_150_000),
    )
}
