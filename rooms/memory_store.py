"""MemoryStore: the embedded single-node RoomStore (no Redis), with in-process event fan-out."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from rooms import events
from rooms.catalog.models import Catalog
from rooms.errors import AlreadyJoined, Banned, NotInRoom, RoomClosed, SlowMode
from rooms.event_shapes import ParticipantInfo
from rooms.events import EventBody
from rooms.live import Seat, check_seat, seat_of
from rooms.memory_shop import RoomShop
from rooms.models import (
    DEFAULT_AUDIENCE_CAPACITY,
    DEFAULT_CAPACITY,
    Participant,
    Reassertion,
    Role,
    RoomEvent,
    RoomInfo,
    RoomKind,
    RoomSnapshot,
)
from rooms.moderation import (
    check_hand,
    check_moderator,
    check_slow_mode,
    check_stage_move,
    check_target,
    slow_mode_wait,
)
from rooms.offers import GroupOffer, check_offer
from rooms.ratings import Rating, ordered_ratings
from rooms.shopping import Move, RemoteMode, Vote, clean_chat_message, clean_emoji
from rooms.shopping_state import (
    CartItem,
    Recap,
    RoomCatalog,
    check_duration,
    check_quantity,
    check_round_products,
)
from rooms.snapshots import audience_count, make_snapshot
from rooms.subscription import DEFAULT_SUBSCRIPTION_BUFFER, EventQueue, QueueSubscription
from rooms.validation import validate_capacity, validate_room_id

_B = TypeVar("_B", bound=EventBody)


@dataclasses.dataclass(slots=True)
class _Room:
    capacity: int
    created_at: float
    kind: RoomKind = RoomKind.GROUP
    audience_capacity: int = DEFAULT_AUDIENCE_CAPACITY
    closed: bool = False
    seq: int = 0
    participants: dict[str, Participant] = dataclasses.field(default_factory=dict)
    banned: set[str] = dataclasses.field(default_factory=set)
    slow_mode: float = 0.0
    hands: set[str] = dataclasses.field(default_factory=set)
    views: int = 0
    peak_viewers: int = 0
    last_chat: dict[str, float] = dataclasses.field(default_factory=dict)
    shop: RoomShop = dataclasses.field(default_factory=RoomShop)


class MemoryStore:
    """RoomStore held in this process; atomic because no method awaits between read and write.

    Subscribers get events through bounded queues (see rooms.subscription for overflow).
    The store stamps ``joined_at`` and ``created_at`` with ``clock()``.
    """

    def __init__(
        self,
        *,
        default_capacity: int = DEFAULT_CAPACITY,
        audience_capacity: int = DEFAULT_AUDIENCE_CAPACITY,
        subscription_buffer: int = DEFAULT_SUBSCRIPTION_BUFFER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.default_capacity = validate_capacity(default_capacity)
        self.audience_capacity = validate_capacity(audience_capacity)
        self._subscription_buffer = subscription_buffer
        self._clock = clock
        self._rooms: dict[str, _Room] = {}
        # catalog key -> rater -> product id -> rating (rooms.ratings: per catalog, not per room)
        self._ratings: dict[str, dict[str, dict[str, Rating]]] = {}
        self._subscribers: dict[str, set[EventQueue]] = {}
        self._closed = False

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
        """Create the room if absent, with ``catalog`` if given (an existing room keeps its
        capacity, kind, catalog and mode). Raises RoomClosed."""
        kind = RoomKind(kind)
        audience = (
            self.audience_capacity if audience_capacity is None
            else validate_capacity(audience_capacity)
        )
        room = self._create_if_absent(
            room_id, capacity, RoomShop(catalog, image_base, RemoteMode(remote_mode)),
            kind=kind, audience_capacity=audience,
        )
        if room.closed:
            raise RoomClosed(room_id)
        return self._info(room_id, room)

    async def get_room(self, room_id: str) -> RoomInfo | None:
        """The room's info, or None if it does not exist."""
        self._check_open()
        room = self._rooms.get(validate_room_id(room_id))
        return None if room is None else self._info(room_id, room)

    async def list_rooms(self) -> list[RoomInfo]:
        """Every room, closed ones included, ordered by id."""
        self._check_open()
        return [self._info(room_id, self._rooms[room_id]) for room_id in sorted(self._rooms)]

    async def close_room(self, room_id: str) -> RoomEvent[events.RoomClosed]:
        """Close the room, remove everyone, publish ``room_closed``.

        Raises NotInRoom, or RoomClosed if it was already closed.
        """
        room = self._existing_open(room_id)
        room.closed = True
        room.participants.clear()
        return self._emit(room_id, room, events.RoomClosed())

    async def join(
        self, room_id: str, participant: Participant
    ) -> tuple[RoomSnapshot, RoomEvent[events.ParticipantJoined]]:
        """Admit under capacity, creating the room if absent; publish ``participant_joined``."""
        room = self._create_if_absent(room_id, None)
        if room.closed:
            raise RoomClosed(room_id)
        if participant.id in room.banned:
            raise Banned(f"{participant.id} is banned from {room_id}")
        if participant.id in room.participants:
            raise AlreadyJoined(f"{participant.id} in {room_id}")
        audience = audience_count(room.kind, room.participants.values())
        seat = seat_of(room.kind, participant.role)
        check_seat(
            room_id,
            seat,
            stage_count=len(room.participants) - audience,
            audience_count=audience,
            capacity=room.capacity,
            audience_capacity=room.audience_capacity,
        )
        if seat is Seat.AUDIENCE:
            room.views += 1
            room.peak_viewers = max(room.peak_viewers, audience + 1)
        joined = dataclasses.replace(participant, joined_at=self._clock())
        room.participants[joined.id] = joined
        room.hands.discard(joined.id)
        body = events.ParticipantJoined(participant=ParticipantInfo.of(joined))
        event = self._emit(room_id, room, body)
        viewer = joined.id if seat is Seat.AUDIENCE else None
        return self._snapshot(room_id, room, viewer=viewer), event

    async def leave(
        self, room_id: str, participant_id: str, *, reason: str, joined_at: float | None = None
    ) -> RoomEvent[events.ParticipantLeft] | None:
        """Remove the participant and publish ``participant_left``; None if they were not in
        (or, with ``joined_at``, if the one in the room joined at another time)."""
        self._check_open()
        room = self._rooms.get(validate_room_id(room_id))
        present = None if room is None else room.participants.get(participant_id)
        if room is None or present is None:
            return None
        if joined_at is not None and present.joined_at != joined_at:
            return None
        del room.participants[participant_id]
        room.shop.release_remote(participant_id)
        body = events.ParticipantLeft(participant_id=participant_id, reason=reason)
        return self._emit(room_id, room, body)

    async def snapshot(self, room_id: str, *, viewer: str | None = None) -> RoomSnapshot:
        """The room's state now (as shown to ``viewer``, see RoomStore). Raises NotInRoom for
        an unknown room."""
        self._check_open()
        room = self._rooms.get(validate_room_id(room_id))
        if room is None:
            raise NotInRoom(room_id)
        return self._snapshot(room_id, room, viewer=viewer)

    async def publish(self, room_id: str, type: str, data: dict[str, Any]) -> RoomEvent:
        """Number and publish an event the store does not emit itself (rooms.events.publishable).
        Raises NotInRoom, RoomClosed, ValueError."""
        body = events.publishable(type, data)  # before any change: invalid data changes nothing
        room = self._existing_open(room_id)
        return self._emit(room_id, room, body)

    # --- shopping (see RoomStore for the contracts) -----------------------------------------------

    async def load_catalog(
        self, room_id: str, catalog: Catalog, *, image_base: str | None = None
    ) -> RoomEvent[events.CatalogLoaded]:
        room = self._existing_open(room_id)
        body = room.shop.load_catalog(catalog, image_base, room.seq + 1, self._now())
        return self._emit(room_id, room, body)

    async def room_catalog(self, room_id: str) -> RoomCatalog:
        return self._existing(room_id).shop.catalog

    async def move_carousel(
        self,
        room_id: str,
        move: Move,
        *,
        by: str | None,
        product_id: str | None = None,
        expected_version: int | None = None,
    ) -> RoomEvent[events.CarouselChanged]:
        move = Move(move)
        room = self._existing_open(room_id)
        body = room.shop.move(self._actor(room, by), move, product_id, expected_version)
        return self._emit(room_id, room, body)

    async def pass_remote(
        self, room_id: str, *, by: str | None, to: str | None
    ) -> RoomEvent[events.CarouselChanged]:
        room = self._existing_open(room_id)
        actor = self._actor(room, by)
        holder = None if to is None else room.participants.get(to)
        return self._emit(room_id, room, room.shop.set_remote(actor, holder, to))

    async def set_remote_mode(
        self, room_id: str, mode: RemoteMode, *, by: str | None
    ) -> RoomEvent[events.CarouselChanged]:
        mode = RemoteMode(mode)
        room = self._existing_open(room_id)
        return self._emit(room_id, room, room.shop.set_mode(self._actor(room, by), mode))

    async def cast_vote(self, room_id: str, vote: Vote) -> RoomEvent[events.VoteCast]:
        room = self._existing_open(room_id)
        self._participant(room, vote.participant_id)
        return self._emit(room_id, room, room.shop.cast_vote(vote, self._now()))

    async def retract_vote(
        self, room_id: str, participant_id: str, product_id: str
    ) -> RoomEvent[events.VoteRetracted] | None:
        room = self._existing_open(room_id)
        self._participant(room, participant_id)
        body = room.shop.retract_vote(participant_id, product_id, self._now())
        return None if body is None else self._emit(room_id, room, body)

    async def open_vote_round(
        self,
        room_id: str,
        *,
        by: str | None,
        duration: float,
        product_ids: tuple[str, ...] | list[str] | None = None,
    ) -> RoomEvent[events.VoteRoundOpened]:
        duration = check_duration(duration)
        ids = check_round_products(product_ids)
        room = self._existing_open(room_id)
        actor = self._actor(room, by)
        body = room.shop.open_round(actor, duration, ids, self._now(), room.seq + 1)
        return self._emit(room_id, room, body)

    async def close_vote_round(
        self,
        room_id: str,
        *,
        by: str | None,
        round_id: int | None = None,
        reason: Literal["host", "deadline"] = "host",
    ) -> RoomEvent[events.VoteRoundClosed] | None:
        room = self._existing_open(room_id)
        actor = self._actor(room, by)
        body = room.shop.close_round(actor, round_id, reason, self._now())
        return None if body is None else self._emit(room_id, room, body)

    async def post_chat(
        self, room_id: str, participant_id: str, text: str
    ) -> RoomEvent[events.ChatMessage]:
        text = clean_chat_message(text)
        room = self._existing_open(room_id)
        actor = self._participant(room, participant_id)
        now = self._now()
        wait = slow_mode_wait(room.slow_mode, actor.role, room.last_chat.get(actor.id), now)
        if wait is not None:
            raise SlowMode(f"slow mode: one message per {room.slow_mode:g}s", retry_after=wait)
        body = room.shop.post_chat(actor, text, now, room.seq + 1)
        room.last_chat[actor.id] = now
        return self._emit(room_id, room, body)

    async def react(
        self, room_id: str, participant_id: str, emoji: str, *, product_id: str | None = None
    ) -> RoomEvent[events.Reaction]:
        emoji = clean_emoji(emoji)
        room = self._existing_open(room_id)
        actor = self._participant(room, participant_id)
        return self._emit(room_id, room, room.shop.react(actor, emoji, product_id))

    async def add_to_cart(
        self,
        room_id: str,
        *,
        by: str | None,
        product_id: str,
        variant_id: str | None = None,
        quantity: int = 1,
    ) -> RoomEvent[events.CartItemAdded]:
        quantity = check_quantity(quantity)
        room = self._existing_open(room_id)
        actor = self._actor(room, by)
        now = self._now()
        body = room.shop.add_to_cart(actor, product_id, variant_id, quantity, now)
        event = self._emit(room_id, room, body)
        for follow in room.shop.follow_offer(product_id, now):
            self._emit(room_id, room, follow)
        return event

    async def add_to_own_cart(
        self,
        room_id: str,
        participant_id: str,
        *,
        product_id: str,
        variant_id: str | None = None,
        quantity: int = 1,
    ) -> tuple[CartItem, ...]:
        quantity = check_quantity(quantity)
        room = self._existing_open(room_id)
        actor = self._participant(room, participant_id)
        item = CartItem(product_id, variant_id, quantity, actor.id, actor.name, self._now())
        return room.shop.change_own_cart(actor, room.kind, item)

    async def remove_from_own_cart(
        self, room_id: str, participant_id: str, *, product_id: str, variant_id: str | None = None
    ) -> tuple[CartItem, ...]:
        room = self._existing_open(room_id)
        actor = self._participant(room, participant_id)
        item = CartItem(product_id, variant_id, 0, actor.id, actor.name, 0.0)
        return room.shop.change_own_cart(actor, room.kind, item)

    async def own_cart(self, room_id: str, participant_id: str) -> tuple[CartItem, ...]:
        return self._existing(room_id).shop.own_carts.get(participant_id, ())

    async def remove_from_cart(
        self, room_id: str, *, by: str | None, product_id: str, variant_id: str | None = None
    ) -> RoomEvent[events.CartItemRemoved] | None:
        room = self._existing_open(room_id)
        body = room.shop.remove_from_cart(self._actor(room, by), product_id, variant_id)
        if body is None:
            return None
        event = self._emit(room_id, room, body)
        for follow in room.shop.follow_offer(product_id, self._now()):
            self._emit(room_id, room, follow)
        return event

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
        check_offer(threshold, percent, code, duration)
        room = self._existing_open(room_id)
        now = self._now()
        offer = GroupOffer(product_id, threshold, percent, code, round(now + duration, 3), by)
        bodies = room.shop.set_offer(self._actor(room, by), offer, now)
        first = self._emit(room_id, room, bodies[0])
        for body in bodies[1:]:
            self._emit(room_id, room, body)
        return first.of_kind(events.OfferProgress)

    async def start_checkout(
        self,
        room_id: str,
        *,
        by: str | None,
        participant_id: str | None,
        lines: int,
        quantity: int,
    ) -> RoomEvent[events.CheckoutStarted]:
        room = self._existing_open(room_id)
        body = room.shop.start_checkout(self._actor(room, by), participant_id, lines, quantity)
        return self._emit(room_id, room, body)

    async def recap(self, room_id: str) -> Recap:
        room = self._existing(room_id)
        return dataclasses.replace(
            room.shop.recap(room_id), views=room.views, peak_viewers=room.peak_viewers
        )

    # --- ratings (see RoomStore; rooms.ratings) ---------------------------------------------------

    async def rate_product(self, catalog_key: str, rating: Rating) -> None:
        self._check_open()
        by = self._ratings.setdefault(catalog_key, {}).setdefault(rating.participant_id, {})
        by[rating.product_id] = rating

    async def ratings_by(
        self, catalog_key: str, participant_ids: Sequence[str]
    ) -> list[Rating]:
        self._check_open()
        of_catalog = self._ratings.get(catalog_key, {})
        return ordered_ratings(
            rating
            for participant_id in dict.fromkeys(participant_ids)
            for rating in of_catalog.get(participant_id, {}).values()
        )

    # --- host controls (see RoomStore; rules in rooms.moderation) ---------------------------------

    async def mute(
        self, room_id: str, participant_id: str, kind: Literal["audio", "video"], *, by: str | None
    ) -> RoomEvent[events.ParticipantMuted]:
        body = events.ParticipantMuted(participant_id=participant_id, kind=kind, by=by)
        room = self._existing_open(room_id)
        actor = self._actor(room, by)
        check_moderator(actor, "mute")
        self._participant(room, participant_id)
        return self._emit(room_id, room, body)

    async def remove_participant(
        self, room_id: str, participant_id: str, *, by: str | None
    ) -> RoomEvent[events.ParticipantLeft]:
        room = self._existing_open(room_id)
        actor = self._actor(room, by)
        check_moderator(actor, "remove people")
        check_target(actor, self._participant(room, participant_id), "remove")
        return self._take_out(room_id, room, participant_id, "removed")

    async def ban(
        self, room_id: str, participant_id: str, *, by: str | None
    ) -> RoomEvent[events.ParticipantBanned]:
        room = self._existing_open(room_id)
        actor = self._actor(room, by)
        check_moderator(actor, "ban people")
        target = room.participants.get(participant_id)
        if target is not None:
            check_target(actor, target, "ban")
            self._take_out(room_id, room, participant_id, "banned")
        room.banned.add(participant_id)
        return self._emit(room_id, room, events.ParticipantBanned(participant_id=participant_id,
                                                                  by=by))

    async def set_role(
        self, room_id: str, participant_id: str, role: Role, *, by: str | None
    ) -> RoomEvent[events.RoleChanged]:
        role = Role(role)
        room = self._existing_open(room_id)
        actor = self._actor(room, by)
        target = self._participant(room, participant_id)
        audience = audience_count(room.kind, room.participants.values())
        check_stage_move(
            room_id, room.kind, actor, target, role,
            stage_count=len(room.participants) - audience, capacity=room.capacity,
        )
        room.participants[participant_id] = dataclasses.replace(target, role=role)
        room.hands.discard(participant_id)
        if role is Role.VIEWER:
            room.shop.release_remote(participant_id)
        new_role: Literal["viewer", "guest"] = "viewer" if role is Role.VIEWER else "guest"
        body = events.RoleChanged(participant_id=participant_id, role=new_role, by=by)
        return self._emit(room_id, room, body)

    async def raise_hand(
        self, room_id: str, participant_id: str, raised: bool
    ) -> RoomEvent[events.HandRaised] | None:
        room = self._existing_open(room_id)
        check_hand(self._participant(room, participant_id))
        if (participant_id in room.hands) == raised:
            return None
        if raised:
            room.hands.add(participant_id)
        else:
            room.hands.discard(participant_id)
        body = events.HandRaised(participant_id=participant_id, raised=raised)
        return self._emit(room_id, room, body)

    async def set_slow_mode(
        self, room_id: str, seconds: float, *, by: str | None
    ) -> RoomEvent[events.SlowModeChanged]:
        seconds = check_slow_mode(seconds)
        room = self._existing_open(room_id)
        check_moderator(self._actor(room, by), "set slow mode")
        room.slow_mode = seconds
        return self._emit(room_id, room, events.SlowModeChanged(seconds=seconds, by=by))

    async def hide_chat(
        self, room_id: str, message_seq: int, *, by: str | None
    ) -> RoomEvent[events.ChatHidden] | None:
        room = self._existing_open(room_id)
        check_moderator(self._actor(room, by), "hide chat messages")
        kept = [m for m in room.shop.chat if m.seq != message_seq]
        if len(kept) == len(room.shop.chat):
            return None
        room.shop.chat.clear()
        room.shop.chat.extend(kept)
        return self._emit(room_id, room, events.ChatHidden(message_seq=message_seq, by=by))

    def _take_out(
        self, room_id: str, room: _Room, participant_id: str, reason: str
    ) -> RoomEvent[events.ParticipantLeft]:
        del room.participants[participant_id]
        room.shop.release_remote(participant_id)
        body = events.ParticipantLeft(participant_id=participant_id, reason=reason)
        return self._emit(room_id, room, body)

    # --- presence: one process holds every participant, so nothing is ever lost or leased --

    async def renew_presence(self) -> bool:
        """Always held: the store lives and dies with its only node."""
        self._check_open()
        return True

    async def reap_lost_nodes(self) -> list[RoomEvent[events.ParticipantLeft]]:
        """No other nodes: nothing to reap."""
        self._check_open()
        return []

    async def reassert(
        self, room_id: str, participants: Sequence[Participant], *, min_seq: int = 0
    ) -> Reassertion:
        """Nothing to restore: the room cannot have lost what its own process holds."""
        self._check_open()
        validate_room_id(room_id)
        return Reassertion()

    async def release_presence(self) -> None:
        """Nothing to release."""

    def subscribe(self, room_id: str) -> QueueSubscription:
        """Every event of the room published after the subscription is entered."""
        self._check_open()
        queue = EventQueue(validate_room_id(room_id), self._subscription_buffer)
        return QueueSubscription(queue, attach=self._attach, detach=self._detach)

    async def close(self) -> None:
        """End every subscription; later calls on the store raise RuntimeError (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for queues in self._subscribers.values():
            for queue in queues:
                queue.end()
        self._subscribers.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("MemoryStore is closed")

    def _now(self) -> float:
        # Milliseconds, like RedisStore (whose scripts keep 14 significant digits).
        return round(self._clock(), 3)

    def _create_if_absent(
        self,
        room_id: str,
        capacity: int | None,
        shop: RoomShop | None = None,
        *,
        kind: RoomKind = RoomKind.GROUP,
        audience_capacity: int | None = None,
    ) -> _Room:
        self._check_open()
        validate_room_id(room_id)
        wanted = self.default_capacity if capacity is None else validate_capacity(capacity)
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room(
                capacity=wanted,
                created_at=self._clock(),
                kind=kind,
                audience_capacity=audience_capacity or self.audience_capacity,
                shop=shop or RoomShop(),
            )
        return room

    def _existing(self, room_id: str) -> _Room:
        self._check_open()
        room = self._rooms.get(validate_room_id(room_id))
        if room is None:
            raise NotInRoom(room_id)
        return room

    def _existing_open(self, room_id: str) -> _Room:
        room = self._existing(room_id)
        if room.closed:
            raise RoomClosed(room_id)
        return room

    @staticmethod
    def _participant(room: _Room, participant_id: str) -> Participant:
        participant = room.participants.get(participant_id)
        if participant is None:
            raise NotInRoom(f"{participant_id} is not in the room")
        return participant

    @classmethod
    def _actor(cls, room: _Room, by: str | None) -> Participant | None:
        """The participant acting, or None for the HTTP API (which acts as an admin)."""
        return None if by is None else cls._participant(room, by)

    def _emit(self, room_id: str, room: _Room, body: _B) -> RoomEvent[_B]:
        room.seq += 1
        event = RoomEvent(room_id, room.seq, body)
        for queue in self._subscribers.get(room_id, ()):
            queue.put(event)
        return event

    async def _attach(self, queue: EventQueue) -> None:
        self._check_open()
        self._subscribers.setdefault(queue.room_id, set()).add(queue)

    async def _detach(self, queue: EventQueue) -> None:
        queues = self._subscribers.get(queue.room_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[queue.room_id]

    @staticmethod
    def _info(room_id: str, room: _Room) -> RoomInfo:
        return RoomInfo(
            id=room_id,
            capacity=room.capacity,
            closed=room.closed,
            created_at=room.created_at,
            participant_count=len(room.participants),
            kind=room.kind,
            audience_capacity=room.audience_capacity,
            audience_count=audience_count(room.kind, room.participants.values()),
            slow_mode=room.slow_mode,
        )

    @staticmethod
    def _snapshot(room_id: str, room: _Room, *, viewer: str | None = None) -> RoomSnapshot:
        """The room's snapshot; for ``viewer`` (a live room's), the stage and itself listed."""
        listed = [
            p for p in room.participants.values()
            if viewer is None or p.id == viewer or seat_of(room.kind, p.role) is Seat.STAGE
        ]
        return make_snapshot(
            room_id,
            capacity=room.capacity,
            closed=room.closed,
            created_at=room.created_at,
            seq=room.seq,
            participants=listed,
            unlisted_audience=len(room.participants) - len(listed),
            shopping=room.shop.snapshot(),
            kind=room.kind,
            audience_capacity=room.audience_capacity,
            slow_mode=room.slow_mode,
            raised_hands=room.hands,
        )
