"""The named errors of the shopping rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rooms.errors import RoomsError

if TYPE_CHECKING:
    from rooms.shopping.carousel import Carousel, CarouselState


class ShoppingError(RoomsError):
    """Base class for every error the shopping rules raise on purpose."""


class StaleVersion(ShoppingError):
    """A carousel change named a version that is no longer current: someone moved first.

    ``current`` is the state that won, for the loser to show instead; a store also gives the
    whole ``carousel`` (with its mode and remote holder).
    """

    def __init__(
        self, expected_version: int, current: CarouselState, *, carousel: Carousel | None = None
    ) -> None:
        super().__init__(f"carousel is at version {current.version}, not {expected_version}")
        self.expected_version = expected_version
        self.current = current
        self.carousel = carousel


class UnknownProduct(ShoppingError, ValueError):
    """The product (or variant) is not on this carousel or in this vote."""


class InvalidVote(ShoppingError, ValueError):
    """A vote's value or ids are malformed."""


class InvalidChatMessage(ShoppingError, ValueError):
    """A chat message is empty or too long once cleaned."""


class VoteClosed(ShoppingError):
    """The vote round on this product closed (or an open round does not cover it)."""


class InvalidReaction(ShoppingError, ValueError):
    """A reaction is not a single emoji."""
