"""The pre-encoded loop through a real VP8 decoder (libvpx): seamless at the wrap, a keyframe
only first and on request, the same pictures bit for bit every round."""

from __future__ import annotations

import av
import numpy as np
import pytest

from loadtest.media import PRESETS, EncodedLoop, encode_video, is_keyframe
from loadtest.peer import ReplayVideoTrack
from loadtest.stamp import read_stamp


@pytest.fixture(scope="module")
def loop() -> EncodedLoop:
    return encode_video(PRESETS["180p"], seconds=1.0)


def decode(frames: list[bytes]) -> list[np.ndarray]:
    """Each frame through one libvpx decoder, in order; an error raises (av.InvalidDataError)."""
    decoder = av.CodecContext.create("libvpx", "r")
    pictures = []
    for data in frames:
        decoded = decoder.decode(av.Packet(data))
        assert len(decoded) == 1, "the decoder gave no picture for a frame"
        pictures.append(decoded[0].to_ndarray())
    return pictures


def test_one_keyframe_then_deltas_near_the_target_bitrate(loop: EncodedLoop) -> None:
    assert is_keyframe(loop.keyframe)
    assert not any(is_keyframe(d) for d in loop.deltas)
    assert len(loop.deltas) == 30
    assert 0.3 * 300_000 < loop.bitrate < 1.5 * 300_000


async def test_every_round_of_the_loop_decodes_to_the_same_pictures(loop: EncodedLoop) -> None:
    n = len(loop.deltas)
    track = ReplayVideoTrack(loop, publisher=4)
    track._period = 0.0  # as fast as the test can take them
    sent = [bytes(await track.recv()) for _ in range(1 + 4 * n)]
    # The stamp rides at the end of every frame: the decoder ignores it.
    assert [read_stamp(f).frame for f in sent] == list(range(1 + 4 * n))  # type: ignore[union-attr]
    pictures = decode(sent)
    # The decoder's state before every delta is the keyframe's, so a round decodes exactly
    # as the first did: nothing drifts or breaks at the wrap, however many rounds go by.
    for k in range(1, 1 + 3 * n):
        assert np.array_equal(pictures[k], pictures[k + n]), f"frame {k} differs a round later"
    # The last delta shows the keyframe's picture: the wrap does not jump either.
    assert np.abs(pictures[n].astype(int) - pictures[0].astype(int)).mean() < 3
    # And the loop does move.
    assert np.abs(pictures[n // 4].astype(int) - pictures[0].astype(int)).mean() > 10


async def test_a_keyframe_on_request_and_the_loop_goes_on_decoding(loop: EncodedLoop) -> None:
    n = len(loop.deltas)
    track = ReplayVideoTrack(loop, publisher=4)
    track._period = 0.0
    first = [bytes(await track.recv()) for _ in range(n // 2)]
    track.request_keyframe()
    after = [bytes(await track.recv()) for _ in range(n)]
    assert is_keyframe(after[0]) and not any(is_keyframe(f) for f in after[1:] + first[1:])
    reference = decode([loop.keyframe, *loop.deltas])
    pictures = decode(first + after)
    # After the keyframe, the deltas decode to what they always do (from where the loop was).
    for j, picture in enumerate(pictures[n // 2 + 1 :]):
        assert np.array_equal(picture, reference[1 + (n // 2 - 1 + j) % n])
    # A decoder that joins at the requested keyframe decodes the same as one there all along.
    late = decode(after)
    assert all(np.array_equal(a, b) for a, b in zip(late[1:], pictures[n // 2 + 1 :], strict=True))
