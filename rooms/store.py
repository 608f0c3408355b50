"""The RoomStore protocol: where room state lives (memory or Redis), chosen once at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Literal, Protocol

from rooms import events
from rooms.catalog.models import Catalog
from rooms.models import (
    Participant,
    Reassertion,
    Role,
    RoomEvent,
    RoomInfo,
    RoomKind,
    RoomSnapshot,
)
from rooms.ratings import Rating
from rooms.shopping import Move, RemoteMode, Vote
from rooms.shopping_state import CartItem, Recap, RoomCatalog


class EventSubscription(Protocol):
    """A live feed of one room's events, in ``seq`` order. Use as ``async with``.

    Iteration ends after ``room_closed`` or when the store closes; it raises
    SubscriptionLagged if events were lost (resync from a snapshot, subscribe again).
    """

    async def __aenter__(self) -> EventSubscription: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[RoomEvent]: ...


class RoomStore(Protocol):
    """Room state shared by every node. Every read-check-write is one atomic operation.

    Shared stores raise rooms.errors.StoreUnavailable from any method while unreachable.

    Rooms are created on first join (or explicitly) with the store's default capacity.
    Each state change publishes exactly one RoomEvent carrying the room's next ``seq``.

    Shopping operations name who acts with ``by``: a participant id (NotInRoom if they are
    not in the room; their role decides, see rooms.shopping), or None for the HTTP API, which
    may do what an admin may. Every change raises RoomClosed / NotInRoom for a closed / unknown
    room, and any refusal (Forbidden, UnknownProduct, StaleVersion, VoteClosed, ValueError for
    malformed input) changes nothing. Each method's return type names the kind of event it
    publishes (rooms.events declares each kind's fields).
    """

    async def create_room(
        self,
        room_id: str,
        *,
        capacity: int | None = None,
        catalog: Catalog | None = None,
        image_base: str | None = None,
        remote_mode: RemoteMode = RemoteMode.HOST_LED,
        kind: RoomKind = RoomKind.GROUP,
        audience_capacity: int | None = None,
    ) -> RoomInfo:
        """Create the room if absent (idempotent), showing ``catalog`` (revision 0; no event:
        creating a room is not one) with its carousel in ``remote_mode``; return its info.
        A ``live`` room's capacity is its stage; its viewers sit in an audience of
        ``audience_capacity`` (the store's default when None; rooms.live). Raises RoomClosed."""
        ...

    async def get_room(self, room_id: str) -> RoomInfo | None: ...

    async def list_rooms(self) -> list[RoomInfo]: ...

    async def close_room(self, room_id: str) -> RoomEvent[events.RoomClosed]:
        """Close the room, remove everyone, publish ``room_closed``.

        Raises NotInRoom, or RoomClosed if it was already closed.
        """
        ...

    async def join(
        self, room_id: str, participant: Participant
    ) -> tuple[RoomSnapshot, RoomEvent[events.ParticipantJoined]]:
        """Admit under capacity atomically (a live room's viewers under its audience
        capacity: rooms.live); publish ``participant_joined``.

        Raises RoomFull (AudienceFull), Banned, RoomClosed or AlreadyJoined. Returns the
        snapshot just after the join and the event that announced it; a live room's viewer
        is shown the stage and itself, the rest of the audience only counted (a join costs
        the stage's size, not the audience's).
        """
        ...

    async def leave(
        self, room_id: str, participant_id: str, *, reason: str, joined_at: float | None = None
    ) -> RoomEvent[events.ParticipantLeft] | None:
        """Remove the participant and publish ``participant_left``; None if they were not in.

        With ``joined_at`` (the store's stamp from ``join``) only that session of the
        participant is removed: an old connection's late leave never removes a newer one.
        """
        ...

    async def snapshot(self, room_id: str, *, viewer: str | None = None) -> RoomSnapshot:
        """The room's state now. Raises NotInRoom for an unknown room. With ``viewer`` (a
        participant id), as shown to it: in a live room the stage and, if it is there, that
        participant listed, the rest of the audience only counted."""
        ...

    async def publish(self, room_id: str, type: str, data: dict[str, Any]) -> RoomEvent:
        """Number and publish an event of a type the store does not emit itself: one of a kind
        declared elsewhere (e.g. signaling's ``track_published``), its ``data`` validated against
        the declaration, or of any other type with free-form JSON ``data``. Raises ValueError
        for a store kind's type or invalid data (rooms.events.publishable)."""
        ...

    async def load_catalog(
        self, room_id: str, catalog: Catalog, *, image_base: str | None = None
    ) -> RoomEvent[events.CatalogLoaded]:
        """Replace the room's catalog; ``catalog_loaded``. The carousel keeps its product if
        still offered (else the first), version + 1; votes and cart items of products or
        variants no longer offered are dropped."""
        ...

    async def room_catalog(self, room_id: str) -> RoomCatalog:
        """The room's catalog (closed rooms too). Raises NotInRoom."""
        ...

    async def move_carousel(
        self,
        room_id: str,
        move: Move,
        *,
        by: str | None,
        product_id: str | None = None,
        expected_version: int | None = None,
    ) -> RoomEvent[events.CarouselChanged]:
        """Move the carousel (``product_id`` for Move.GOTO); ``carousel_changed``.

        Checks, in order: may ``by`` move it (Forbidden), is ``expected_version`` current
        (StaleVersion carrying the carousel; None skips the check), is there a target
        (UnknownProduct). Next/prev wrap around.
        """
        ...

    async def pass_remote(
        self, room_id: str, *, by: str | None, to: str | None
    ) -> RoomEvent[events.CarouselChanged]:
        """Hand the remote to participant ``to`` (None: free it); ``carousel_changed``.

        Forbidden unless ``by`` may hand it (rooms.shopping.can_hand_remote) and ``to`` may
        hold it; NotInRoom if ``to`` is not in the room.
        """
        ...

    async def set_remote_mode(
        self, room_id: str, mode: RemoteMode, *, by: str | None
    ) -> RoomEvent[events.CarouselChanged]:
        """Host-led or everyone; hosts/admins only (Forbidden); ``carousel_changed``."""
        ...

    async def cast_vote(self, room_id: str, vote: Vote) -> RoomEvent[events.VoteCast]:
        """Record ``vote`` (replacing the voter's earlier one on that product); ``vote_cast``.

        Raises NotInRoom for a voter not in the room, UnknownProduct for a product or variant
        not in the catalog, VoteClosed when the round does not take it (rooms.shopping
        .vote_allowed).
        """
        ...

    async def retract_vote(
        self, room_id: str, participant_id: str, product_id: str
    ) -> RoomEvent[events.VoteRetracted] | None:
        """Remove the participant's vote on the product; ``vote_retracted``, or None (no
        event) if there was none. Same refusals as ``cast_vote``."""
        ...

    async def open_vote_round(
        self,
        room_id: str,
        *,
        by: str | None,
        duration: float,
        product_ids: tuple[str, ...] | list[str] | None = None,
    ) -> RoomEvent[events.VoteRoundOpened]:
        """Open a round on ``product_ids`` (None: all) for ``duration`` seconds, replacing
        the current one; hosts/admins only; ``vote_round_opened``. The round's id is its seq."""
        ...

    async def close_vote_round(
        self,
        room_id: str,
        *,
        by: str | None,
        round_id: int | None = None,
        reason: Literal["host", "deadline"] = "host",
    ) -> RoomEvent[events.VoteRoundClosed] | None:
        """Close the open round (only round ``round_id``, if given); ``vote_round_closed``.

        None (no event) when no round is open. A round past its deadline, or closed with
        reason ``deadline``, keeps its ``closes_at`` and is announced with reason ``deadline``.
        """
        ...

    async def post_chat(
        self, room_id: str, participant_id: str, text: str
    ) -> RoomEvent[events.ChatMessage]:
        """Append a chat message (cleaned: InvalidChatMessage) to the bounded history;
        ``chat_message``. Raises SlowMode when the room's slow mode wants the participant
        to wait (rooms.moderation.slow_mode_wait)."""
        ...

    async def react(
        self, room_id: str, participant_id: str, emoji: str, *, product_id: str | None = None
    ) -> RoomEvent[events.Reaction]:
        """Count a reaction (InvalidReaction unless one emoji) to ``product_id`` or the current
        product; ``reaction``."""
        ...

    async def add_to_cart(
        self,
        room_id: str,
        *,
        by: str | None,
        product_id: str,
        variant_id: str | None = None,
        quantity: int = 1,
    ) -> RoomEvent[events.CartItemAdded]:
        """Put an item in the shared cart, or set the quantity of the one there (which keeps
        who added it); viewers may not (Forbidden); ``cart_item_added``."""
        ...

    async def remove_from_cart(
        self, room_id: str, *, by: str | None, product_id: str, variant_id: str | None = None
    ) -> RoomEvent[events.CartItemRemoved] | None:
        """Take an item out of the cart; ``cart_item_removed``, or None if it was not there."""
        ...

    async def add_to_own_cart(
        self,
        room_id: str,
        participant_id: str,
        *,
        product_id: str,
        variant_id: str | None = None,
        quantity: int = 1,
    ) -> tuple[CartItem, ...]:
        """Put an item in a live room's viewer's own cart, or set the quantity of the one
        there; counted in the recap's cart adds. No event: the viewer's cart as it now is.
        Forbidden unless a live room's viewer (rooms.own_cart); UnknownProduct; NotInRoom."""
        ...

    async def remove_from_own_cart(
        self, room_id: str, participant_id: str, *, product_id: str, variant_id: str | None = None
    ) -> tuple[CartItem, ...]:
        """Take an item out of a live room's viewer's own cart (nothing if not there); the
        viewer's cart as it now is. Forbidden unless a live room's viewer; NotInRoom."""
        ...

    async def own_cart(self, room_id: str, participant_id: str) -> tuple[CartItem, ...]:
        """A participant's own cart, oldest line first (empty if none)."""
        ...

    async def set_offer(
        self,
        room_id: str,
        *,
        by: str | None,
        product_id: str,
        threshold: int,
        percent: int,
        code: str,
        duration: float,
    ) -> RoomEvent[events.OfferProgress]:
        """Set the room's group offer (replacing one there; rooms.offers): ``percent`` % off
        ``product_id`` with ``code`` once ``threshold`` people have it in the cart, for
        ``duration`` seconds; hosts/admins only (Forbidden), UnknownProduct for a product not
        in the catalog, ValueError for bad terms. Publishes ``offer_progress`` (returned), then
        ``offer_reached`` if it is reached already. Afterwards every cart change that changes
        the offer's backers publishes ``offer_progress`` (and ``offer_reached`` when it
        becomes reached) right after its own event, in the same atomic operation."""
        ...

    async def start_checkout(
        self,
        room_id: str,
        *,
        by: str | None,
        participant_id: str | None,
        lines: int,
        quantity: int,
    ) -> RoomEvent[events.CheckoutStarted]:
        """Count a checkout link handed out for ``participant_id``'s cart lines (None: the
        whole cart); ``checkout_started``. A participant may take its own lines' link (viewers
        never: Forbidden), hosts and the HTTP API anyone's or the whole cart's."""
        ...

    async def recap(self, room_id: str) -> Recap:
        """The room's session recap (closed rooms too). Raises NotInRoom."""
        ...

    # --- ratings (rooms.ratings: per catalog, not per room; no event of their own) -------------

    async def rate_product(self, catalog_key: str, rating: Rating) -> None:
        """Keep ``rating`` of the catalog ``catalog_key`` (rooms.ratings.ratings_key), replacing
        the rater's earlier rating of that product: one per person per product."""
        ...

    async def ratings_by(
        self, catalog_key: str, participant_ids: Sequence[str]
    ) -> list[Rating]:
        """Every rating of the catalog ``catalog_key`` given by these people, by product then
        rater (rooms.ratings.ordered_ratings)."""
        ...

    # --- host controls (rooms.moderation: hosts, admins and the HTTP API; Forbidden else) -------

    async def mute(
        self, room_id: str, participant_id: str, kind: Literal["audio", "video"], *, by: str | None
    ) -> RoomEvent[events.ParticipantMuted]:
        """Tell the room (and the participant) that a host muted its microphone or camera;
        ``participant_muted``. NotInRoom if the participant is not in the room."""
        ...

    async def remove_participant(
        self, room_id: str, participant_id: str, *, by: str | None
    ) -> RoomEvent[events.ParticipantLeft]:
        """Take the participant out; ``participant_left`` with reason ``removed``. NotInRoom
        if it is not in the room; hosts are not removed (Forbidden)."""
        ...

    async def ban(
        self, room_id: str, participant_id: str, *, by: str | None
    ) -> RoomEvent[events.ParticipantBanned]:
        """Bar the participant id from the room for its life (join raises Banned), taking it
        out if in (``participant_left``, reason ``banned``); ``participant_banned``."""
        ...

    async def set_role(
        self, room_id: str, participant_id: str, role: Role, *, by: str | None
    ) -> RoomEvent[events.RoleChanged]:
        """Bring a live room's viewer up to the stage (``guest``, RoomFull past its capacity)
        or a guest back to the audience (``viewer``; a guest may step down by itself);
        ``role_changed``. Forbidden in a group room or for any other change."""
        ...

    async def raise_hand(
        self, room_id: str, participant_id: str, raised: bool
    ) -> RoomEvent[events.HandRaised] | None:
        """A viewer raises (or lowers) its hand; ``hand_raised``, or None if it already was
        (or was not). Forbidden for anyone but viewers. The hand is lowered without an event
        when the viewer moves to the stage or joins again; leavers are not listed."""
        ...

    async def set_slow_mode(
        self, room_id: str, seconds: float, *, by: str | None
    ) -> RoomEvent[events.SlowModeChanged]:
        """One chat message per ``seconds`` per participant (0: off); ``slow_mode_changed``.
        post_chat then raises SlowMode for a participant (not a host) too early."""
        ...

    async def hide_chat(
        self, room_id: str, message_seq: int, *, by: str | None
    ) -> RoomEvent[events.ChatHidden] | None:
        """Take the chat message of seq ``message_seq`` out of the history; ``chat_hidden``,
        or None (no event) if the history does not hold it."""
        ...

    # --- presence (shared stores: participants live under their node's lease) ------------------

    async def renew_presence(self) -> bool:
        """Renew this node's presence lease; False if it had lapsed (never held, expired, or
        lost by the store), in which case every live participant must be reasserted.
        Raises StoreUnavailable (so may every method, when the shared store is down)."""
        ...

    async def reap_lost_nodes(self) -> list[RoomEvent[events.ParticipantLeft]]:
        """Remove the participants of other nodes whose lease lapsed, publishing
        ``participant_left`` with reason ``node_lost`` for each; return those events."""
        ...

    async def reassert(
        self, room_id: str, participants: Sequence[Participant], *, min_seq: int = 0
    ) -> Reassertion:
        """Make the room hold exactly this node's live ``participants`` (stamped ``joined_at``)
        under its lease: re-create the room if the store lost it (seq at least ``min_seq``),
        re-join the lost ones, remove this node's entries that have no live session.
        Raises RoomClosed."""
        ...

    async def release_presence(self) -> None:
        """Give up this node's lease (clean shutdown, after its participants left)."""
        ...

    def subscribe(self, room_id: str) -> EventSubscription:
        """Every event of the room published after the subscription is entered."""
        ...

    async def close(self) -> None:
        """Release connections and background tasks (idempotent)."""
        ...
