"""The JSON shapes room events carry, as pydantic models shared with the wire.

An event declaration (rooms.events) names its fields with these shapes, and the signaling
protocol shows the same classes to clients (signaling.protocol imports them), so what a store
publishes and what a client receives cannot drift apart. Each shape is what the rooms value's
``to_dict()`` gives; ``Shape.of(value)`` makes one from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field

#: A vote on the wire (rooms.shopping.VoteValue as JSON): yes/no, or a score 1-5 (a JSON true
#: is not a score).
VoteValue = Literal["yes", "no"] | Annotated[int, Field(strict=True, ge=1, le=5)]


class _HasDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class Shape(BaseModel):
    """Base of the shapes: frozen, and no field beyond those declared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def of(cls, value: _HasDict) -> Self:
        """The shape of a rooms value (a Participant, Vote, CartItem, ...) from its to_dict()."""
        return cls.model_validate(value.to_dict())


class ParticipantInfo(Shape):
    """A participant as the wire shows it."""

    id: str
    name: str
    role: Literal["viewer", "guest", "host", "admin"]
    joined_at: float


class CarouselInfo(Shape):
    """The room's carousel (its product order is the catalog's)."""

    index: int
    current: str | None
    version: int
    mode: Literal["host_led", "everyone"]
    holder: str | None


class VoteInfo(Shape):
    """One participant's vote on one product (and maybe one of its variants)."""

    participant_id: str
    product_id: str
    variant_id: str | None
    value: VoteValue


class TallyInfo(Shape):
    """Vote counts of one product, or of one variant inside ``by_variant``."""

    yes: int
    no: int
    score_count: int
    score_total: int
    by_variant: dict[str, TallyInfo] = Field(default_factory=dict)


def tally_infos(tallies: Mapping[str, _HasDict]) -> dict[str, TallyInfo]:
    """Tallies by product (rooms.shopping.Tally) as shapes, in product id order."""
    return {pid: TallyInfo.of(tallies[pid]) for pid in sorted(tallies)}


class RoundInfo(Shape):
    """A vote round; ``id`` is the seq that opened it, ``product_ids`` None = every product."""

    id: int
    state: Literal["scheduled", "open", "closed"]
    opens_at: float
    closes_at: float
    product_ids: list[str] | None


class CartItemInfo(Shape):
    """A line of the shared cart and who put it there (None: the HTTP API)."""

    product_id: str
    variant_id: str | None
    quantity: int
    added_by: str | None
    added_by_name: str | None
    added_at: float


class OfferInfo(Shape):
    """A room's group offer (rooms.offers.GroupOffer): ``percent`` % off ``product_id`` with
    ``code`` once ``threshold`` people have it in the cart, until ``expires_at``."""

    product_id: str
    threshold: int
    percent: int
    code: str
    expires_at: float
    set_by: str | None


class RatingInfo(Shape):
    """A person's rating of a product (rooms.ratings.Rating): 1-5 ``stars``."""

    product_id: str
    participant_id: str
    name: str
    stars: Annotated[int, Field(strict=True, ge=1, le=5)]
    at: float


class OfferStateInfo(Shape):
    """The offer and its progress: ``backers`` (people with it in the cart), ``reached``."""

    offer: OfferInfo
    backers: int
    reached: bool


class ChatMessageInfo(Shape):
    """A chat line; ``seq`` is its event's."""

    seq: int
    participant_id: str
    name: str
    text: str
    at: float
