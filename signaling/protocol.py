"""The signaling wire protocol (docs/PROTOCOL.md) as data: one pydantic model per message.

Parsing and dumping only; no I/O. ``parse_client_message`` turns one WebSocket text frame into a
``ClientMessage`` or raises ``ProtocolError`` with the stable wire code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from rooms import validation
from rooms.event_shapes import CarouselInfo as CarouselInfo
from rooms.event_shapes import CartItemInfo as CartItemInfo
from rooms.event_shapes import ChatMessageInfo as ChatMessageInfo
from rooms.event_shapes import OfferInfo as OfferInfo
from rooms.event_shapes import OfferStateInfo as OfferStateInfo
from rooms.event_shapes import ParticipantInfo as ParticipantInfo
from rooms.event_shapes import RatingInfo as RatingInfo
from rooms.event_shapes import RoundInfo as RoundInfo
from rooms.event_shapes import TallyInfo as TallyInfo
from rooms.event_shapes import VoteInfo as VoteInfo
from rooms.event_shapes import VoteValue as VoteValue
from rooms.shopping import InvalidReaction, clean_emoji
from signaling import untrusted_json

#: A room id on the wire: exactly what the RoomStore accepts (anchored for pydantic).
ROOM_ID_PATTERN = f"^{validation.ROOM_ID_PATTERN.pattern}$"

RoomId = Annotated[str, Field(pattern=ROOM_ID_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
#: A catalog product or variant id (rooms.catalog.models.MAX_ID_LENGTH).
ItemId = Annotated[str, Field(min_length=1, max_length=128)]


class ErrorCode(StrEnum):
    """Stable error codes sent in ``error`` messages (and HTTP API error bodies)."""

    BAD_MESSAGE = "bad_message"
    UNKNOWN_TYPE = "unknown_type"
    NOT_JOINED = "not_joined"
    ALREADY_JOINED = "already_joined"
    ROOM_FULL = "room_full"
    AUDIENCE_FULL = "audience_full"
    BANNED = "banned"
    SLOW_MODE = "slow_mode"
    ROOM_CLOSED = "room_closed"
    UNAUTHORIZED = "unauthorized"
    BAD_SDP = "bad_sdp"
    NEGOTIATION_FAILED = "negotiation_failed"
    NOT_FOUND = "not_found"
    UNKNOWN_PRODUCT = "unknown_product"
    STALE_VERSION = "stale_version"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    BAD_CHAT = "bad_chat"
    VOTE_CLOSED = "vote_closed"
    NO_CHECKOUT = "no_checkout"
    UNAVAILABLE = "unavailable"
    RECORDING = "recording"
    INTERNAL = "internal"


class ProtocolError(Exception):
    """A client frame that is not a valid client message."""

    def __init__(self, code: ErrorCode, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- shared shapes (and those of room events, from rooms.event_shapes) ---------------------------


class RoomRef(_Message):
    """The room fields a client needs."""

    id: str
    capacity: int
    #: ``group``, or ``live``: ``capacity`` is then the stage; viewers sit in the audience.
    kind: Literal["group", "live"] = "group"
    audience_capacity: int | None = None
    audience_count: int | None = None
    #: Seconds between two chat messages of one participant; absent = off.
    slow_mode: float | None = None
    #: A live room's viewers with a raised hand (to a viewer: only its own, if raised).
    raised_hands: list[str] | None = None

    @model_serializer(mode="wrap")
    def _audience_of_live_rooms(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A group room has no audience: its fields stay as they were before room kinds.
        data: dict[str, Any] = handler(self)
        for name in ("audience_capacity", "audience_count", "slow_mode", "raised_hands"):
            if data.get(name) is None:
                data.pop(name, None)
        return data


class Slot(_Message):
    """One m-line of an offer: ``recvonly`` = the client publishes, ``sendonly`` = it receives."""

    mid: str
    kind: Literal["audio", "video"]
    direction: Literal["recvonly", "sendonly", "sendrecv", "inactive"]
    source: str | None = None


class ShortlistEntryInfo(_Message):
    """A liked product, best first."""

    rank: int
    product_id: str
    variant_id: str | None
    tally: TallyInfo


class CatalogInfo(_Message):
    """The room's catalog: products in carousel order (coshop catalog JSON, image URLs resolved)."""

    revision: int
    currency: str | None
    products: list[dict[str, Any]]


class ShoppingInfo(_Message):
    """The whole shopping state of a room (in ``joined`` and ``snapshot``)."""

    catalog: CatalogInfo
    carousel: CarouselInfo
    round: RoundInfo | None
    votes: list[VoteInfo]
    tallies: dict[str, TallyInfo]
    shortlist: list[ShortlistEntryInfo]
    cart: list[CartItemInfo]
    chat: list[ChatMessageInfo]
    offer: OfferStateInfo | None = None


class MayInfo(_Message):
    """What you may do in the room's shopping now (the server's own rules, applied to you)."""

    move: bool
    hand_remote: bool
    hold_remote: bool
    lead: bool
    cart: bool
    vote_closed: list[str]


# --- client -> server ----------------------------------------------------------------------------


class Join(_Message):
    """Enter a room (``room`` is optional on ``/rooms/{room_id}/ws``); a token's name/role win."""

    type: Literal["join"] = "join"
    room: RoomId | None = None
    name: Name | None = None
    role: Literal["guest", "viewer"] = "guest"
    token: str | None = Field(None, max_length=4096)
    #: The ``resume`` credential of an earlier ``joined``: come back as the same participant.
    resume: str | None = Field(None, max_length=4096)
    #: The client's RTCPeerConnection bundlePolicy (W3C webrtc-pc §4.2.5). "max-bundle" lets
    #: the first offer carry every subscription at once: one offer/answer round trip less.
    bundle_policy: Literal["balanced", "max-compat", "max-bundle"] = "balanced"


class Answer(_Message):
    """The client's SDP answer to the latest ``offer``."""

    type: Literal["answer"] = "answer"
    sdp: str = Field(min_length=1)


class Leave(_Message):
    """Leave the room but keep the socket (a later ``join`` is allowed)."""

    type: Literal["leave"] = "leave"


class Resync(_Message):
    """Ask for a fresh ``snapshot`` (after a ``seq`` gap)."""

    type: Literal["resync"] = "resync"


class SetMediaState(_Message):
    """The sender says whether its microphone and camera are on (not guessed from silence)."""

    type: Literal["media_state"] = "media_state"
    audio: bool
    video: bool


class SetView(_Message):
    """Whose video the client does not show now (``hidden``: participant ids).

    The server pauses those and resumes a stream at a keyframe when its tile shows again.
    Anyone not listed (a newcomer too) is sent, so a new tile never waits for a view update.
    ``sizes`` (optional): each shown tile's [width, height] in CSS pixels; when the downlink
    is short, bigger tiles keep more of their frame rate.
    """

    type: Literal["view"] = "view"
    hidden: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)
    sizes: (
        dict[
            Annotated[str, Field(max_length=64)],
            tuple[Annotated[int, Field(ge=0, le=16384)], Annotated[int, Field(ge=0, le=16384)]],
        ]
        | None
    ) = Field(default=None, max_length=100)


class Ping(_Message):
    """Liveness check; answered by ``pong`` with the same nonce."""

    type: Literal["ping"] = "ping"
    nonce: str | int | None = None


class CarouselMove(_Message):
    """Move the carousel one step, or to a product, from the ``version`` the client saw."""

    type: Literal["carousel_move"] = "carousel_move"
    action: Literal["next", "prev", "goto"]
    product_id: ItemId | None = None
    version: int = Field(ge=0)

    @model_validator(mode="after")
    def _target(self) -> CarouselMove:
        if (self.action == "goto") != (self.product_id is not None):
            raise ValueError("product_id is required with action goto, and only with it")
        return self


class RemoteTake(_Message):
    """Take the carousel's remote."""

    type: Literal["remote_take"] = "remote_take"


class RemotePass(_Message):
    """Hand the remote to a participant, or free it (``to`` null)."""

    type: Literal["remote_pass"] = "remote_pass"
    to: str | None = Field(max_length=64)


class SetRemoteMode(_Message):
    """Who may move the carousel (hosts only)."""

    type: Literal["remote_mode"] = "remote_mode"
    mode: Literal["host_led", "everyone"]


class CastVote(_Message):
    """Vote on a product (replaces one's earlier vote on it)."""

    type: Literal["vote"] = "vote"
    product_id: ItemId
    value: VoteValue
    variant_id: ItemId | None = None


class RetractVote(_Message):
    """Withdraw one's vote on a product."""

    type: Literal["vote_retract"] = "vote_retract"
    product_id: ItemId


class OpenVoteRound(_Message):
    """Open a timed vote round (hosts only)."""

    type: Literal["vote_round_open"] = "vote_round_open"
    duration: float = Field(ge=5, le=3600)
    product_ids: list[ItemId] | None = Field(None, min_length=1, max_length=1000)


class CloseVoteRound(_Message):
    """Close the open vote round (hosts only)."""

    type: Literal["vote_round_close"] = "vote_round_close"


class SendChat(_Message):
    """Say something (cleaned and length-checked by the server: ``bad_chat``)."""

    type: Literal["chat"] = "chat"
    text: str


class React(_Message):
    """An emoji reaction, to a product or (by default) the current one."""

    type: Literal["react"] = "react"
    emoji: str = Field(min_length=1, max_length=16)
    product_id: ItemId | None = None

    @field_validator("emoji")
    @classmethod
    def _one_emoji(cls, value: str) -> str:
        try:
            return clean_emoji(value)
        except InvalidReaction as exc:
            raise ValueError(str(exc)) from None


class CartAdd(_Message):
    """Put an item in the shared cart (or set its quantity)."""

    type: Literal["cart_add"] = "cart_add"
    product_id: ItemId
    variant_id: ItemId | None = None
    quantity: int = Field(1, strict=True, ge=1, le=99)


class CartRemove(_Message):
    """Take an item out of the shared cart."""

    type: Literal["cart_remove"] = "cart_remove"
    product_id: ItemId
    variant_id: ItemId | None = None


class SetOffer(_Message):
    """Set the room's group offer (hosts): ``percent`` % off ``product_id`` with ``code`` once
    ``threshold`` people have it in the cart, for ``duration`` seconds."""

    type: Literal["offer_set"] = "offer_set"
    product_id: ItemId
    threshold: int = Field(strict=True, ge=1, le=1000)
    percent: int = Field(strict=True, ge=1, le=100)
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    duration: float = Field(gt=0, le=7 * 24 * 3600)


class Checkout(_Message):
    """Ask for a checkout link (answered with ``checkout_link``): for the cart lines you added
    (``mine``) or, hosts only, the whole cart (``cart``)."""

    type: Literal["checkout"] = "checkout"
    scope: Literal["mine", "cart"] = "mine"


class Rate(_Message):
    """Rate a product of the room's cart 1-5 stars (replacing your earlier rating of it); kept
    with the room's catalog, shown to the people you shop with (``product_rated``)."""

    type: Literal["rate"] = "rate"
    product_id: ItemId
    stars: int = Field(strict=True, ge=1, le=5)


# Host controls (hosts and admins; ``forbidden`` otherwise), and the audience's raised hand.

ParticipantId = Annotated[str, Field(min_length=1, max_length=64)]


class Mute(_Message):
    """Mute a participant's microphone (``audio``) or camera (``video``)."""

    type: Literal["mute"] = "mute"
    participant_id: ParticipantId
    kind: Literal["audio", "video"]


class Remove(_Message):
    """Take a participant out of the room (they may come back)."""

    type: Literal["remove"] = "remove"
    participant_id: ParticipantId


class Ban(_Message):
    """Take a participant out and bar its id from the room for the room's life."""

    type: Literal["ban"] = "ban"
    participant_id: ParticipantId


class SetRole(_Message):
    """Live rooms: invite a viewer to the stage (``guest``) or send a guest back to the
    audience (``viewer``; a guest may step down by itself)."""

    type: Literal["set_role"] = "set_role"
    participant_id: ParticipantId
    role: Literal["viewer", "guest"]


class SetSlowMode(_Message):
    """One chat message per ``seconds`` per participant (0: off; hosts never wait)."""

    type: Literal["slow_mode"] = "slow_mode"
    seconds: float = Field(ge=0, le=3600)


class HideChat(_Message):
    """Take the chat message whose ``seq`` this is out of everyone's chat."""

    type: Literal["chat_hide"] = "chat_hide"
    seq: int = Field(strict=True, ge=1)


class RaiseHand(_Message):
    """A viewer asks to come up to the stage (``raised`` false: never mind)."""

    type: Literal["raise_hand"] = "raise_hand"
    raised: bool = True


ClientMessage = Annotated[
    Join
    | Answer
    | Leave
    | Resync
    | Ping
    | SetMediaState
    | SetView
    | CarouselMove
    | RemoteTake
    | RemotePass
    | SetRemoteMode
    | CastVote
    | RetractVote
    | OpenVoteRound
    | CloseVoteRound
    | SendChat
    | React
    | CartAdd
    | CartRemove
    | Checkout
    | SetOffer
    | Rate
    | Mute
    | Remove
    | Ban
    | SetRole
    | SetSlowMode
    | HideChat
    | RaiseHand,
    Field(discriminator="type"),
]


# --- server -> client ----------------------------------------------------------------------------


class IceServerInfo(_Message):
    """An ICE server for the client's RTCPeerConnection (its RTCIceServer)."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None

    @model_serializer(mode="wrap")
    def _only_present(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in ("username", "credential"):
            if data.get(name) is None:
                data.pop(name, None)
        return data


class MediaStateInfo(_Message):
    """What a participant said of its microphone and camera (its latest ``media_state``)."""

    participant_id: str
    audio: bool
    video: bool


class Joined(_Message):
    """Reply to ``join``: the room as of event ``seq`` (the join itself)."""

    type: Literal["joined"] = "joined"
    seq: int
    room: RoomRef
    you: ParticipantInfo
    participants: list[ParticipantInfo]
    shopping: ShoppingInfo
    #: Your shopping permissions as of ``seq``; ``may`` messages follow when they change.
    may: MayInfo
    #: Participants whose microphone or camera is off as of ``seq`` (the rest: both on).
    media_states: list[MediaStateInfo] = Field(default_factory=list)
    #: Present this in a later ``join`` (after a reload or a drop) to be the same participant.
    resume: str
    #: Configure the RTCPeerConnection with these (STUN, TURN with credentials for you).
    ice_servers: list[IceServerInfo] = Field(default_factory=list)


class Snapshot(_Message):
    """Reply to ``resync``: same shape as ``joined``."""

    type: Literal["snapshot"] = "snapshot"
    seq: int
    room: RoomRef
    you: ParticipantInfo
    participants: list[ParticipantInfo]
    shopping: ShoppingInfo
    may: MayInfo
    media_states: list[MediaStateInfo] = Field(default_factory=list)
    #: After a host moved you between the stage and the audience: keep this instead of
    #: ``joined.resume`` (it brings you back in your new role); None otherwise.
    resume: str | None = None


class May(_Message):
    """Your shopping permissions changed (after the room event that changed them)."""

    type: Literal["may"] = "may"
    may: MayInfo


class Offer(_Message):
    """A server SDP offer; the client answers with ``answer``."""

    type: Literal["offer"] = "offer"
    sdp: str
    slots: list[Slot]


class Slots(_Message):
    """What each already-negotiated m-line carries now: someone left (``source`` null) or a
    free m-line carries a new publisher. Replaces the slot map of the latest offer."""

    type: Literal["slots"] = "slots"
    slots: list[Slot]


# Room events: each message below carries its event's seq and every field its kind declares
# (rooms.events, and signaling.events for media), as declared; signaling.events checks that.


class ParticipantJoined(_Message):
    """Somebody entered the room."""

    type: Literal["participant_joined"] = "participant_joined"
    seq: int
    participant: ParticipantInfo


class ParticipantLeft(_Message):
    """Somebody left: ``left``, ``disconnected``, ``removed``, ``replaced`` or ``node_lost``."""

    type: Literal["participant_left"] = "participant_left"
    seq: int
    participant_id: str
    reason: str


class MediaStateChanged(_Message):
    """A participant turned its microphone or camera on or off."""

    type: Literal["media_state"] = "media_state"
    seq: int
    participant_id: str
    audio: bool
    video: bool


class ActiveSpeaker(_Message):
    """The server heard a new active speaker (RFC 6464 audio levels; nothing decoded)."""

    type: Literal["active_speaker"] = "active_speaker"
    seq: int
    participant_id: str | None


class TrackPublished(_Message):
    """A participant's audio or video reached the server and is being forwarded."""

    type: Literal["track_published"] = "track_published"
    seq: int
    participant_id: str
    kind: Literal["audio", "video"]


class RoomClosed(_Message):
    """The room was closed (HTTP API); a ``left`` with reason ``room_closed`` follows."""

    type: Literal["room_closed"] = "room_closed"
    seq: int
    room: str


class CarouselChanged(_Message):
    """The carousel moved, or its remote or mode changed (``by`` None: the HTTP API)."""

    type: Literal["carousel_changed"] = "carousel_changed"
    seq: int
    carousel: CarouselInfo
    change: Literal["move", "remote", "mode"]
    by: str | None


class VoteCast(_Message):
    """A vote was cast (``previous``: the vote it replaced); tallies and shortlist as of now."""

    type: Literal["vote_cast"] = "vote_cast"
    seq: int
    vote: VoteInfo
    previous: VoteInfo | None
    tallies: dict[str, TallyInfo]
    shortlist: list[ShortlistEntryInfo]


class VoteRetracted(_Message):
    """A vote was withdrawn."""

    type: Literal["vote_retracted"] = "vote_retracted"
    seq: int
    vote: VoteInfo
    tallies: dict[str, TallyInfo]
    shortlist: list[ShortlistEntryInfo]


class VoteRoundOpened(_Message):
    """A vote round opened."""

    type: Literal["vote_round_opened"] = "vote_round_opened"
    seq: int
    round: RoundInfo


class VoteRoundClosed(_Message):
    """A vote round closed, by a host or at its deadline."""

    type: Literal["vote_round_closed"] = "vote_round_closed"
    seq: int
    round: RoundInfo
    reason: Literal["host", "deadline"]


class ChatMessage(_Message):
    """Somebody said something."""

    type: Literal["chat_message"] = "chat_message"
    seq: int
    message: ChatMessageInfo


class Reaction(_Message):
    """Somebody reacted (to ``product_id``, the current product when they did)."""

    type: Literal["reaction"] = "reaction"
    seq: int
    participant_id: str
    emoji: str
    product_id: str | None


class CartItemAdded(_Message):
    """An item was put in the cart, or its quantity changed."""

    type: Literal["cart_item_added"] = "cart_item_added"
    seq: int
    item: CartItemInfo


class CartItemRemoved(_Message):
    """An item was taken out of the cart."""

    type: Literal["cart_item_removed"] = "cart_item_removed"
    seq: int
    item: CartItemInfo
    by: str | None


class OwnCart(_Message):
    """A live room's viewer's own cart as it now is: after its ``cart_add`` / ``cart_remove``,
    and right after ``joined`` (to that viewer only, no ``seq``)."""

    type: Literal["own_cart"] = "own_cart"
    items: list[CartItemInfo]


class CheckoutLineInfo(_Message):
    """One variant a checkout link buys, and how many."""

    product_id: str
    variant_id: str
    quantity: int


class CheckoutLink(_Message):
    """The answer to ``checkout``: the ``url`` that checks ``lines`` out at the catalog's shop
    (whose lines: ``participant_id``, None for the whole cart)."""

    type: Literal["checkout_link"] = "checkout_link"
    url: str
    participant_id: str | None
    lines: list[CheckoutLineInfo]
    quantity: int


class OfferProgress(_Message):
    """The room's group offer was set, or its number of ``backers`` changed."""

    type: Literal["offer_progress"] = "offer_progress"
    seq: int
    offer: OfferInfo
    backers: int
    reached: bool


class OfferReached(_Message):
    """The group offer was just reached: its code applies to checkout links."""

    type: Literal["offer_reached"] = "offer_reached"
    seq: int
    offer: OfferInfo
    backers: int


class CheckoutStarted(_Message):
    """Somebody (``by``) took a checkout link for ``participant_id``'s lines (None: the whole
    cart) holding ``lines`` variants, ``quantity`` units."""

    type: Literal["checkout_started"] = "checkout_started"
    seq: int
    by: str | None
    participant_id: str | None
    lines: int
    quantity: int


class ProductRated(_Message):
    """Somebody in the room rated a product (or changed its rating)."""

    type: Literal["product_rated"] = "product_rated"
    seq: int
    rating: RatingInfo


class RatingsShared(_Message):
    """The ratings of the room's catalog by the people in the room, sent when somebody joins
    (the client shows the others' as "friends rated")."""

    type: Literal["ratings_shared"] = "ratings_shared"
    seq: int
    ratings: list[RatingInfo]


class ParticipantMuted(_Message):
    """A host muted that participant's microphone or camera (if it is you: turn it off; your
    ``media_state`` follows)."""

    type: Literal["participant_muted"] = "participant_muted"
    seq: int
    participant_id: str
    kind: Literal["audio", "video"]
    by: str | None


class ParticipantBanned(_Message):
    """That participant id may not come back while the room lives."""

    type: Literal["participant_banned"] = "participant_banned"
    seq: int
    participant_id: str
    by: str | None


class RoleChanged(_Message):
    """A viewer came up to the stage (``guest``) or a guest went back to the audience."""

    type: Literal["role_changed"] = "role_changed"
    seq: int
    participant_id: str
    role: Literal["viewer", "guest"]
    by: str | None


class SlowModeChanged(_Message):
    """Chat allows one message per ``seconds`` per participant now (0: off)."""

    type: Literal["slow_mode_changed"] = "slow_mode_changed"
    seq: int
    seconds: float
    by: str | None


class ChatHidden(_Message):
    """A host hid the chat message of seq ``message_seq``: stop showing it."""

    type: Literal["chat_hidden"] = "chat_hidden"
    seq: int
    message_seq: int
    by: str | None


class HandRaised(_Message):
    """A viewer raised (or lowered) its hand to come up to the stage."""

    type: Literal["hand_raised"] = "hand_raised"
    seq: int
    participant_id: str
    raised: bool


class ReactionCounts(_Message):
    """A live room's audience: the reactions and votes of the last interval, folded into one
    message (sent at most every COSHOP_REACTION_INTERVAL seconds) instead of one event each."""

    type: Literal["reaction_counts"] = "reaction_counts"
    #: The seq of the latest event folded in (not the next seq: see "Live rooms' audience").
    up_to_seq: int
    #: Reactions per emoji since the previous ``reaction_counts``.
    reactions: dict[str, int]
    #: The same, per product reacted to.
    by_product: dict[str, dict[str, int]]
    #: Votes cast or retracted since the previous one.
    votes: int
    #: Every product's tally and the shortlist after the latest of them; null: no vote since.
    tallies: dict[str, TallyInfo] | None
    shortlist: list[ShortlistEntryInfo] | None
    #: Viewers in the audience now, when viewers joined or left since the previous one (their
    #: ``participant_joined`` / ``participant_left`` are not sent to the audience).
    audience_count: int | None = None


class Left(_Message):
    """You are no longer in the room; the socket stays open for another ``join``."""

    type: Literal["left"] = "left"
    reason: str


class Redirect(_Message):
    """This room's media is served by another node: connect to ``url`` and send the same
    ``join`` there (with ``resume`` if you had been in the room). Sent in reply to ``join``
    before anything is set up, or to a joined socket whose room moves (its node drains, or
    the room was re-pinned elsewhere); the socket stays open but is of no more use."""

    type: Literal["redirect"] = "redirect"
    url: str
    room: str
    node: str
    reason: Literal["placement", "draining", "moved"]
    resume: str | None = None
    """A fresh resume credential to join ``url`` with instead of the one of ``joined`` (a
    viewer of an edge invited to the stage: it carries the new role)."""


class Error(_Message):
    """A request failed; the socket and the room carry on."""

    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    ref: str | None = None
    #: With ``stale_version``: the carousel that won.
    carousel: CarouselInfo | None = None
    #: With ``rate_limited`` and ``slow_mode``: seconds until the action is allowed again;
    #: with ``unavailable``: seconds until the room state is worth trying again.
    retry_after: float | None = None

    @model_serializer(mode="wrap")
    def _only_present_details(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The detail fields exist only on the codes that have them.
        data: dict[str, Any] = handler(self)
        for name in ("carousel", "retry_after"):
            if data.get(name) is None:
                data.pop(name, None)
        return data


class Pong(_Message):
    """Reply to ``ping``."""

    type: Literal["pong"] = "pong"
    nonce: str | int | None = None


ServerMessage = Annotated[
    Joined
    | Snapshot
    | Offer
    | Slots
    | ParticipantJoined
    | ParticipantLeft
    | TrackPublished
    | MediaStateChanged
    | ActiveSpeaker
    | RoomClosed
    | CarouselChanged
    | VoteCast
    | VoteRetracted
    | VoteRoundOpened
    | VoteRoundClosed
    | ChatMessage
    | Reaction
    | CartItemAdded
    | CartItemRemoved
    | CheckoutLink
    | OwnCart
    | CheckoutStarted
    | OfferProgress
    | OfferReached
    | ProductRated
    | RatingsShared
    | ParticipantMuted
    | ParticipantBanned
    | RoleChanged
    | SlowModeChanged
    | ChatHidden
    | HandRaised
    | ReactionCounts
    | Left
    | Redirect
    | Error
    | Pong
    | May,
    Field(discriminator="type"),
]

_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def _by_type(union: Any) -> dict[str, type[BaseModel]]:
    members = get_args(get_args(union)[0])
    return {get_args(m.model_fields["type"].annotation)[0]: m for m in members}


CLIENT_TYPES = frozenset(_by_type(ClientMessage))
SERVER_MESSAGES = _by_type(ServerMessage)
"""Every server message class by its ``type``."""
SERVER_TYPES = frozenset(SERVER_MESSAGES)


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Validate one client frame. Raises ProtocolError (bad_message / unknown_type)."""
    try:
        data = untrusted_json.loads(raw)
    except untrusted_json.InvalidJson as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, str(exc)) from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "a message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "missing string field 'type'")
    if kind not in CLIENT_TYPES:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}", ref=kind)
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        # The first location part is the union tag ("join"); the field path follows.
        raise ProtocolError(ErrorCode.BAD_MESSAGE, describe(exc, skip=1), ref=kind) from None


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """Validate one server frame (for clients and tests). Raises ValidationError."""
    return _server_adapter.validate_json(raw)


def dump(message: ClientMessage | ServerMessage) -> str:
    """Serialise a message to the JSON text sent on the socket."""
    return message.model_dump_json()


def is_room_id(text: str) -> bool:
    """True if ``text`` is a valid room id."""
    return validation.ROOM_ID_PATTERN.fullmatch(text) is not None


def describe(exc: ValidationError, *, skip: int = 0) -> str:
    """A one-line ``field: problem; ...`` summary (``skip`` leading location parts)."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"][skip:]) or "body"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
