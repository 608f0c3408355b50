"""The HTTP API's bodies as pydantic models: requests validated from JSON, responses dumped to
it. signaling/openapi.py generates its schema components from these, so they are the contract."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rooms.models import Role, RoomKind
from rooms.shopping import Move
from signaling.protocol import (
    ROOM_ID_PATTERN,
    CarouselInfo,
    CartItemInfo,
    CatalogInfo,
    CheckoutLineInfo,
    ErrorCode,
    OfferInfo,
    ParticipantInfo,
    RatingInfo,
    RoundInfo,
    ShortlistEntryInfo,
    TallyInfo,
    VoteInfo,
)

MAX_TOKEN_TTL = 7 * 24 * 3600.0

Seq = Field(description="Seq of the room event announcing the change.")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests ------------------------------------------------------------------------------------


class CreateRoom(_Body):
    """Body of ``POST /api/rooms``."""

    id: str | None = Field(None, pattern=ROOM_ID_PATTERN, description="Random when omitted.")
    capacity: int | None = Field(
        None, ge=1, le=100, description="The node's default (COSHOP_ROOM_CAPACITY) when omitted; "
        "a live room's stage (host and guests)."
    )
    kind: RoomKind = Field(
        RoomKind.GROUP,
        description="`group`: everyone takes a seat; `live`: a stage of `capacity` publishers "
        "and a receive-only audience of viewers.",
    )
    audience_capacity: int | None = Field(
        None, ge=1, le=1_000_000,
        description="Viewers a live room admits, across every node; the node's default "
        "(COSHOP_AUDIENCE_CAPACITY) when omitted.",
    )


class TokenRequest(_Body):
    """Body of ``POST /api/rooms/{id}/tokens``."""

    identity: str | None = Field(
        None, pattern=ROOM_ID_PATTERN, description="Participant id; random when omitted."
    )
    name: str = Field(min_length=1, max_length=64)
    role: Role = Role.GUEST
    ttl: float | None = Field(
        None, gt=0, le=MAX_TOKEN_TTL, description="Seconds; COSHOP_TOKEN_TTL when omitted."
    )
    can_publish: bool | None = Field(
        None, description="Grant canPublish; default: every role but viewer."
    )


class MoveCarousel(_Body):
    """Body of ``POST /api/rooms/{id}/carousel``."""

    action: Move
    product_id: str | None = Field(
        None, min_length=1, max_length=128, description="With `goto` only."
    )
    version: int | None = Field(None, ge=0, description="Move only from this version.")


class OpenRound(_Body):
    """Body of ``POST /api/rooms/{id}/vote-round``."""

    duration: float = Field(ge=5, le=3600, description="Seconds.")
    product_ids: list[str] | None = Field(
        None, min_length=1, max_length=1000, description="Default: every product."
    )


class MuteRequest(_Body):
    """Body of ``POST /api/rooms/{id}/participants/{participant_id}/mute``."""

    kind: Literal["audio", "video"] = Field(description="Microphone or camera.")


class BanRequest(_Body):
    """Body of ``POST /api/rooms/{id}/bans``."""

    participant_id: str = Field(
        pattern=ROOM_ID_PATTERN, description="The identity barred (the token's `sub`)."
    )


class RoleRequest(_Body):
    """Body of ``PUT /api/rooms/{id}/participants/{participant_id}/role``."""

    role: Literal["viewer", "guest"] = Field(
        description="`guest`: up to a live room's stage; `viewer`: back to its audience."
    )


class SlowModeRequest(_Body):
    """Body of ``PUT /api/rooms/{id}/slow-mode``."""

    seconds: float = Field(ge=0, le=3600, description="Between two chat messages; 0 = off.")


class CheckoutRequest(_Body):
    """Body of ``POST /api/rooms/{id}/checkout``."""

    participant_id: str | None = Field(
        None, pattern=ROOM_ID_PATTERN,
        description="Whose cart lines (`added_by`) the link buys; the whole cart when omitted.",
    )


class OfferRequest(_Body):
    """Body of ``PUT /api/rooms/{id}/offer``: a brand's group offer (rooms.offers)."""

    product_id: str = Field(min_length=1, max_length=128)
    threshold: int = Field(ge=1, le=1000, description="People with the product in the cart.")
    percent: int = Field(ge=1, le=100, description="The discount, in % (the shop applies it).")
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$",
                      description="Discount code the checkout links carry once reached.")
    duration: float = Field(gt=0, le=7 * 24 * 3600, description="Seconds until it expires.")


class RatingRequest(_Body):
    """Body of ``POST /api/rooms/{id}/ratings``: a participant's 1-5 star rating of a product
    the room's cart held."""

    product_id: str = Field(min_length=1, max_length=128)
    stars: int = Field(strict=True, ge=1, le=5)
    participant_id: str | None = Field(
        None, pattern=ROOM_ID_PATTERN,
        description="Who rates, when the API rates for a participant; left out (or the same) "
        "when a participant's own credential authorizes the request.",
    )
    name: str | None = Field(
        None, min_length=1, max_length=64,
        description="How friends see the rater (API only; default: the participant id).",
    )


# --- responses -----------------------------------------------------------------------------------


class ErrorInfo(_Body):
    """What went wrong: a wire error code (docs/PROTOCOL.md) and a message."""

    code: ErrorCode
    message: str


class ApiError(_Body):
    """The body of every failed request."""

    error: ErrorInfo
    retry_after: float | None = Field(
        None,
        description="With `rate_limited` (429) and `unavailable` (503, also in the "
        "Retry-After header): seconds to wait before trying again.",
    )
    carousel: CarouselInfo | None = Field(None, description="With `stale_version`: the current.")


class Room(_Body):
    """A room as the API shows it."""

    id: str
    capacity: int
    closed: bool
    created_at: float = Field(description="Unix seconds.")
    participant_count: int = Field(description="Everyone in the room, a live room's audience too.")
    kind: RoomKind = RoomKind.GROUP
    audience_capacity: int = Field(description="Viewers a live room admits (not used by groups).")
    audience_count: int = Field(description="Viewers in a live room's audience (0 in groups).")


class RoomList(_Body):
    """Every room the store knows, closed ones included."""

    rooms: list[Room]


class RoomDetail(Room):
    """A room with its participants (none once closed)."""

    seq: int | None = Field(description="The room's latest event number; null once closed.")
    participants: list[ParticipantInfo]


class RoomStatus(_Body):
    """Whether a room id names a room: what a page needs before joining (no 404 for a well-formed
    id that names none, so a browser logs no failed request)."""

    id: str
    exists: bool
    closed: bool = Field(description="True once closed (then `exists` is true too).")


class ClosedRoom(_Body):
    """A room just closed; ``seq`` numbers its room_closed event."""

    id: str
    closed: Literal[True]
    seq: int


class Token(_Body):
    """A signed join token (a JWT, docs/PROTOCOL.md "Auth") and what it grants."""

    token: str
    room: str
    identity: str
    name: str
    role: Role
    expires_at: float = Field(description="Unix seconds.")
    ws_url: str = Field(description="Where to open the socket.")


class CatalogSummary(_Body):
    """The catalog just loaded."""

    revision: int
    currency: str | None
    product_count: int


class CatalogLoaded(_Body):
    """A catalog was loaded."""

    catalog: CatalogSummary
    carousel: CarouselInfo
    seq: int = Seq


class CarouselMoved(_Body):
    """The carousel moved."""

    carousel: CarouselInfo
    seq: int = Seq


class RoundChange(_Body):
    """A vote round opened or closed."""

    round: RoundInfo
    seq: int = Seq


class Tallies(_Body):
    """Live vote results as of ``seq``."""

    seq: int
    tallies: dict[str, TallyInfo]
    shortlist: list[ShortlistEntryInfo]
    round: RoundInfo | None
    votes: list[VoteInfo]


class ShownProduct(_Body):
    """A product that was current, and how often."""

    product_id: str
    title: str | None
    times: int = Field(description="Times it became current.")


class Reactions(_Body):
    """Reaction counts."""

    total: int
    by_emoji: dict[str, int]
    by_product: dict[str, dict[str, int]]


class Recap(_Body):
    """The session recap."""

    room: str
    products_shown: list[ShownProduct]
    tallies: dict[str, TallyInfo]
    shortlist: list[ShortlistEntryInfo]
    cart: list[CartItemInfo]
    reactions: Reactions
    votes_cast: int
    chat_messages: int
    views: int = Field(description="A live room's audience seats taken (0 in a group room).")
    peak_viewers: int = Field(description="The most viewers a live room's audience held at once.")
    cart_adds: dict[str, int] = Field(
        description="Accepted cart_add requests per product id (a quantity change counts too)."
    )
    checkouts_started: int = Field(
        0, description="Checkout links handed out (`checkout_started` events)."
    )


class CheckoutLink(_Body):
    """A checkout link at the shop the room's catalog names (docs/PROTOCOL.md, Checkout)."""

    url: str = Field(description="Shopify cart permalink or the catalog's checkout_url_template.")
    participant_id: str | None = Field(description="Whose lines; null for the whole cart.")
    lines: list[CheckoutLineInfo]
    quantity: int = Field(description="Units over all lines.")
    seq: int = Field(description="The seq of the `checkout_started` event it published.")


class OfferSet(_Body):
    """The offer set, its progress now, and the seq of its ``offer_progress``."""

    offer: OfferInfo
    backers: int = Field(description="People whose own cart lines hold the product.")
    reached: bool
    seq: int = Seq


class Rated(_Body):
    """The rating kept (replacing the rater's earlier one of the product)."""

    rating: RatingInfo
    seq: int | None = Field(
        description="Seq of the `product_rated` event in the room; null once it is closed."
    )


class RelayHealth(_Body):
    """One live room this node relays as an edge (docs/PROTOCOL.md, Live rooms across nodes)."""

    room: str
    origin: str | None = Field(description="Node id of the origin relayed from now (null: none).")
    viewers: int = Field(description="Viewers of the room served here.")
    connections: int = Field(description="Relay connections made so far (reconnects add one).")
    dtls: str = Field(description="The relay transport's DTLS state (`connected`: encrypted).")
    srtp: Literal["on", "off"] = Field(description="`on`: media crosses as SRTP (RFC 5764).")


class Health(_Body):
    """Liveness and a summary of this node."""

    status: Literal["ok", "draining"] = Field(
        description="`draining` (HTTP 503, so a load balancer stops sending new connections): "
        "the node takes no new rooms and is sending its participants to other nodes."
    )
    node_id: str
    store: Literal["memory", "redis"]
    store_state: Literal["starting", "up", "down", "closed"] = Field(
        description="`down`: Redis unreachable; operations answer `unavailable` (503) until it "
        "is back."
    )
    rooms: int = Field(description="Rooms with a socket here.")
    peers: int = Field(description="Joined sockets here.")
    connections: int = Field(description="Open sockets here.")
    relays: list[RelayHealth] = Field(
        default_factory=list, description="Live rooms relayed here from their origin (an edge)."
    )
    relayed_to: int = Field(0, description="Edge relays this node serves as a room's origin.")


class Moderated(_Body):
    """A host control took effect."""

    seq: int = Seq


class Drain(_Body):
    """The node drains (``POST /api/node/drain``)."""

    status: Literal["draining"]
    node_id: str


class WebhookDelivery(_Body):
    """One webhook event to one endpoint (``Coshop-Event-Id``: ``event_id``)."""

    event_id: str
    type: str
    url: str
    status: Literal["queued", "retrying", "delivered", "failed", "dropped"] = Field(
        description="`failed`: every attempt failed; `dropped`: the endpoint's queue was full."
    )
    attempts: int
    last_status: int | None = Field(description="HTTP status of the last answer (None: none).")
    last_error: str | None
    created_at: float = Field(description="Unix seconds.")
    updated_at: float = Field(description="Unix seconds of the last attempt (or creation).")


class WebhookDeliveries(_Body):
    """This node's latest webhook deliveries, newest first."""

    node_id: str
    deliveries: list[WebhookDelivery]


class RecordingStatus(_Body):
    """A room's recording while it runs (``/api/rooms/{id}/recording``)."""

    id: str
    room: str
    state: Literal["recording", "stopped"]
    started_at: float = Field(description="Unix seconds: the recording's time zero.")
    directory: str = Field(description="Where its files and manifest.json go, on the node.")
    publishers: list[str] = Field(description="Participant ids recorded so far.")


class RecordedTrack(_Body):
    """One track of a recorded file; timestamps are seconds since ``started_at``."""

    codec: Literal["vp8", "opus"]
    frames: int
    first_pts: float | None
    last_pts: float | None
    width: int | None = None
    height: int | None = None


class RecordedFile(_Body):
    """One publisher's WebM file (``file`` None: nothing recordable arrived)."""

    participant_id: str
    file: str | None
    first_wall_time: float | None = Field(description="Unix seconds of its first frame.")
    tracks: dict[str, RecordedTrack]
    skipped: dict[str, str] = Field(
        description="Tracks not recorded, by kind: their codec (WebM here is VP8 + Opus)."
    )
    dropped_video_frames: int = Field(description="Incomplete (lost) frames left out.")
    lost_to_queue: int


class RecordingManifest(RecordingStatus):
    """A stopped recording: what its manifest.json holds."""

    stopped_at: float
    duration: float
    timestamps: str
    files: list[RecordedFile]
    errors: list[str]
    lost_to_queue: int


#: Request bodies (validation schemas) and response bodies (serialization schemas).
REQUESTS: tuple[type[BaseModel], ...] = (
    CreateRoom, TokenRequest, MoveCarousel, OpenRound, MuteRequest, BanRequest, RoleRequest,
    SlowModeRequest, CheckoutRequest, OfferRequest, RatingRequest,
)
RESPONSES: tuple[type[BaseModel], ...] = (
    ApiError, Room, RoomList, RoomDetail, RoomStatus, ClosedRoom, Token, CatalogInfo, CatalogLoaded,
    CarouselMoved, RoundChange, Tallies, Recap, Health, Drain, Moderated, CheckoutLink,
    OfferSet, WebhookDeliveries, Rated, RecordingStatus, RecordingManifest,
)
