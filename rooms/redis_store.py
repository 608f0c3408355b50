"""RedisStore: the RoomStore shared by every node, one Lua script per read-check-write.

Key layout in rooms.redis_keys, script contracts in rooms/lua/*.lua. Events are published by
the same script that INCRs the seq, so channel order is seq order; each is encoded here from
its kind's declaration (rooms.events) as a template the script fills in (rooms.redis_scripts),
and decoded, validated, from the script's reply or the channel (RoomEvent.from_json).
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Literal, ParamSpec, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from rooms import events
from rooms import redis_scripts as scripts
from rooms.catalog.models import Catalog, Product
from rooms.errors import (
    AlreadyJoined,
    AudienceFull,
    Banned,
    Forbidden,
    NotInRoom,
    RoomClosed,
    RoomFull,
    SlowMode,
    StoreUnavailable,
)
from rooms.event_shapes import ParticipantInfo, VoteInfo
from rooms.events import NODE_LOST, EventBody
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
from rooms.moderation import check_slow_mode
from rooms.offers import GroupOffer, OfferState, check_offer
from rooms.ratings import Rating, ordered_ratings
from rooms.redis_events import RedisEventHub
from rooms.redis_keys import (
    DEFAULT_NAMESPACE,
    NodeKeys,
    RoomKeys,
    ratings_by_key,
    rooms_index_key,
    validate_namespace,
)
from rooms.redis_outage import OUTAGE_ERRORS, unavailable_on_outage
from rooms.redis_scripts import HOLE, RoomScripts, body_template, event_template, json_template
from rooms.shopping import (
    CHAT_HISTORY_SIZE,
    Carousel,
    CarouselState,
    Move,
    RemoteMode,
    StaleVersion,
    UnknownProduct,
    Vote,
    VoteClosed,
    VoteRound,
    clean_chat_message,
    clean_emoji,
    tally,
)
from rooms.shopping_state import (
    CartItem,
    ChatMessage,
    Reactions,
    Recap,
    RoomCatalog,
    RoundInfo,
    ShoppingSnapshot,
    check_duration,
    check_quantity,
    check_round_products,
    ordered_cart,
    ordered_votes,
    pair_key,
    parse_tallies,
    shown_products,
)
from rooms.snapshots import make_snapshot
from rooms.subscription import DEFAULT_SUBSCRIPTION_BUFFER, EventQueue, QueueSubscription
from rooms.validation import validate_capacity, validate_room_id

CONNECT_TIMEOUT = 1.0
"""Seconds to open a connection: a Redis that is down must fail an operation fast."""

COMMAND_TIMEOUT = 5.0
"""Seconds to wait for one reply: the scripts are short; longer means Redis is in trouble."""

_OWNER_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")

_P = ParamSpec("_P")
_T = TypeVar("_T")
_B = TypeVar("_B", bound=EventBody)


_unavailable_on_outage = unavailable_on_outage("room state")


class RedisStore:
    """RoomStore in Redis (redis.asyncio); connects lazily.

    One pub/sub connection serves all subscriptions. The store stamps ``joined_at``,
    ``created_at`` and shopping times (vote round deadlines included) with ``clock()``, this
    node's clock. Participants joined through this store live under the lease of its presence
    ``owner`` (``renew_presence``); a Redis it cannot reach raises StoreUnavailable.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        default_capacity: int = DEFAULT_CAPACITY,
        audience_capacity: int = DEFAULT_AUDIENCE_CAPACITY,
        namespace: str = DEFAULT_NAMESPACE,
        subscription_buffer: int = DEFAULT_SUBSCRIPTION_BUFFER,
        clock: Callable[[], float] = time.time,
        node_id: str = "node",
        presence_lease: float = 8.0,
        retry_after: float = 1.0,
    ) -> None:
        self.default_capacity = validate_capacity(default_capacity)
        self.audience_capacity = validate_capacity(audience_capacity)
        self.namespace = validate_namespace(namespace)
        self.node_id = node_id
        #: This store's incarnation of the node: a restarted node never inherits a dead lease.
        self.owner = f"{_OWNER_UNSAFE.sub('_', node_id)[:48]}/{secrets.token_hex(4)}"
        self.presence_lease = presence_lease
        self.retry_after = retry_after
        self._subscription_buffer = subscription_buffer
        self._clock = clock
        # Parsed catalogs by (room, revision): a revision's products never change.
        self._catalogs: OrderedDict[tuple[str, int], Catalog] = OrderedDict()
        # One immediate retry on a fresh connection: after a Redis restart every pooled
        # connection is dead, and the first use of each must not fail the operation.
        self._redis = Redis.from_url(
            redis_url,
            decode_responses=True,
            retry=Retry(NoBackoff(), 1),
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
        )
        self._scripts = RoomScripts.register(self._redis)
        self._events = RedisEventHub(redis_url)
        self._node_keys = NodeKeys.of(self.namespace, self.owner)
        self._closed = False

    @_unavailable_on_outage
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
        remote_mode = RemoteMode(remote_mode)
        kind = RoomKind(kind)
        keys = self._keys(room_id)
        wanted = self.default_capacity if capacity is None else validate_capacity(capacity)
        audience = (
            self.audience_capacity if audience_capacity is None
            else validate_capacity(audience_capacity)
        )
        await self._index(room_id)
        reply = await self._scripts.create_room(
            keys=[
                keys.meta,
                keys.participants,
                keys.catalog,
                keys.product_ids,
                keys.products,
                keys.variants,
                keys.carousel,
                keys.shown,
                keys.audience,
            ],
            args=[
                wanted,
                repr(self._clock()),
                remote_mode.value,
                kind.value,
                audience,
                *_catalog_args(catalog or Catalog(), image_base),
            ],
        )
        if reply[0] == scripts.CLOSED:
            raise RoomClosed(room_id)
        _, capacity_s, created_s, count, kind_s, audience_s, audience_count = reply
        return RoomInfo(
            id=room_id,
            capacity=int(capacity_s),
            created_at=float(created_s),
            participant_count=int(count),
            kind=RoomKind(kind_s),
            audience_capacity=self._audience_capacity(audience_s),
            audience_count=int(audience_count),
        )

    @_unavailable_on_outage
    async def get_room(self, room_id: str) -> RoomInfo | None:
        """The room's info, or None if it does not exist."""
        keys = self._keys(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.meta)
            pipe.hlen(keys.participants)
            pipe.scard(keys.audience)
            meta, count, audience = await pipe.execute()
        return self._info(room_id, meta, count, audience) if meta else None

    @_unavailable_on_outage
    async def list_rooms(self) -> list[RoomInfo]:
        """Every room, closed ones included, ordered by id."""
        self._check_open()
        members = await self._redis.smembers(rooms_index_key(self.namespace))
        room_ids = sorted(str(member) for member in members)
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                keys = RoomKeys.of(self.namespace, room_id)
                pipe.hgetall(keys.meta)
                pipe.hlen(keys.participants)
                pipe.scard(keys.audience)
            replies = await pipe.execute()
        metas, counts, audiences = replies[0::3], replies[1::3], replies[2::3]
        return [
            self._info(room_id, meta, count, audience)
            for room_id, meta, count, audience in zip(
                room_ids, metas, counts, audiences, strict=True
            )
            if meta  # indexed, but its creator never got to create it
        ]

    @_unavailable_on_outage
    async def close_room(self, room_id: str) -> RoomEvent[events.RoomClosed]:
        """Close the room, remove everyone, publish ``room_closed``.

        Raises NotInRoom, or RoomClosed if it was already closed.
        """
        keys = self._keys(room_id)
        body = events.RoomClosed()
        reply = await self._scripts.close_room(
            keys=[keys.meta, keys.participants, keys.seq, keys.presence, keys.audience],
            args=[keys.events, *body_template(room_id, body)],
        )
        return RoomEvent(room_id, _ok_seq(room_id, reply), body)

    @_unavailable_on_outage
    async def join(
        self, room_id: str, participant: Participant
    ) -> tuple[RoomSnapshot, RoomEvent[events.ParticipantJoined]]:
        """Admit under capacity, creating the room if absent; publish ``participant_joined``."""
        keys = self._keys(room_id)
        joined = dataclasses.replace(participant, joined_at=self._clock())
        body = events.ParticipantJoined(participant=ParticipantInfo.of(joined))
        head, tail = body_template(room_id, body)
        await self._index(room_id, presence=True)
        reply = await self._scripts.join(
            keys=[keys.meta, keys.participants, keys.seq, *keys.shop_state, keys.presence,
                  keys.audience, keys.bans, keys.stats, keys.hands],
            args=[
                joined.id,
                joined.to_json(),
                self.default_capacity,
                repr(self._clock()),
                keys.events,
                head,
                tail,
                self.owner,
                joined.role.value,
                self.audience_capacity,
            ],
        )
        status = reply[0]
        if status == scripts.CLOSED:
            raise RoomClosed(room_id)
        if status == scripts.BANNED:
            raise Banned(f"{participant.id} is banned from {room_id}")
        if status == scripts.ALREADY_JOINED:
            raise AlreadyJoined(f"{participant.id} in {room_id}")
        if status == scripts.AUDIENCE_FULL:
            raise AudienceFull(room_id)
        if status == scripts.FULL:
            raise RoomFull(room_id)
        (_, seq, capacity_s, created_s, participants, shop, kind_s, audience_s, slow_s,
         hands, unlisted) = reply
        snapshot = make_snapshot(
            room_id,
            capacity=int(capacity_s),
            closed=False,
            created_at=float(created_s),
            seq=int(seq),
            participants=(Participant.from_json(raw) for raw in participants),
            shopping=self._shop_state(room_id, shop),
            kind=RoomKind(kind_s),
            audience_capacity=self._audience_capacity(audience_s),
            slow_mode=float(slow_s),
            raised_hands=hands,
            unlisted_audience=int(unlisted),
        )
        return snapshot, RoomEvent(room_id, int(seq), body)

    @_unavailable_on_outage
    async def leave(
        self, room_id: str, participant_id: str, *, reason: str, joined_at: float | None = None
    ) -> RoomEvent[events.ParticipantLeft] | None:
        """Remove the participant and publish ``participant_left``; None if they were not in
        (or, with ``joined_at``, if the one in the room joined at another time)."""
        keys = self._keys(room_id)
        body = events.ParticipantLeft(participant_id=participant_id, reason=reason)
        head, tail = body_template(room_id, body)
        seq = await self._scripts.leave(
            keys=[keys.participants, keys.seq, keys.carousel, keys.presence, keys.audience],
            args=[participant_id, keys.events, head, tail,
                  "" if joined_at is None else repr(joined_at)],
        )
        if seq is None:
            return None
        return RoomEvent(room_id, int(seq), body)

    @_unavailable_on_outage
    async def snapshot(self, room_id: str, *, viewer: str | None = None) -> RoomSnapshot:
        """The room's state now, read by one script (as shown to ``viewer``, see RoomStore).
        Raises NotInRoom for an unknown room."""
        keys = self._keys(room_id)
        reply = await self._scripts.snapshot(
            keys=[keys.meta, keys.participants, keys.seq, *keys.shop_state, keys.hands,
                  keys.audience],
            args=[viewer or ""],
        )
        if reply[0] == scripts.UNKNOWN:
            raise NotInRoom(room_id)
        (_, seq, capacity_s, created_s, closed_s, participants, shop, kind_s, audience_s,
         slow_s, hands, unlisted) = reply
        return make_snapshot(
            room_id,
            capacity=int(capacity_s),
            closed=closed_s == "1",
            created_at=float(created_s),
            seq=int(seq),
            participants=(Participant.from_json(raw) for raw in participants),
            shopping=self._shop_state(room_id, shop),
            kind=RoomKind(kind_s),
            audience_capacity=self._audience_capacity(audience_s),
            slow_mode=float(slow_s),
            raised_hands=hands,
            unlisted_audience=int(unlisted),
        )

    @_unavailable_on_outage
    async def publish(self, room_id: str, type: str, data: dict[str, Any]) -> RoomEvent:
        """Number and publish an event the store does not emit itself (rooms.events.publishable).
        Raises NotInRoom, RoomClosed, ValueError."""
        keys = self._keys(room_id)
        body = events.publishable(type, data)
        reply = await self._scripts.publish(
            keys=[keys.meta, keys.seq], args=[keys.events, *body_template(room_id, body)]
        )
        return RoomEvent(room_id, _ok_seq(room_id, reply), body)

    # --- shopping (see RoomStore for the contracts; scripts in rooms/lua/shop_*.lua) ------------

    @_unavailable_on_outage
    async def load_catalog(
        self, room_id: str, catalog: Catalog, *, image_base: str | None = None
    ) -> RoomEvent[events.CatalogLoaded]:
        keys = self._keys(room_id)
        template = event_template(
            room_id,
            events.CatalogLoaded,
            revision=HOLE,
            product_count=len(catalog.products),
            currency=catalog.currency,
            image_base=image_base,
            carousel=HOLE,
        )
        reply = await self._scripts.shop_load_catalog(
            keys=[
                keys.meta,
                keys.seq,
                keys.catalog,
                keys.product_ids,
                keys.products,
                keys.variants,
                keys.carousel,
                keys.votes,
                keys.tallies,
                keys.cart,
                keys.shown,
            ],
            args=[keys.events, *_catalog_args(catalog, image_base), *template,
                  repr(self._now())],
        )
        return _event(room_id, reply, events.CatalogLoaded)

    @_unavailable_on_outage
    async def room_catalog(self, room_id: str) -> RoomCatalog:
        keys = self._keys(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.exists(keys.meta)
            pipe.hgetall(keys.catalog)
            pipe.lrange(keys.product_ids, 0, -1)
            pipe.hvals(keys.products)
            exists, meta, ids, products = await pipe.execute()
        if not exists:
            raise NotInRoom(room_id)
        return self._room_catalog(room_id, meta, ids, products)

    @_unavailable_on_outage
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
        keys = self._keys(room_id)
        reply = await self._scripts.shop_move(
            keys=[keys.meta, keys.participants, keys.seq, keys.product_ids, keys.carousel,
                  keys.shown],
            args=[
                keys.events,
                by or "",
                move.value,
                product_id or "",
                "" if expected_version is None else int(expected_version),
                *_carousel_changed(room_id, "move", by),
            ],
        )
        if reply[0] == scripts.STALE:
            _, carousel_json, *ids = reply
            carousel = Carousel.from_dict(json.loads(carousel_json), ids)
            assert expected_version is not None
            raise StaleVersion(expected_version, carousel.state, carousel=carousel)
        what = f"move the carousel to {product_id or move.value}"
        return _event(room_id, reply, events.CarouselChanged, what=what)

    @_unavailable_on_outage
    async def pass_remote(
        self, room_id: str, *, by: str | None, to: str | None
    ) -> RoomEvent[events.CarouselChanged]:
        keys = self._keys(room_id)
        reply = await self._scripts.shop_pass_remote(
            keys=[keys.meta, keys.participants, keys.seq, keys.product_ids, keys.carousel],
            args=[keys.events, by or "", to or "", *_carousel_changed(room_id, "remote", by)],
        )
        return _event(room_id, reply, events.CarouselChanged, what="hand the remote now")

    @_unavailable_on_outage
    async def set_remote_mode(
        self, room_id: str, mode: RemoteMode, *, by: str | None
    ) -> RoomEvent[events.CarouselChanged]:
        mode = RemoteMode(mode)
        keys = self._keys(room_id)
        reply = await self._scripts.shop_set_mode(
            keys=[keys.meta, keys.participants, keys.seq, keys.product_ids, keys.carousel],
            args=[keys.events, by or "", mode.value, *_carousel_changed(room_id, "mode", by)],
        )
        what = "set the remote mode (hosts only)"
        return _event(room_id, reply, events.CarouselChanged, what=what)

    @_unavailable_on_outage
    async def cast_vote(self, room_id: str, vote: Vote) -> RoomEvent[events.VoteCast]:
        keys = self._keys(room_id)
        reply = await self._scripts.shop_cast_vote(
            keys=[keys.meta, keys.participants, keys.seq, keys.products, keys.variants,
                  keys.round, keys.votes, keys.tallies, keys.stats],
            args=[
                keys.events,
                vote.participant_id,
                vote.product_id,
                vote.variant_id or "",
                json.dumps(vote.to_dict(), separators=(",", ":")),
                repr(self._now()),
                *event_template(
                    room_id, events.VoteCast, vote=VoteInfo.of(vote), previous=HOLE, tallies=HOLE
                ),
            ],
        )
        what = _product(vote.product_id, vote.variant_id)
        return _event(room_id, reply, events.VoteCast, what=what)

    @_unavailable_on_outage
    async def retract_vote(
        self, room_id: str, participant_id: str, product_id: str
    ) -> RoomEvent[events.VoteRetracted] | None:
        keys = self._keys(room_id)
        reply = await self._scripts.shop_retract_vote(
            keys=[keys.meta, keys.participants, keys.seq, keys.products, keys.round,
                  keys.votes, keys.tallies],
            args=[
                keys.events,
                participant_id,
                product_id,
                repr(self._now()),
                *event_template(room_id, events.VoteRetracted, vote=HOLE, tallies=HOLE),
            ],
        )
        return _event_or_none(
            room_id, reply, events.VoteRetracted, what=_product(product_id, None)
        )

    @_unavailable_on_outage
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
        keys = self._keys(room_id)
        opened = VoteRound.open_now(self._now(), duration, ids)
        round_head, round_tail = json_template({"id": HOLE, **opened.to_dict()})
        reply = await self._scripts.shop_open_round(
            keys=[keys.meta, keys.participants, keys.seq, keys.products, keys.round],
            args=[
                keys.events,
                by or "",
                round_head,
                round_tail,
                len(ids or ()),
                *(ids or ()),
                *event_template(room_id, events.VoteRoundOpened, round=HOLE),
            ],
        )
        what = "open a vote round (hosts only)"
        return _event(room_id, reply, events.VoteRoundOpened, what=what)

    @_unavailable_on_outage
    async def close_vote_round(
        self,
        room_id: str,
        *,
        by: str | None,
        round_id: int | None = None,
        reason: Literal["host", "deadline"] = "host",
    ) -> RoomEvent[events.VoteRoundClosed] | None:
        keys = self._keys(room_id)
        reply = await self._scripts.shop_close_round(
            keys=[keys.meta, keys.participants, keys.seq, keys.round],
            args=[
                keys.events,
                by or "",
                "" if round_id is None else int(round_id),
                reason,
                repr(self._now()),
                *event_template(room_id, events.VoteRoundClosed, round=HOLE, reason=HOLE),
            ],
        )
        what = "close a vote round (hosts only)"
        return _event_or_none(room_id, reply, events.VoteRoundClosed, what=what)

    @_unavailable_on_outage
    async def post_chat(
        self, room_id: str, participant_id: str, text: str
    ) -> RoomEvent[events.ChatMessage]:
        text = clean_chat_message(text)
        keys = self._keys(room_id)
        now = self._now()
        message = json_template(
            {
                "seq": HOLE,
                "participant_id": participant_id,
                "name": HOLE,
                "text": text,
                "at": now,
            }
        )
        reply = await self._scripts.shop_chat(
            keys=[keys.meta, keys.participants, keys.seq, keys.chat, keys.stats, keys.last_chat],
            args=[
                keys.events,
                participant_id,
                CHAT_HISTORY_SIZE,
                repr(now),
                len(message),
                *message,
                *event_template(room_id, events.ChatMessage, message=HOLE),
            ],
        )
        if reply[0] == scripts.SLOW:
            raise SlowMode("slow mode: wait before your next message",
                           retry_after=round(float(reply[1]), 3))
        return _event(room_id, reply, events.ChatMessage)

    @_unavailable_on_outage
    async def react(
        self, room_id: str, participant_id: str, emoji: str, *, product_id: str | None = None
    ) -> RoomEvent[events.Reaction]:
        emoji = clean_emoji(emoji)
        keys = self._keys(room_id)
        template = event_template(
            room_id, events.Reaction, participant_id=participant_id, emoji=emoji, product_id=HOLE
        )
        reply = await self._scripts.shop_react(
            keys=[keys.meta, keys.participants, keys.seq, keys.products, keys.product_ids,
                  keys.carousel, keys.reactions],
            args=[
                keys.events,
                participant_id,
                emoji,
                product_id or "",
                *template,
            ],
        )
        return _event(room_id, reply, events.Reaction, what=_product(product_id or "", None))

    @_unavailable_on_outage
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
        keys = self._keys(room_id)
        now = self._now()
        item = json_template(
            {
                "product_id": product_id,
                "variant_id": variant_id,
                "quantity": quantity,
                "added_by": by,
                "added_by_name": HOLE,
                "added_at": now,
            }
        )
        reply = await self._scripts.shop_cart_add(
            keys=[keys.meta, keys.participants, keys.seq, keys.products, keys.variants,
                  keys.cart, keys.cart_adds, keys.catalog],
            args=[
                keys.events,
                by or "",
                product_id,
                variant_id or "",
                quantity,
                len(item),
                *item,
                *event_template(room_id, events.CartItemAdded, item=HOLE),
                *_offer_templates(room_id),
                repr(now),
            ],
        )
        what = _product(product_id, variant_id)
        return _event(room_id, reply, events.CartItemAdded, what=what)

    @_unavailable_on_outage
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
        return await self._own_cart_change(room_id, participant_id, product_id, variant_id,
                                           quantity)

    async def remove_from_own_cart(
        self, room_id: str, participant_id: str, *, product_id: str, variant_id: str | None = None
    ) -> tuple[CartItem, ...]:
        return await self._own_cart_change(room_id, participant_id, product_id, variant_id, 0)

    async def _own_cart_change(
        self,
        room_id: str,
        participant_id: str,
        product_id: str,
        variant_id: str | None,
        quantity: int,
    ) -> tuple[CartItem, ...]:
        keys = self._keys(room_id)
        reply = await self._scripts.shop_own_cart(
            keys=[keys.meta, keys.participants, keys.products, keys.variants, keys.own_carts,
                  keys.cart_adds],
            args=[participant_id, product_id, variant_id or "", quantity, repr(self._now())],
        )
        if reply[0] != scripts.OK:
            _event_or_none(room_id, reply, events.CartItemAdded,
                           what=_product(product_id, variant_id))
        return _own_cart_items(reply[1])

    async def own_cart(self, room_id: str, participant_id: str) -> tuple[CartItem, ...]:
        raw = await self._redis.hget(self._keys(room_id).own_carts, participant_id)
        return () if raw is None else _own_cart_items(raw)

    async def remove_from_cart(
        self, room_id: str, *, by: str | None, product_id: str, variant_id: str | None = None
    ) -> RoomEvent[events.CartItemRemoved] | None:
        keys = self._keys(room_id)
        reply = await self._scripts.shop_cart_remove(
            keys=[keys.meta, keys.participants, keys.seq, keys.cart, keys.catalog],
            args=[
                keys.events,
                by or "",
                product_id,
                variant_id or "",
                *event_template(room_id, events.CartItemRemoved, item=HOLE, by=by),
                *_offer_templates(room_id),
                repr(self._now()),
            ],
        )
        return _event_or_none(room_id, reply, events.CartItemRemoved, what="change the cart")

    @_unavailable_on_outage
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
        keys = self._keys(room_id)
        now = self._now()
        offer = GroupOffer(product_id, threshold, percent, code, round(now + duration, 3), by)
        reply = await self._scripts.shop_set_offer(
            keys=[keys.meta, keys.participants, keys.seq, keys.catalog, keys.products,
                  keys.cart],
            args=[
                keys.events,
                by or "",
                json.dumps(offer.to_dict(), separators=(",", ":")),
                product_id,
                repr(now),
                *_offer_templates(room_id),
            ],
        )
        return _event(room_id, reply, events.OfferProgress,
                      what="set a group offer (hosts only)")

    @_unavailable_on_outage
    async def start_checkout(
        self,
        room_id: str,
        *,
        by: str | None,
        participant_id: str | None,
        lines: int,
        quantity: int,
    ) -> RoomEvent[events.CheckoutStarted]:
        keys = self._keys(room_id)
        body = events.CheckoutStarted(
            by=by, participant_id=participant_id, lines=lines, quantity=quantity
        )
        reply = await self._scripts.shop_checkout(
            keys=[keys.meta, keys.participants, keys.seq, keys.stats],
            args=[keys.events, by or "", participant_id or "", *body_template(room_id, body)],
        )
        return _event(room_id, reply, events.CheckoutStarted,
                      what="check out another's lines or the whole cart (hosts only)")

    @_unavailable_on_outage
    async def recap(self, room_id: str) -> Recap:
        keys = self._keys(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.exists(keys.meta)
            pipe.hgetall(keys.catalog)
            pipe.lrange(keys.product_ids, 0, -1)
            pipe.hvals(keys.products)
            pipe.hgetall(keys.shown)
            pipe.hvals(keys.votes)
            pipe.hvals(keys.cart)
            pipe.hgetall(keys.reactions)
            pipe.hgetall(keys.stats)
            pipe.hgetall(keys.cart_adds)
            exists, meta, ids, products, shown, votes, cart, reactions, stats, cart_adds = (
                await pipe.execute()
            )
        if not exists:
            raise NotInRoom(room_id)
        catalog = self._room_catalog(room_id, meta, ids, products).catalog
        counts = []
        for field, count in reactions.items():
            product_id, emoji = json.loads(field)
            counts.append((product_id, emoji, int(count)))
        parsed_votes = [Vote.from_dict(json.loads(raw)) for raw in votes]
        return Recap(
            room_id=room_id,
            products_shown=shown_products(catalog, {k: int(v) for k, v in shown.items()}),
            tallies=parse_tallies(_tallies_of(parsed_votes)),
            cart=ordered_cart(CartItem.from_dict(json.loads(raw)) for raw in cart),
            reactions=Reactions.count(counts),
            votes_cast=int(stats.get("votes_cast", 0)),
            chat_messages=int(stats.get("chat_messages", 0)),
            views=int(stats.get("views", 0)),
            peak_viewers=int(stats.get("peak_viewers", 0)),
            cart_adds={pid: int(n) for pid, n in cart_adds.items()},
            checkouts_started=int(stats.get("checkouts_started", 0)),
        )

    def _audience_capacity(self, stored: str | None) -> int:
        """A room's audience capacity as its meta has it (absent: this store's default)."""
        return int(stored) if stored else self.audience_capacity

    def _info(
        self, room_id: str, meta: dict[str, str], count: int, audience: int
    ) -> RoomInfo:
        return RoomInfo(
            id=room_id,
            capacity=int(meta["capacity"]),
            closed=meta["closed"] == "1",
            created_at=float(meta["created_at"]),
            participant_count=int(count),
            kind=RoomKind(meta.get("kind", RoomKind.GROUP)),
            audience_capacity=self._audience_capacity(meta.get("audience_capacity")),
            audience_count=int(audience),
            slow_mode=float(meta.get("slow_mode", 0)),
        )

    # --- ratings (rooms.ratings; RATINGS_BY in rooms.redis_keys) --------------------------------

    @_unavailable_on_outage
    async def rate_product(self, catalog_key: str, rating: Rating) -> None:
        # One HSET gives or replaces the rating: nothing to read first, so no script.
        self._check_open()
        key = ratings_by_key(self.namespace, catalog_key, rating.participant_id)
        await self._redis.hset(key, rating.product_id, json.dumps(rating.to_dict()))

    @_unavailable_on_outage
    async def ratings_by(
        self, catalog_key: str, participant_ids: Sequence[str]
    ) -> list[Rating]:
        self._check_open()
        ids = list(dict.fromkeys(participant_ids))
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for participant_id in ids:
                pipe.hvals(ratings_by_key(self.namespace, catalog_key, participant_id))
            replies = await pipe.execute()
        return ordered_ratings(
            Rating.from_dict(json.loads(raw)) for values in replies for raw in values
        )

    # --- host controls (see RoomStore; rules in rooms.moderation, scripts rooms/lua/mod_*.lua) --

    @_unavailable_on_outage
    async def mute(
        self, room_id: str, participant_id: str, kind: Literal["audio", "video"], *, by: str | None
    ) -> RoomEvent[events.ParticipantMuted]:
        keys = self._keys(room_id)
        body = events.ParticipantMuted(participant_id=participant_id, kind=kind, by=by)
        reply = await self._scripts.mod_mute(
            keys=[keys.meta, keys.participants, keys.seq],
            args=[keys.events, by or "", participant_id, *body_template(room_id, body)],
        )
        return _event(room_id, reply, events.ParticipantMuted, what="mute (hosts only)")

    @_unavailable_on_outage
    async def remove_participant(
        self, room_id: str, participant_id: str, *, by: str | None
    ) -> RoomEvent[events.ParticipantLeft]:
        reply = await self._remove(room_id, participant_id, by, ban=False)
        return _event(room_id, reply, events.ParticipantLeft, what="remove them")

    @_unavailable_on_outage
    async def ban(
        self, room_id: str, participant_id: str, *, by: str | None
    ) -> RoomEvent[events.ParticipantBanned]:
        reply = await self._remove(room_id, participant_id, by, ban=True)
        return _event(room_id, reply, events.ParticipantBanned, what="ban them")

    async def _remove(
        self, room_id: str, participant_id: str, by: str | None, *, ban: bool
    ) -> list[Any]:
        keys = self._keys(room_id)
        reason = "banned" if ban else "removed"
        left = body_template(
            room_id, events.ParticipantLeft(participant_id=participant_id, reason=reason)
        )
        banned = body_template(
            room_id, events.ParticipantBanned(participant_id=participant_id, by=by)
        )
        reply: list[Any] = await self._scripts.mod_remove(
            keys=[keys.meta, keys.participants, keys.seq, keys.presence, keys.audience,
                  keys.carousel, keys.bans],
            args=[keys.events, by or "", participant_id, "1" if ban else "0", len(left),
                  *left, *(banned if ban else [])],
        )
        return reply

    @_unavailable_on_outage
    async def set_role(
        self, room_id: str, participant_id: str, role: Role, *, by: str | None
    ) -> RoomEvent[events.RoleChanged]:
        role = Role(role)
        keys = self._keys(room_id)
        # Any other role is the script's to refuse (after its other checks, as in memory);
        # the template then is never used.
        new_role: Literal["viewer", "guest"] = "viewer" if role is Role.VIEWER else "guest"
        body = events.RoleChanged(participant_id=participant_id, role=new_role, by=by)
        reply = await self._scripts.mod_set_role(
            keys=[keys.meta, keys.participants, keys.seq, keys.audience, keys.carousel,
                  keys.hands],
            args=[keys.events, by or "", participant_id, role.value,
                  *body_template(room_id, body)],
        )
        if reply[0] == scripts.FULL:
            raise RoomFull(room_id)
        return _event(room_id, reply, events.RoleChanged, what="move them (hosts only)")

    @_unavailable_on_outage
    async def raise_hand(
        self, room_id: str, participant_id: str, raised: bool
    ) -> RoomEvent[events.HandRaised] | None:
        keys = self._keys(room_id)
        body = events.HandRaised(participant_id=participant_id, raised=raised)
        reply = await self._scripts.mod_raise_hand(
            keys=[keys.meta, keys.participants, keys.seq, keys.hands],
            args=[keys.events, participant_id, "1" if raised else "0",
                  *body_template(room_id, body)],
        )
        return _event_or_none(room_id, reply, events.HandRaised, what="raise a hand (viewers)")

    @_unavailable_on_outage
    async def set_slow_mode(
        self, room_id: str, seconds: float, *, by: str | None
    ) -> RoomEvent[events.SlowModeChanged]:
        seconds = check_slow_mode(seconds)
        keys = self._keys(room_id)
        body = events.SlowModeChanged(seconds=seconds, by=by)
        reply = await self._scripts.mod_slow_mode(
            keys=[keys.meta, keys.participants, keys.seq],
            args=[keys.events, by or "", repr(seconds), *body_template(room_id, body)],
        )
        return _event(room_id, reply, events.SlowModeChanged, what="set slow mode (hosts only)")

    @_unavailable_on_outage
    async def hide_chat(
        self, room_id: str, message_seq: int, *, by: str | None
    ) -> RoomEvent[events.ChatHidden] | None:
        keys = self._keys(room_id)
        body = events.ChatHidden(message_seq=message_seq, by=by)
        reply = await self._scripts.mod_hide_chat(
            keys=[keys.meta, keys.participants, keys.seq, keys.chat],
            args=[keys.events, by or "", int(message_seq), *body_template(room_id, body)],
        )
        return _event_or_none(room_id, reply, events.ChatHidden, what="hide chat (hosts only)")

    def _now(self) -> float:
        # Milliseconds: survives the Lua scripts' cjson (14 significant digits) unchanged.
        return round(self._clock(), 3)

    def _room_catalog(
        self, room_id: str, meta: dict[str, str], ids: list[str], products: Iterable[str]
    ) -> RoomCatalog:
        revision = int(meta.get("revision", 0))
        key = (room_id, revision)
        catalog = self._catalogs.get(key)
        if catalog is None or catalog.product_ids != tuple(ids):
            by_id = {p.id: p for p in map(Product.model_validate_json, products)}
            checkout = json.loads(meta.get("checkout") or "{}")
            catalog = Catalog(
                products=tuple(by_id[i] for i in ids),
                currency=meta.get("currency") or None,
                **checkout,
            )
            self._catalogs[key] = catalog
            while len(self._catalogs) > _CATALOG_CACHE_SIZE:
                self._catalogs.popitem(last=False)
        else:
            self._catalogs.move_to_end(key)
        return RoomCatalog(revision, catalog, meta.get("image_base") or None)

    def _shop_state(self, room_id: str, reply: list[Any]) -> ShoppingSnapshot:
        """Decode _shop_lib.shop_state's reply."""
        catalog_flat, ids, products, carousel_flat, round_json, votes, cart, chat = reply
        catalog = self._room_catalog(room_id, _pairs(catalog_flat), ids, products)
        carousel = _pairs(carousel_flat)
        return ShoppingSnapshot(
            catalog=catalog,
            carousel=Carousel(
                CarouselState(
                    tuple(ids), int(carousel.get("index", 0)), int(carousel.get("version", 0))
                ),
                RemoteMode(carousel.get("mode", RemoteMode.HOST_LED)),
                carousel.get("holder"),
            ),
            round=None if round_json is None else RoundInfo.from_dict(json.loads(round_json)),
            votes=ordered_votes(Vote.from_dict(json.loads(raw)) for raw in votes),
            cart=ordered_cart(CartItem.from_dict(json.loads(raw)) for raw in cart),
            chat=tuple(ChatMessage.from_dict(json.loads(raw)) for raw in chat),
            offer=_offer_state(_pairs(catalog_flat)),
        )

    # --- presence: leases of nodes and of their participants (rooms/lua: renew_lease, reap,
    # forget_node, reassert) -----------------------------------------------------------------

    @_unavailable_on_outage
    async def renew_presence(self) -> bool:
        """Renew this store's lease for ``presence_lease`` seconds; False if it had lapsed
        (first renewal, expired, or lost by Redis): then reassert every live participant."""
        self._check_open()
        nk = self._node_keys
        held = await self._scripts.renew_lease(
            keys=[nk.lease, nk.index],
            args=[self.owner, max(1, round(self.presence_lease * 1000)), self.node_id],
        )
        return bool(held)

    @_unavailable_on_outage
    async def reap_lost_nodes(self) -> list[RoomEvent[events.ParticipantLeft]]:
        """Remove the participants of every other owner whose lease lapsed, one
        ``participant_left`` (reason ``node_lost``) each, then forget those owners."""
        self._check_open()
        index = self._node_keys.index
        members = await self._redis.smembers(index)
        owners = sorted(str(o) for o in members if o != self.owner)
        if not owners:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for owner in owners:
                pipe.exists(NodeKeys.of(self.namespace, owner).lease)
            alive = await pipe.execute()
        reaped: list[RoomEvent[events.ParticipantLeft]] = []
        for owner, is_alive in zip(owners, alive, strict=True):
            if is_alive:
                continue
            nk = NodeKeys.of(self.namespace, owner)
            for room_id in sorted(str(r) for r in await self._redis.smembers(nk.rooms)):
                reaped += await self._reap_room(room_id, owner)
            await self._scripts.forget_node(keys=[nk.lease, nk.index, nk.rooms], args=[owner])
        return reaped

    async def _reap_room(
        self, room_id: str, owner: str
    ) -> list[RoomEvent[events.ParticipantLeft]]:
        keys = RoomKeys.of(self.namespace, room_id)
        left = event_template(
            room_id, events.ParticipantLeft, participant_id=HOLE, reason=NODE_LOST
        )
        removed = await self._scripts.reap(
            keys=[keys.participants, keys.presence, keys.seq, keys.carousel, keys.audience],
            args=[owner, keys.events, *left],
        )
        # The seqs are in the published events; callers only need who left.
        return [
            RoomEvent(room_id, 0, events.ParticipantLeft(participant_id=pid, reason=NODE_LOST))
            for pid in removed
        ]

    @_unavailable_on_outage
    async def reassert(
        self, room_id: str, participants: Sequence[Participant], *, min_seq: int = 0
    ) -> Reassertion:
        """Make the room hold exactly ``participants`` (this node's live ones, with their
        stamped ``joined_at``) under this store's lease; see rooms/lua/reassert.lua."""
        keys = self._keys(room_id)
        await self._index(room_id, presence=True)
        joined = event_template(room_id, events.ParticipantJoined, participant=HOLE)
        left = event_template(
            room_id, events.ParticipantLeft, participant_id=HOLE, reason="disconnected"
        )
        triples: list[str] = []
        for p in participants:
            triples += [p.id, p.to_json(), repr(p.joined_at)]
        reply = await self._scripts.reassert(
            keys=[keys.meta, keys.participants, keys.presence, keys.seq, keys.carousel,
                  keys.audience, keys.bans],
            args=[
                self.owner,
                keys.events,
                int(min_seq),
                self.default_capacity,
                repr(self._clock()),
                len(participants),
                len(joined),
                len(left),
                *triples,
                *joined,
                *left,
            ],
        )
        if reply[0] == scripts.CLOSED:
            raise RoomClosed(room_id)
        _, created, rejoined, superseded, refused, removed = reply
        return Reassertion(
            created=bool(int(created)),
            rejoined=tuple(rejoined),
            superseded=tuple(superseded),
            refused=tuple(refused),
            removed=tuple(removed),
        )

    @_unavailable_on_outage
    async def release_presence(self) -> None:
        """Give up the lease (clean shutdown): any participant still under it is reaped by
        the other nodes at their next check instead of a lease later."""
        self._check_open()
        await self._redis.delete(self._node_keys.lease)

    def subscribe(self, room_id: str) -> QueueSubscription:
        """Every event of the room published after the subscription is entered."""
        keys = self._keys(room_id)
        queue = EventQueue(room_id, self._subscription_buffer)

        async def attach(queue: EventQueue) -> None:
            self._check_open()
            try:
                await self._events.attach(keys.events, queue)
            except OUTAGE_ERRORS as exc:
                raise StoreUnavailable(
                    f"room events unavailable (Redis: {exc})", retry_after=self.retry_after
                ) from exc

        async def detach(queue: EventQueue) -> None:
            await self._events.detach(keys.events, queue)

        return QueueSubscription(queue, attach=attach, detach=detach)

    async def close(self) -> None:
        """End every subscription, stop the listener, close both connection pools (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._events.close()
        finally:
            await self._redis.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("RedisStore is closed")

    def _keys(self, room_id: str) -> RoomKeys:
        self._check_open()
        return RoomKeys.of(self.namespace, validate_room_id(room_id))

    async def _index(self, room_id: str, *, presence: bool = False) -> None:
        # Before the creating script, so the index is always a superset of the rooms (and,
        # with ``presence``, this owner's rooms a superset of where its participants are);
        # outside it, so every script touches one hash slot.
        if not presence:
            await self._redis.sadd(rooms_index_key(self.namespace), room_id)
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sadd(rooms_index_key(self.namespace), room_id)
            pipe.sadd(self._node_keys.rooms, room_id)
            await pipe.execute()




_CATALOG_CACHE_SIZE = 64


def _offer_state(catalog: dict[str, str]) -> OfferState | None:
    """The offer kept in the room's catalog HASH (_shop_lib.offer_follow), if any."""
    raw = catalog.get("offer")
    if raw is None:
        return None
    return OfferState(
        GroupOffer.from_dict(json.loads(raw)),
        int(catalog.get("offer_backers", 0)),
        catalog.get("offer_reached") == "1",
    )


def _offer_templates(room_id: str) -> list[str]:
    """The offer_progress and offer_reached templates _shop_lib.offer_follow fills in."""
    progress = event_template(
        room_id, events.OfferProgress, offer=HOLE, backers=HOLE, reached=HOLE
    )
    reached = event_template(room_id, events.OfferReached, offer=HOLE, backers=HOLE)
    return [*progress, *reached]


_CHECKOUT_FIELDS: Final = {"id", "shopify_shop", "checkout_url_template"}
"""The Catalog fields saying where its carts check out (and its ``id``, which keys its
ratings), kept as one JSON object in the room's catalog HASH (field ``checkout``)."""


def _catalog_args(catalog: Catalog, image_base: str | None) -> list[str | int]:
    """The catalog as create_room.lua / shop_load_catalog.lua take it."""
    ids = [p.id for p in catalog.products]
    variant_keys = [pair_key(p.id, v.id) for p in catalog.products for v in p.variants]
    checkout = catalog.model_dump_json(include=_CHECKOUT_FIELDS, exclude_none=True)
    return [
        catalog.currency or "",
        image_base or "",
        "" if checkout == "{}" else checkout,
        len(ids),
        len(variant_keys),
        *ids,
        *(p.model_dump_json() for p in catalog.products),
        *variant_keys,
    ]


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def _tallies_of(votes: Iterable[Vote]) -> dict[str, Any]:
    return {pid: t.to_dict() for pid, t in tally(votes).items()}


def _product(product_id: str, variant_id: str | None) -> str:
    return repr(product_id if variant_id is None else f"{product_id}/{variant_id}")


def _carousel_changed(
    room_id: str, change: Literal["move", "remote", "mode"], by: str | None
) -> list[str]:
    return event_template(room_id, events.CarouselChanged, carousel=HOLE, change=change, by=by)


def _own_cart_items(raw: str | bytes) -> tuple[CartItem, ...]:
    """A viewer's own cart from shop_own_cart.lua's JSON (cjson writes an empty one as {})."""
    lines = json.loads(raw)
    return tuple(CartItem.from_dict(line) for line in lines) if isinstance(lines, list) else ()


def _event(room_id: str, reply: list[Any], kind: type[_B], *, what: str = "") -> RoomEvent[_B]:
    """The ``kind`` event of a shopping script's {"ok", event JSON} (validated), or the error
    its status names."""
    event = _event_or_none(room_id, reply, kind, what=what)
    if event is None:
        raise RuntimeError(f"unexpected reply {reply[:1]!r}")
    return event


def _event_or_none(
    room_id: str, reply: list[Any], kind: type[_B], *, what: str = ""
) -> RoomEvent[_B] | None:
    status = reply[0]
    if status == scripts.OK:
        return RoomEvent.from_json(reply[1]).of_kind(kind)
    if status == scripts.NONE:
        return None
    if status == scripts.UNKNOWN:
        raise NotInRoom(room_id)
    if status == scripts.CLOSED:
        raise RoomClosed(room_id)
    if status == scripts.NOT_IN_ROOM:
        raise NotInRoom(f"not in room {room_id}")
    if status == scripts.FORBIDDEN:
        raise Forbidden(f"not allowed to {what}" if what else "not allowed")
    if status == scripts.UNKNOWN_PRODUCT:
        raise UnknownProduct(f"{what} is not in the room's catalog")
    if status == scripts.VOTE_CLOSED:
        raise VoteClosed(f"voting on {what} is closed")
    raise RuntimeError(f"unexpected script status {status!r}")


def _ok_seq(room_id: str, reply: list[Any]) -> int:
    """The seq of a close_room/publish reply, or the error its status names."""
    if reply[0] == scripts.UNKNOWN:
        raise NotInRoom(room_id)
    if reply[0] == scripts.CLOSED:
        raise RoomClosed(room_id)
    return int(reply[1])

