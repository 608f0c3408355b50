"""Pre-encoded looping VP8 and Opus: encoded once, cached on disk, replayed by every peer.

No synthetic peer ever encodes at run time: aiortc's sender "pack" path only packetizes
the pre-encoded frames, so one core drives many peers.
"""

from __future__ import annotations

import fractions
import hashlib
import json
import math
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from av.filter import Graph

# Re-exported: callers take the presets and the media from one place.
from loadtest.presets import PRESETS as PRESETS
from loadtest.presets import VideoPreset as VideoPreset

VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000


# libvpx per-frame encoder flags (vpx/vp8cx.h), handed to FFmpeg's libvpx wrapper as the
# frame's "vp8-flags" metadata: the frame updates none of the three reference buffers (last,
# golden, altref) and keeps its probability updates to itself (RFC 6386 §9.7-9.11:
# refresh_golden_frame, refresh_alternate_frame, refresh_last, refresh_entropy_probs all 0).
_VP8_EFLAG_NO_UPD_LAST = 1 << 18
_VP8_EFLAG_NO_UPD_ENTROPY = 1 << 20
_VP8_EFLAG_NO_UPD_GF = 1 << 22
_VP8_EFLAG_NO_UPD_ARF = 1 << 23
_LEAVE_DECODER_STATE = (
    _VP8_EFLAG_NO_UPD_LAST | _VP8_EFLAG_NO_UPD_ENTROPY
    | _VP8_EFLAG_NO_UPD_GF | _VP8_EFLAG_NO_UPD_ARF
)


@dataclass(frozen=True, slots=True)
class EncodedLoop:
    """A keyframe and the loop of delta frames that follows it, in any number of rounds.

    Every delta frame is predicted from the keyframe alone and leaves the decoder's state
    (reference buffers, probability tables) as the keyframe left it, so a decoder is in the
    same state before every delta frame: the loop wraps seamlessly (the same pictures, bit
    for bit, every round) and the keyframe answers a PLI at any point of the loop, which
    then goes on where it was. ``deltas[-1]`` shows the keyframe's picture again.
    """

    keyframe: bytes
    deltas: tuple[bytes, ...]
    fps: int

    @property
    def bitrate(self) -> float:
        """Bits per second of the replay once started (the deltas, not the keyframe)."""
        return 8 * sum(len(f) for f in self.deltas) * self.fps / len(self.deltas)


_SWAY_PX = 24  # the picture sways this far either way, once per loop


def _texture(width: int, height: int, period: int) -> np.ndarray:
    """A smooth random texture, periodic every ``period`` columns, ``width + period`` wide."""
    rng = np.random.default_rng(1)
    base = rng.integers(40, 200, size=(height, period)).astype(np.uint16)
    base = ((base + np.roll(base, -1, axis=1)) // 2).astype(np.uint8)
    return np.tile(base, (1, -(-(width + period) // period)))


def _flagged(width: int, height: int, flags: int) -> Graph:
    """A filter graph that attaches libvpx encoder ``flags`` to every frame pushed through it."""
    graph = Graph()
    source = graph.add_buffer(
        width=width, height=height, format=av.VideoFormat("yuv420p"),
        time_base=fractions.Fraction(1, VIDEO_CLOCK),
    )
    tag = graph.add("metadata", f"mode=add:key=vp8-flags:value={flags}")
    sink = graph.add("buffersink")
    source.link_to(tag)
    tag.link_to(sink)
    graph.configure()
    return graph


BITRATE_TOLERANCE = 0.05
"""A loop's bitrate is within this share of its preset's label."""


def encode_video(preset: VideoPreset, seconds: float = 3.0) -> EncodedLoop:
    """Encode a swaying-texture loop once (the slow part; see ``cached_video``) at the preset's
    bitrate. libvpx's real-time rate control misses its target on this texture, so the target
    is corrected from what the previous encoding sent, up to 4 times: benchmarks' packets/s
    then match the stated load."""
    target = preset.encoder_target or preset.bitrate
    for _ in range(4):
        loop = _encode_video(preset, seconds, target)
        ratio = preset.bitrate / loop.bitrate
        if abs(ratio - 1) <= BITRATE_TOLERANCE:
            break
        target = round(target * ratio)
    return loop


def _encode_video(preset: VideoPreset, seconds: float, target: int) -> EncodedLoop:
    encoder = Vp8Encoder()
    encoder.target_bitrate = target
    n = int(seconds * preset.fps)
    tex = _texture(preset.width + 2 * _SWAY_PX, preset.height, 64)
    graph = _flagged(preset.width, preset.height, _LEAVE_DECODER_STATE)
    frames: list[bytes] = []
    for i in range(n + 1):
        # Frame n shows what frame 0 shows; frames stay near the keyframe's picture, which
        # predicts them all (a small motion vector each, so the deltas stay small).
        shift = _SWAY_PX + round(_SWAY_PX * math.sin(2 * math.pi * i / n))
        buf = np.empty((preset.height * 3 // 2, preset.width), np.uint8)
        buf[: preset.height] = tex[:, shift : shift + preset.width]
        buf[preset.height :] = 128
        frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
        frame.pts = i * (VIDEO_CLOCK // preset.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        if i > 0:
            graph.push(frame)
            tagged = graph.pull()
            assert isinstance(tagged, av.VideoFrame)
            frame = tagged
        payloads, _ = encoder.encode(frame, force_keyframe=i == 0)
        data = b"".join(vp8_depayload(p) for p in payloads)
        if is_keyframe(data) != (i == 0):
            raise RuntimeError(f"libvpx made frame {i} a {'key' if i else 'delta '}frame")
        frames.append(data)
    return EncodedLoop(frames[0], tuple(frames[1:]), preset.fps)


def is_keyframe(frame: bytes) -> bool:
    """A VP8 frame's P bit is clear on a keyframe (RFC 6386 §9.1)."""
    return bool(frame) and not frame[0] & 0x01


def encode_audio(seconds: float = 1.0, frequency: float = 440.0) -> tuple[bytes, ...]:
    """Opus packets of a sine tone, 20 ms each."""
    encoder = OpusEncoder()
    out: list[bytes] = []
    per = AUDIO_CLOCK // 50
    for i in range(int(seconds * 50) + 5):
        t = (np.arange(per) + i * per) / AUDIO_CLOCK
        data = (np.sin(2 * math.pi * frequency * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="mono")
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = i * per
        frame.time_base = fractions.Fraction(1, AUDIO_CLOCK)
        payloads, _ = encoder.encode(frame)
        out.extend(payloads)
    return tuple(out[-int(seconds * 50) :])


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "coshop-loadtest"


def cached_video(preset: VideoPreset, seconds: float = 3.0) -> EncodedLoop:
    """``encode_video`` once per machine; later runs load the frames from the cache."""
    key = json.dumps(
        [
            preset.name,
            preset.width,
            preset.height,
            preset.fps,
            preset.bitrate,
            preset.encoder_target,
            seconds,
            av.__version__,
            "loop-v4",  # bump when encode_video's output changes
        ]
    )
    path = cache_dir() / f"video-{hashlib.sha1(key.encode()).hexdigest()[:16]}.pickle"
    if path.exists():
        with path.open("rb") as f:
            loop: EncodedLoop = pickle.load(f)
        return loop
    loop = encode_video(preset, seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A per-process temporary name: several workers may fill an empty cache at once.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        pickle.dump(loop, f)
    tmp.replace(path)
    return loop
