"""People's ratings of products: one per person per product, kept per catalog (no I/O).

A rating is 1 to 5 stars. It belongs to the catalog, not to the room it was given in, so a later
room showing the same catalog can show it: a catalog is named by ``ratings_key``. Who counts as a
"friend" is decided where ratings are shown (signaling.ratings): the other people in the room.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from rooms.catalog.models import Catalog

MIN_STARS: Final = 1
MAX_STARS: Final = 5


def check_stars(stars: object) -> int:
    """``stars`` if it is a whole number of stars 1..5; ValueError otherwise."""
    if isinstance(stars, bool) or not isinstance(stars, int) or not MIN_STARS <= stars <= MAX_STARS:
        raise ValueError(f"a rating is {MIN_STARS} to {MAX_STARS} whole stars, not {stars!r}")
    return stars


def ratings_key(catalog: Catalog) -> str:
    """What names ``catalog`` across rooms: its ``id``; else its Shopify store; else a digest of
    its product ids (so two rooms loading the same products share ratings)."""
    if catalog.id is not None:
        return f"id:{catalog.id}"
    if catalog.shopify_shop is not None:
        return f"shopify:{catalog.shopify_shop}"
    digest = hashlib.sha256("\n".join(sorted(catalog.product_ids)).encode()).hexdigest()
    return f"products:{digest[:32]}"


@dataclass(frozen=True, slots=True)
class Rating:
    """``participant_id`` (shown as ``name``) gave ``product_id`` ``stars`` at ``at`` (Unix s)."""

    product_id: str
    participant_id: str
    name: str
    stars: int
    at: float

    def __post_init__(self) -> None:
        check_stars(self.stars)
        if not self.product_id or not self.participant_id:
            raise ValueError("a rating names its product and who gave it")

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "participant_id": self.participant_id,
            "name": self.name,
            "stars": self.stars,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rating:
        return cls(
            product_id=str(data["product_id"]),
            participant_id=str(data["participant_id"]),
            name=str(data["name"]),
            stars=int(data["stars"]),
            at=float(data["at"]),
        )


def ordered_ratings(ratings: Iterable[Rating]) -> list[Rating]:
    """Ratings by product, then rater: the same order in every store."""
    return sorted(ratings, key=lambda r: (r.product_id, r.participant_id))


def mean_stars(ratings: Iterable[Rating], product_id: str) -> float | None:
    """The mean stars of the ratings of ``product_id`` (None without any), one decimal."""
    stars = [r.stars for r in ratings if r.product_id == product_id]
    return round(sum(stars) / len(stars), 1) if stars else None
