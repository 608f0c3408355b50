"""Each video preset's pre-encoded loop really sends the bitrate its label states."""

from __future__ import annotations

import pytest

from loadtest.media import BITRATE_TOLERANCE, encode_video
from loadtest.presets import PRESETS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_loop_sends_the_labelled_bitrate(name: str) -> None:
    preset = PRESETS[name]
    loop = encode_video(preset)
    # Once started (the loop wraps on a delta frame, keyframes only on request).
    assert abs(loop.bitrate / preset.bitrate - 1) <= BITRATE_TOLERANCE, (
        f"{name}: labelled {preset.bitrate / 1e6:.2f} Mbit/s, sends {loop.bitrate / 1e6:.2f}")
