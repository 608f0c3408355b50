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
    encoder_target: int | None = None
    """The encoder's first target when not ``bitrate`` (media.encode_video corrects from there)."""


PRESETS: dict[str, VideoPreset] = {
    p.name: p
    for p in (
        VideoPreset("180p", 320, 180, 30, 300_000),
        VideoPreset("360p", 640, 360, 30, 800_000),
        # aiortc's VP8 encoder takes targets up to 1.5 Mbit/s, and 1.0 Mbit/s is what this
        # loop sends at 720p then. Lower targets are no way down: with every delta frame
        # predicted from the keyframe alone, a cheaper keyframe makes dearer deltas
        # (1.0 Mbit/s asked: 1.4 sent; 0.8 asked: 4.3 sent).
        VideoPreset("720p", 1280, 720, 30, 1_000_000, encoder_target=1_500_000),
    )
}
