"""SpeakerDetector: RFC 6464 levels in, the active speaker out, with hysteresis."""

from __future__ import annotations

from sfu.speaker import SpeakerDetector


def feed(d: SpeakerDetector, levels: dict[str, int | None], start: float, seconds: float,
         step: float = 0.1) -> float:
    t = start
    while t < start + seconds:
        for who, level in levels.items():
            d.sample(who, level, t)
        d.decide(t)
        t += step
    return t


def test_nobody_speaks_until_someone_is_louder_than_silence() -> None:
    d = SpeakerDetector()
    feed(d, {"a": 127, "b": None}, 0, 2)
    assert d.speaker is None


def test_the_loudest_talker_gets_the_floor() -> None:
    d = SpeakerDetector()
    feed(d, {"a": 30, "b": 127}, 0, 1)
    assert d.speaker == "a"


def test_the_floor_changes_when_someone_else_talks_and_the_first_stops() -> None:
    d = SpeakerDetector(hold=1.0)
    t = feed(d, {"a": 30, "b": 127}, 0, 2)
    t = feed(d, {"a": 127, "b": 25}, t, 2)
    assert d.speaker == "b"


def test_a_short_interjection_does_not_steal_the_floor() -> None:
    d = SpeakerDetector(hold=1.0)
    t = feed(d, {"a": 30, "b": 127}, 0, 0.5)
    assert d.speaker == "a"
    feed(d, {"a": 30, "b": 29}, t, 0.3)  # b about as loud, briefly, within the hold
    assert d.speaker == "a"


def test_a_leaver_is_forgotten() -> None:
    d = SpeakerDetector()
    feed(d, {"a": 30}, 0, 1)
    d.forget("a")
    assert d.speaker is None and d.decide(2.0) is None
