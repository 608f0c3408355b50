"""The playout model (sans-IO): frames shown in order, when complete and due; a lost frame
holds back what follows until it is repaired or a keyframe comes; keyframe requests."""

from __future__ import annotations

from loadtest.nack import NackRequester
from loadtest.playout import KEYFRAME_REPEAT_S, MAX_WAIT_FOR_FRAME_S, VideoPlayout

CLOCK = 90000
STEP = CLOCK // 30


class Stream:
    """Frames of ``packets`` packets each, sent 1/30 s apart; a playout that logs shows."""

    def __init__(self, packets: int = 2) -> None:
        self.shown: list[tuple[int | None, float]] = []
        self.playout: VideoPlayout[int] = VideoPlayout(
            CLOCK, lambda t, at: self.shown.append((t, at)))
        self.packets = packets

    def frame(self, n: int, now: float, *, key: bool = False, skip: tuple[int, ...] = ()) -> None:
        for i in range(self.packets):
            if i in skip:
                continue
            self.send(n, i, now, key=key)

    def send(self, n: int, i: int, now: float, *, key: bool = False,
             retransmitted: bool = False) -> None:
        self.playout.on_packet(
            n * self.packets + i, n * STEP, marker=i == self.packets - 1, start=i == 0,
            keyframe=key and i == 0, tag=n, now=now, retransmitted=retransmitted,
        )


def test_a_clean_stream_is_shown_frame_by_frame_on_its_own_clock() -> None:
    s = Stream()
    for n in range(10):
        s.frame(n, 100 + n / 30 + (0.01 if n % 2 else 0), key=n == 0)  # arrival jitter
    assert [t for t, _ in s.shown] == list(range(10))
    # The jitter is absorbed: shown on the media clock (the fastest frame's pace), or late.
    gaps = [b - a for (_, a), (_, b) in zip(s.shown, s.shown[1:], strict=False)]
    assert max(gaps) < 1 / 30 + 0.011 and s.playout.frames_dropped == 0


def test_nothing_is_shown_before_a_keyframe() -> None:
    s = Stream()
    s.frame(0, 1.0)  # a delta frame first: not decodable
    assert s.shown == []
    s.frame(1, 1.04, key=True)
    assert [t for t, _ in s.shown] == [1] and s.playout.frames_dropped == 1


def test_a_repaired_frame_holds_back_the_next_and_they_show_late() -> None:
    s = Stream()
    s.frame(0, 0.0, key=True)
    s.frame(1, 1 / 30, skip=(1,))
    s.frame(2, 2 / 30)
    assert [t for t, _ in s.shown] == [0]  # frame 2 waits for frame 1
    s.send(1, 1, 0.3, retransmitted=True)  # the retransmission, 270 ms later
    assert [t for t, _ in s.shown] == [0, 1, 2]
    assert s.shown[1][1] == 0.3  # a 267 ms gap: a freeze by the W3C rule


def test_a_frame_that_never_comes_asks_for_a_keyframe_and_the_keyframe_jumps_ahead() -> None:
    s = Stream()
    nack = NackRequester()
    s.frame(0, 0.0, key=True)
    s.frame(1, 0.03, skip=(0,))
    s.frame(2, 0.06)
    assert not s.playout.keyframe_due(0.1, nack)
    # NACK gave up on the missing packet: nothing can repair frame 1 any more.
    nack.newest_given_up = 2
    assert s.playout.keyframe_due(1.0, nack)
    assert not s.playout.keyframe_due(1.0 + KEYFRAME_REPEAT_S / 2, nack)
    assert s.playout.keyframe_due(1.001 + KEYFRAME_REPEAT_S, nack)  # again while none comes
    s.frame(3, 1.3, key=True)
    assert [t for t, _ in s.shown] == [0, 3]
    assert s.playout.frames_dropped == 2  # frames 1 and 2 were never shown
    assert s.playout.keyframe_requests == 2


def test_a_stream_stuck_for_three_seconds_asks_for_a_keyframe() -> None:
    s = Stream()
    nack = NackRequester()
    s.frame(0, 0.0, key=True)
    s.frame(1, 0.03, skip=(1,))
    assert not s.playout.keyframe_due(0.03 + MAX_WAIT_FOR_FRAME_S / 2, nack)
    assert s.playout.keyframe_due(0.03 + MAX_WAIT_FOR_FRAME_S, nack)


def test_late_copies_of_shown_frames_change_nothing() -> None:
    s = Stream()
    s.frame(0, 0.0, key=True)
    s.frame(1, 0.03)
    s.send(1, 1, 0.2, retransmitted=True)  # a needless retransmission
    s.frame(2, 0.07)
    assert [t for t, _ in s.shown] == [0, 1, 2] and s.playout.stuck_since is None
