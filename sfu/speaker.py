"""Who is speaking, from the RFC 6464 audio levels the SFU already reads (sans-IO).

Each audio packet's client-to-mixer header extension carries the sender's level in -dBov
(0 = loudest, 127 = silence) and, from browsers, a voice-activity flag. Nothing is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Levels quieter than this (-dBov) count as silence: room noise, breathing.
SILENCE_DBOV = 60
#: How quickly the smoothed loudness follows the samples (per sample, 0..1).
SMOOTHING = 0.35


@dataclass(slots=True)
class _Voice:
    loudness: float = 0.0  # smoothed, in dB above SILENCE_DBOV


class SpeakerDetector:
    """Picks the active speaker with hysteresis: a new speaker must be clearly louder, and the
    current one keeps the floor for at least ``hold`` seconds."""

    def __init__(self, *, hold: float = 1.0, margin: float = 3.0) -> None:
        self.hold = hold
        self.margin = margin
        self.speaker: str | None = None
        self._since = 0.0
        self._voices: dict[str, _Voice] = {}

    def sample(self, participant: str, level_dbov: int | None, now: float) -> None:
        """One reading of ``participant``'s level (None: no recent audio = silence)."""
        voice = self._voices.setdefault(participant, _Voice())
        loud = 0.0 if level_dbov is None else max(0.0, float(SILENCE_DBOV - level_dbov))
        voice.loudness += SMOOTHING * (loud - voice.loudness)

    def forget(self, participant: str) -> None:
        """``participant`` left: they can no longer be the speaker."""
        self._voices.pop(participant, None)
        if self.speaker == participant:
            self.speaker = None

    def decide(self, now: float) -> str | None:
        """The active speaker after the latest samples (None: nobody has spoken yet)."""
        if not self._voices:
            return self.speaker
        loudest, voice = max(self._voices.items(), key=lambda kv: kv[1].loudness)
        if voice.loudness <= 1.0 or loudest == self.speaker:
            return self.speaker
        current = self._voices.get(self.speaker) if self.speaker is not None else None
        if current is not None:
            if now - self._since < self.hold:
                return self.speaker
            if voice.loudness < current.loudness + self.margin:
                return self.speaker
        self.speaker = loudest
        self._since = now
        return self.speaker
