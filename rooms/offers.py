"""Group offers: "when N people have this product in the cart, X % off" (pure rules, no I/O).

A room holds at most one offer. Its progress is a function of the shared cart alone: the
``backers`` are the distinct participants whose own cart lines (``added_by``; lines the HTTP
API added count for nobody) hold the product, in any variant. The offer is reached while it has
at least ``threshold`` backers and has not expired; then its ``code`` applies to checkout links
(rooms.checkout). Both stores apply these rules inside the atomic cart operations, so the
reached state after any interleaving of cart changes is the one the final cart gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from rooms.shopping_state import CartItem

MAX_THRESHOLD: Final = 1000
"""Most backers an offer may ask for."""

MAX_OFFER_SECONDS: Final = 7 * 24 * 3600.0
"""Longest an offer may run."""

CODE_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A discount code: what shops accept in a URL without surprises."""


@dataclass(frozen=True, slots=True)
class GroupOffer:
    """The room's offer: ``percent`` % off ``product_id`` with ``code`` once ``threshold``
    people have it in the cart, until ``expires_at`` (Unix seconds); set by ``set_by`` (a
    host's participant id, None for the HTTP API)."""

    product_id: str
    threshold: int
    percent: int
    code: str
    expires_at: float
    set_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "threshold": self.threshold,
            "percent": self.percent,
            "code": self.code,
            "expires_at": self.expires_at,
            "set_by": self.set_by,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupOffer:
        set_by = data.get("set_by")
        return cls(
            product_id=str(data["product_id"]),
            threshold=int(data["threshold"]),
            percent=int(data["percent"]),
            code=str(data["code"]),
            expires_at=float(data["expires_at"]),
            set_by=None if set_by is None else str(set_by),
        )


@dataclass(frozen=True, slots=True)
class OfferState:
    """The room's group offer and its progress as last published (rooms.offers)."""

    offer: GroupOffer
    backers: int
    reached: bool

    def to_dict(self) -> dict[str, Any]:
        return {"offer": self.offer.to_dict(), "backers": self.backers, "reached": self.reached}


def check_offer(threshold: int, percent: int, code: str, duration: float) -> None:
    """Raise ValueError unless these make a valid offer."""
    for name, value, top in (("threshold", threshold, MAX_THRESHOLD), ("percent", percent, 100)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ValueError(f"{name} must be an int 1..{top}, not {value!r}")
    if not isinstance(code, str) or CODE_PATTERN.fullmatch(code) is None:
        raise ValueError(f"a discount code is 1-64 of A-Z a-z 0-9 _ -, not {code!r}")
    if not 0 < float(duration) <= MAX_OFFER_SECONDS:
        raise ValueError(f"an offer runs 0..{MAX_OFFER_SECONDS:g} seconds, not {duration}")


def backers(product_id: str, cart: Iterable[CartItem]) -> int:
    """How many distinct participants' own cart lines hold ``product_id``."""
    return len({i.added_by for i in cart if i.product_id == product_id and i.added_by})


def is_reached(offer: GroupOffer, count: int, now: float) -> bool:
    """Whether the offer applies: enough backers, not expired."""
    return count >= offer.threshold and now < offer.expires_at


def discount_code(offer: GroupOffer | None, cart: Iterable[CartItem], now: float) -> str | None:
    """The code checkout links carry now: the offer's while it is reached, else None."""
    if offer is None or not is_reached(offer, backers(offer.product_id, cart), now):
        return None
    return offer.code
