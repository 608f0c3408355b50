"""Room events, typed: one declaration per event kind, shared by both stores, the hub and the wire.

A declaration is a subclass of EventBody whose ``type`` is a Literal with that same default; its
other fields are the event's JSON ``data``, named with the shapes of rooms.event_shapes.
MemoryStore builds its events from the declarations, RedisStore's scripts fill in templates made
from them (rooms.redis_scripts), every event read back from Redis is validated against its
declaration where it is decoded (RoomEvent.from_json), and signaling builds each wire message
from the declaration (signaling.events), so a store cannot emit what the wire cannot carry.

The kinds below are the store's own (StoreEvent): RoomStore.publish refuses their types, so
nobody can forge a ``room_closed`` (which would end every subscription) or a vote nobody cast.
Signaling declares the kinds it publishes itself (``track_published``, ``media_state``,
``active_speaker``) in signaling.events. An event of a type nobody declared is a CustomEvent
with free-form JSON ``data``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rooms.event_shapes import (
    CarouselInfo,
    CartItemInfo,
    ChatMessageInfo,
    OfferInfo,
    ParticipantInfo,
    RoundInfo,
    TallyInfo,
    VoteInfo,
)

_KINDS: dict[str, type[EventBody]] = {}


class EventBody(BaseModel):
    """What an event says: its ``type`` and, as typed fields, its ``data``.

    Declaring a kind is subclassing this with ``type: Literal["x"] = "x"``; each type may be
    declared once. Subclasses without such a default (StoreEvent, CustomEvent) are not kinds.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    KIND: ClassVar[str]
    """The type a declared kind's events carry."""

    type: str

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields["type"]
        kind = field.default
        if not isinstance(kind, str):
            return
        if get_args(field.annotation) != (kind,):
            raise TypeError(f"{cls.__qualname__}.type must be Literal[{kind!r}]")
        if kind in _KINDS:
            raise TypeError(f"event kind {kind!r} is declared twice: by "
                            f"{_KINDS[kind].__qualname__} and {cls.__qualname__}")
        cls.KIND = kind
        _KINDS[kind] = cls

    def to_data(self) -> dict[str, Any]:
        """The event's JSON ``data``: every field but ``type``. A field left out when the body
        was made (an empty ``by_variant`` of a tally) stays out, as in the scripts' JSON."""
        return self.model_dump(mode="json", exclude={"type"}, exclude_unset=True)


class CustomEvent(EventBody):
    """An event of a type nobody declared, with free-form JSON ``data`` (RoomStore.publish)."""

    type: str = Field(min_length=1)
    data: dict[str, Any]

    @field_validator("type")
    @classmethod
    def _undeclared(cls, type: str) -> str:
        if type in _KINDS:
            raise ValueError(f"{type!r} events are declared: {_KINDS[type].__qualname__}")
        return type

    def to_data(self) -> dict[str, Any]:
        return self.data


def declared_kinds() -> tuple[type[EventBody], ...]:
    """Every kind declared so far: the store's, and those of imported modules (signaling)."""
    return tuple(_KINDS.values())


def parse(type: str, data: object) -> EventBody:
    """The body of a ``type`` event whose JSON ``data`` is ``data``, validated against the
    declaration of ``type`` (a CustomEvent if there is none). Raises ValueError."""
    kind = _KINDS.get(type)
    if kind is None:
        return CustomEvent.model_validate({"type": type, "data": data})
    return kind.model_validate(data)


def publishable(type: str, data: dict[str, Any]) -> EventBody:
    """What ``RoomStore.publish(room_id, type, data)`` publishes: ``data`` as JSON sees it,
    validated if ``type`` is declared. Raises ValueError for a type the store keeps to itself
    or invalid data, TypeError for data JSON cannot encode; either before any change."""
    validate_custom_type(type)
    if type in _KINDS:
        return parse(type, data)
    return CustomEvent(type=type, data=json_data(data))


def validate_custom_type(type: str) -> str:
    """Return ``type`` if ``RoomStore.publish`` may use it; raise ValueError otherwise."""
    if not isinstance(type, str) or not type:
        raise ValueError(f"invalid event type {type!r}: expected a non-empty str")
    kind = _KINDS.get(type)
    if kind is not None and issubclass(kind, StoreEvent):
        raise ValueError(f"event type {type!r} is reserved for the store itself")
    return type


def json_data(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as every subscriber will see it: round-tripped through JSON.

    Both stores deliver this form, so a value that would not survive Redis fails in memory too.
    """
    decoded: dict[str, Any] = json.loads(json.dumps(data, separators=(",", ":")))
    return decoded


# --- the store's own kinds -----------------------------------------------------------------------


class StoreEvent(EventBody):
    """A kind only the store emits."""


class ShoppingEvent(StoreEvent):
    """A change to a room's shopping state (``by``: a participant id, None for the HTTP API)."""


class ParticipantJoined(StoreEvent):
    type: Literal["participant_joined"] = "participant_joined"
    participant: ParticipantInfo


NODE_LOST = "node_lost"
"""``participant_left`` reason: the participant's node stopped renewing its presence lease
(crashed, killed, cut off) and another node reaped it."""


class ParticipantLeft(StoreEvent):
    """``reason``: left, disconnected, removed, replaced, media_failed or NODE_LOST."""

    type: Literal["participant_left"] = "participant_left"
    participant_id: str
    reason: str


class RoomClosed(StoreEvent):
    """Always the last event of a room."""

    type: Literal["room_closed"] = "room_closed"


class CatalogLoaded(ShoppingEvent):
    """``revision`` is the event's own seq."""

    type: Literal["catalog_loaded"] = "catalog_loaded"
    revision: int
    product_count: int
    currency: str | None
    image_base: str | None
    carousel: CarouselInfo


class CarouselChanged(ShoppingEvent):
    type: Literal["carousel_changed"] = "carousel_changed"
    carousel: CarouselInfo
    change: Literal["move", "remote", "mode"]
    by: str | None


class VoteCast(ShoppingEvent):
    """``previous``: the voter's vote it replaced; ``tallies``: every product's, after it."""

    type: Literal["vote_cast"] = "vote_cast"
    vote: VoteInfo
    previous: VoteInfo | None
    tallies: dict[str, TallyInfo]


class VoteRetracted(ShoppingEvent):
    type: Literal["vote_retracted"] = "vote_retracted"
    vote: VoteInfo
    tallies: dict[str, TallyInfo]


class VoteRoundOpened(ShoppingEvent):
    type: Literal["vote_round_opened"] = "vote_round_opened"
    round: RoundInfo


class VoteRoundClosed(ShoppingEvent):
    type: Literal["vote_round_closed"] = "vote_round_closed"
    round: RoundInfo
    reason: Literal["host", "deadline"]


class ChatMessage(ShoppingEvent):
    type: Literal["chat_message"] = "chat_message"
    message: ChatMessageInfo


class Reaction(ShoppingEvent):
    """``product_id``: the product reacted to (the current one if the reaction named none)."""

    type: Literal["reaction"] = "reaction"
    participant_id: str
    emoji: str
    product_id: str | None


class CartItemAdded(ShoppingEvent):
    type: Literal["cart_item_added"] = "cart_item_added"
    item: CartItemInfo


class CartItemRemoved(ShoppingEvent):
    type: Literal["cart_item_removed"] = "cart_item_removed"
    item: CartItemInfo
    by: str | None


class CheckoutStarted(ShoppingEvent):
    """Somebody (``by``) took a checkout link (rooms.checkout) for the cart lines that
    ``participant_id`` added, or for the whole cart (None); the link held ``lines`` variants,
    ``quantity`` units in all. Counted in the recap (``checkouts_started``)."""

    type: Literal["checkout_started"] = "checkout_started"
    by: str | None
    participant_id: str | None
    lines: int
    quantity: int


class OfferProgress(ShoppingEvent):
    """The room's group offer was set, or the number of its ``backers`` changed (rooms.offers);
    ``reached``: whether its code applies now."""

    type: Literal["offer_progress"] = "offer_progress"
    offer: OfferInfo
    backers: int
    reached: bool


class OfferReached(ShoppingEvent):
    """The offer just became reached (right after the ``offer_progress`` that says so): its
    code now applies to checkout links holding its product."""

    type: Literal["offer_reached"] = "offer_reached"
    offer: OfferInfo
    backers: int


class ModerationEvent(StoreEvent):
    """A host control (``by``: the host's participant id, None for the HTTP API). Removing and
    banning also take the participant out (``participant_left``, reason ``removed`` or
    ``banned``, just before)."""


class ParticipantMuted(ModerationEvent):
    """A host muted the participant's microphone (``audio``) or camera (``video``)."""

    type: Literal["participant_muted"] = "participant_muted"
    participant_id: str
    kind: Literal["audio", "video"]
    by: str | None


class ParticipantBanned(ModerationEvent):
    """The participant id may not join the room again while it lives."""

    type: Literal["participant_banned"] = "participant_banned"
    participant_id: str
    by: str | None


class RoleChanged(ModerationEvent):
    """A live room's viewer came up to the stage (``guest``) or went back to the audience."""

    type: Literal["role_changed"] = "role_changed"
    participant_id: str
    role: Literal["viewer", "guest"]
    by: str | None


class HandRaised(StoreEvent):
    """A viewer raised (or lowered) its hand to come up to the stage; hosts answer with
    ``role_changed``. Raised hands are kept (RoomInfo.raised_hands) until lowered, the viewer
    moves or comes back."""

    type: Literal["hand_raised"] = "hand_raised"
    participant_id: str
    raised: bool


class SlowModeChanged(ModerationEvent):
    """Chat allows one message per ``seconds`` per participant (0: off; hosts never wait)."""

    type: Literal["slow_mode_changed"] = "slow_mode_changed"
    seconds: float
    by: str | None


class ChatHidden(ModerationEvent):
    """The chat message of seq ``message_seq`` was taken out of the history: stop showing it."""

    type: Literal["chat_hidden"] = "chat_hidden"
    message_seq: int
    by: str | None


RESERVED_TYPES = frozenset(k.KIND for k in declared_kinds() if issubclass(k, StoreEvent))
"""Types only the store emits."""

SHOPPING_TYPES = frozenset(k.KIND for k in declared_kinds() if issubclass(k, ShoppingEvent))
