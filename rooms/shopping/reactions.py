"""Emoji reactions: what counts as one emoji (sans-IO)."""

from __future__ import annotations

import unicodedata
from typing import Final

from rooms.shopping.errors import InvalidReaction

MAX_EMOJI_LENGTH: Final = 16
"""Code points in one reaction: enough for a ZWJ family or a flag with modifiers (UTS #51)."""

# After the first code point an emoji sequence may hold modifiers (Sk: skin tones), variation
# selectors and combining keycaps (Mn/Me), ZWJ and tags (Cf), and further pictographs (So).
_CONTINUATION: Final = frozenset({"So", "Sk", "Mn", "Me", "Cf"})


def clean_emoji(text: str) -> str:
    """``text`` if it is one emoji (sequence): a pictograph (Unicode category So) followed by at
    most MAX_EMOJI_LENGTH - 1 modifiers, selectors, joiners or pictographs. Raises
    InvalidReaction otherwise: reactions are pictures, not a side channel for text."""
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_EMOJI_LENGTH:
        raise InvalidReaction(f"a reaction is one emoji of at most {MAX_EMOJI_LENGTH} code points")
    if unicodedata.category(text[0]) != "So" or any(
        unicodedata.category(c) not in _CONTINUATION for c in text[1:]
    ):
        raise InvalidReaction(f"not an emoji: {text!r}")
    return text
