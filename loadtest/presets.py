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


PRESETS: dict[str, VideoPreset] = {
    p.name: p
    for p in (
        VideoPreset("180p", 320, 180, 30, 300_000),
        VideoPreset("360p", 640, 360, 30, 800_000),
        VideoPreset("720p", 1280, 720, 30, 1_500_000),
    )
}
