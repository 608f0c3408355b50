"""Plain data of a room's shopping state: catalog, rounds, cart, chat, snapshot and recap.

JSON-friendly and without I/O, like rooms.models; the rules that change this state are in
rooms.shopping, and each store applies them atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from rooms.catalog.models import Catalog, Product
from rooms.shopping.carousel import Carousel, CarouselState
from rooms.shopping.votes import ShortlistEntry, Tally, Vote, VoteRound, shortlist, tally

if TYPE_CHECKING:
    from rooms.offers import OfferState

MAX_CART_QUANTITY: Final = 99
"""Most units of one item (product and variant) in a room's cart."""

MAX_ROUND_SECONDS: Final = 3600.0
"""Longest vote round."""


@dataclass(frozen=True, slots=True)
class RoomCatalog:
    """The catalog a room shows. ``revision`` is the seq of the event that loaded it (0 for the
    catalog the room was created with); relative image paths resolve against ``image_base``."""

    revision: int = 0
    catalog: Catalog = field(default_factory=Catalog)
    image_base: str | None = None

    def product_dict(self, product: Product) -> dict[str, Any]:
        """The product's JSON with its relative image paths resolved against ``image_base``."""
        data: dict[str, Any] = product.model_dump(mode="json")
        if self.image_base is not None:
            base = self.image_base.rstrip("/") + "/"
            data["images"] = [
                image if "://" in image else base + image for image in data["images"]
            ]
        return data

    def to_dict(self) -> dict[str, Any]:
        """The wire form: revision, currency, and every product in carousel order."""
        return {
            "revision": self.revision,
            "currency": self.catalog.currency,
            "products": [self.product_dict(p) for p in self.catalog.products],
        }


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """A vote round of a room; its ``id`` is the seq of the event that opened it."""

    id: int
    round: VoteRound

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.round.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoundInfo:
        return cls(id=int(data["id"]), round=VoteRound.from_dict(data))


def pair_key(first: str, second: str | None) -> str:
    """Two ids as one unambiguous string, ``<UTF-8 length of first>:<first><second>`` (None as
    ""): what identifies a vote (voter, product), a cart item and a variant (product, variant)
    in a store. The Lua scripts build the same string with ``#first .. ':' .. first .. second``.
    """
    return f"{len(first.encode())}:{first}{second or ''}"


def cart_key(product_id: str, variant_id: str | None) -> str:
    """What identifies a cart item: its product and variant."""
    return pair_key(product_id, variant_id)


def vote_key(participant_id: str, product_id: str) -> str:
    """What identifies a vote: voter and product."""
    return pair_key(participant_id, product_id)


@dataclass(frozen=True, slots=True)
class CartItem:
    """One line of the room's shared cart, and who put it there (None: the HTTP API)."""

    product_id: str
    variant_id: str | None
    quantity: int
    added_by: str | None
    added_by_name: str | None
    added_at: float

    @property
    def key(self) -> str:
        return cart_key(self.product_id, self.variant_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "variant_id": self.variant_id,
            "quantity": self.quantity,
            "added_by": self.added_by,
            "added_by_name": self.added_by_name,
            "added_at": self.added_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CartItem:
        return cls(
            product_id=str(data["product_id"]),
            variant_id=_optional_str(data.get("variant_id")),
            quantity=int(data["quantity"]),
            added_by=_optional_str(data.get("added_by")),
            added_by_name=_optional_str(data.get("added_by_name")),
            added_at=float(data["added_at"]),
        )


def ordered_cart(items: Iterable[CartItem]) -> tuple[CartItem, ...]:
    """Cart items oldest first (ties by key), the same in every store."""
    return tuple(sorted(items, key=lambda i: (i.added_at, i.key)))


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat line; ``seq`` is its event's, so unique in the room."""

    seq: int
    participant_id: str
    name: str
    text: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "participant_id": self.participant_id,
            "name": self.name,
            "text": self.text,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChatMessage:
        return cls(
            seq=int(data["seq"]),
            participant_id=str(data["participant_id"]),
            name=str(data["name"]),
            text=str(data["text"]),
            at=float(data["at"]),
        )


def shortlist_dicts(entries: Iterable[ShortlistEntry]) -> list[dict[str, Any]]:
    """The wire form of a shortlist."""
    return [
        {
            "rank": e.rank,
            "product_id": e.product_id,
            "variant_id": e.variant_id,
            "tally": e.tally.to_dict(),
        }
        for e in entries
    ]


def tallies_dict(tallies: Mapping[str, Tally]) -> dict[str, Any]:
    """The wire form of tallies by product, in product id order."""
    return {pid: tallies[pid].to_dict() for pid in sorted(tallies)}


def parse_tallies(data: Mapping[str, Any]) -> dict[str, Tally]:
    """Tallies from their wire form (product ids in order)."""
    return {str(pid): Tally.from_dict(data[pid]) for pid in sorted(data)}


def ordered_votes(votes: Iterable[Vote]) -> tuple[Vote, ...]:
    """Votes by product then voter, the same in every store."""
    return tuple(sorted(votes, key=lambda v: (v.product_id, v.participant_id)))


@dataclass(frozen=True, slots=True)
class ShoppingSnapshot:
    """A room's whole shopping state, as part of a RoomSnapshot (consistent as of its seq)."""

    catalog: RoomCatalog = field(default_factory=RoomCatalog)
    carousel: Carousel = field(default_factory=Carousel)
    round: RoundInfo | None = None
    votes: tuple[Vote, ...] = ()
    cart: tuple[CartItem, ...] = ()
    chat: tuple[ChatMessage, ...] = ()
    offer: OfferState | None = None

    @property
    def tallies(self) -> dict[str, Tally]:
        return tally(self.votes)

    @property
    def shortlist(self) -> list[ShortlistEntry]:
        return shortlist(self.tallies)

    def to_dict(self) -> dict[str, Any]:
        """The wire form (the ``shopping`` field of ``joined``/``snapshot``)."""
        tallies = self.tallies
        return {
            "catalog": self.catalog.to_dict(),
            "carousel": self.carousel.to_dict(),
            "round": None if self.round is None else self.round.to_dict(),
            "votes": [v.to_dict() for v in self.votes],
            "tallies": tallies_dict(tallies),
            "shortlist": shortlist_dicts(shortlist(tallies)),
            "cart": [i.to_dict() for i in self.cart],
            "chat": [m.to_dict() for m in self.chat],
            "offer": None if self.offer is None else self.offer.to_dict(),
        }


def empty_carousel(catalog: Catalog) -> Carousel:
    """The carousel of a room created with ``catalog``: its first product, version 0."""
    return Carousel(CarouselState.start(catalog.product_ids))


@dataclass(frozen=True, slots=True)
class Reactions:
    """Reaction counters of a room: per emoji, and per product (the current one if unnamed)."""

    by_emoji: Mapping[str, int] = field(default_factory=dict)
    by_product: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_emoji.values())

    @classmethod
    def count(cls, counts: Iterable[tuple[str | None, str, int]]) -> Reactions:
        """From (product id or None, emoji, count) triples."""
        by_emoji: dict[str, int] = {}
        by_product: dict[str, dict[str, int]] = {}
        for product_id, emoji, n in counts:
            by_emoji[emoji] = by_emoji.get(emoji, 0) + n
            if product_id is not None:
                per = by_product.setdefault(product_id, {})
                per[emoji] = per.get(emoji, 0) + n
        return cls(
            by_emoji=dict(sorted(by_emoji.items())),
            by_product={p: dict(sorted(e.items())) for p, e in sorted(by_product.items())},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_emoji": dict(self.by_emoji),
            "by_product": {p: dict(e) for p, e in self.by_product.items()},
        }


@dataclass(frozen=True, slots=True)
class ShownProduct:
    """A product that was the carousel's current one, and how many times it became so."""

    product_id: str
    title: str | None
    times: int


@dataclass(frozen=True, slots=True)
class Recap:
    """What happened in a room's shopping session: for brands and for the group afterwards."""

    room_id: str
    products_shown: tuple[ShownProduct, ...]
    tallies: Mapping[str, Tally]
    cart: tuple[CartItem, ...]
    reactions: Reactions
    votes_cast: int
    chat_messages: int
    views: int = 0
    """A live room's audience seats taken (a viewer coming back counts again)."""
    peak_viewers: int = 0
    """The most viewers a live room's audience held at once."""
    cart_adds: Mapping[str, int] = field(default_factory=dict)
    """Accepted ``cart_add`` requests per product id (a quantity change counts too)."""
    checkouts_started: int = 0
    """Checkout links handed out (``checkout_started`` events)."""

    @property
    def shortlist(self) -> list[ShortlistEntry]:
        return shortlist(self.tallies)

    def to_dict(self) -> dict[str, Any]:
        return {
            "room": self.room_id,
            "products_shown": [
                {"product_id": s.product_id, "title": s.title, "times": s.times}
                for s in self.products_shown
            ],
            "tallies": tallies_dict(self.tallies),
            "shortlist": shortlist_dicts(self.shortlist),
            "cart": [i.to_dict() for i in self.cart],
            "reactions": self.reactions.to_dict(),
            "votes_cast": self.votes_cast,
            "chat_messages": self.chat_messages,
            "views": self.views,
            "peak_viewers": self.peak_viewers,
            "cart_adds": dict(sorted(self.cart_adds.items())),
            "checkouts_started": self.checkouts_started,
        }


def shown_products(catalog: Catalog, times: Mapping[str, int]) -> tuple[ShownProduct, ...]:
    """Shown products in catalog order, then those no longer in the catalog by id."""
    order = {pid: i for i, pid in enumerate(catalog.product_ids)}
    ids = sorted(times, key=lambda pid: (order.get(pid, len(order)), pid))
    return tuple(
        ShownProduct(pid, p.title if (p := catalog.get(pid)) else None, int(times[pid]))
        for pid in ids
        if int(times[pid]) > 0
    )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def check_quantity(quantity: int) -> int:
    """``quantity`` if it is a valid cart quantity; ValueError otherwise."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValueError(f"quantity must be an int, not {quantity!r}")
    if not 1 <= quantity <= MAX_CART_QUANTITY:
        raise ValueError(f"quantity must be 1..{MAX_CART_QUANTITY}, not {quantity}")
    return quantity


def check_duration(duration: float) -> float:
    """``duration`` if it is a valid vote round length in seconds; ValueError otherwise."""
    if not 0 < float(duration) <= MAX_ROUND_SECONDS:
        raise ValueError(f"a vote round lasts 0..{MAX_ROUND_SECONDS:g} seconds, not {duration}")
    return float(duration)


def check_round_products(product_ids: Iterable[str] | None) -> tuple[str, ...] | None:
    """The round's products as a tuple without repeats (None = every product)."""
    if product_ids is None:
        return None
    ids = tuple(dict.fromkeys(product_ids))
    if not ids:
        raise ValueError("a vote round needs products (or None for all)")
    return ids
