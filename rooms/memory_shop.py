"""The shopping state of one room held in memory: MemoryStore's half of the shopping operations.

Each method checks, changes and returns the body of the one event announcing the change (typed
by its declaration in rooms.events), or raises before changing anything. The Lua scripts of
RedisStore (rooms/lua/shop_*.lua) implement the same operations; the store contract suite holds
both to the same behaviour.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Literal

from rooms import events
from rooms.catalog.models import Catalog, Product
from rooms.errors import Forbidden, NotInRoom
from rooms.event_shapes import (
    CarouselInfo,
    CartItemInfo,
    ChatMessageInfo,
    OfferInfo,
    VoteInfo,
    tally_infos,
)
from rooms.event_shapes import (
    RoundInfo as RoundShape,
)
from rooms.models import Participant, Role, RoomKind
from rooms.offers import GroupOffer, OfferState, backers, is_reached
from rooms.own_cart import check_own_cart, with_quantity
from rooms.shopping import (
    CHAT_HISTORY_SIZE,
    BallotBox,
    Move,
    RemoteMode,
    StaleVersion,
    UnknownProduct,
    Vote,
    VoteClosed,
    VoteRound,
    apply_move,
    can_buy,
    can_hand_remote,
    can_hold_remote,
    can_lead,
    can_move,
    move_target,
    set_products,
    vote_allowed,
)
from rooms.shopping.votes import RoundState
from rooms.shopping_state import (
    CartItem,
    ChatMessage,
    Reactions,
    Recap,
    RoomCatalog,
    RoundInfo,
    ShoppingSnapshot,
    empty_carousel,
    ordered_cart,
    ordered_votes,
    shown_products,
)

#: Who acts for the HTTP API (``by=None``): it may do what an admin may.
API_ROLE = Role.ADMIN


class RoomShop:
    """One room's catalog, carousel, votes, round, cart, chat tail and counters."""

    def __init__(
        self,
        catalog: Catalog | None = None,
        image_base: str | None = None,
        remote_mode: RemoteMode = RemoteMode.HOST_LED,
    ) -> None:
        catalog = catalog or Catalog()
        self.catalog = RoomCatalog(0, catalog, image_base)
        self.carousel = dataclasses.replace(empty_carousel(catalog), mode=remote_mode)
        self.round: RoundInfo | None = None
        self.ballot = BallotBox()
        self.cart: dict[str, CartItem] = {}
        #: A live room's viewers' own carts (rooms.own_cart), by participant id.
        self.own_carts: dict[str, tuple[CartItem, ...]] = {}
        self.chat: collections.deque[ChatMessage] = collections.deque(maxlen=CHAT_HISTORY_SIZE)
        self.reactions: collections.Counter[tuple[str | None, str]] = collections.Counter()
        self.shown: collections.Counter[str] = collections.Counter()
        self.votes_cast = 0
        self.chat_messages = 0
        self.cart_adds: collections.Counter[str] = collections.Counter()
        self.checkouts_started = 0
        self.offer: OfferState | None = None
        self._count_shown(None)

    # --- reads -----------------------------------------------------------------------------------

    def snapshot(self) -> ShoppingSnapshot:
        return ShoppingSnapshot(
            catalog=self.catalog,
            carousel=self.carousel,
            round=self.round,
            votes=ordered_votes(self.ballot),
            cart=ordered_cart(self.cart.values()),
            chat=tuple(self.chat),
            offer=self.offer,
        )

    def recap(self, room_id: str) -> Recap:
        return Recap(
            room_id=room_id,
            products_shown=shown_products(self.catalog.catalog, self.shown),
            tallies=self.ballot.tally(),
            cart=ordered_cart(self.cart.values()),
            reactions=Reactions.count((p, e, n) for (p, e), n in self.reactions.items()),
            votes_cast=self.votes_cast,
            chat_messages=self.chat_messages,
            cart_adds=dict(self.cart_adds),
            checkouts_started=self.checkouts_started,
        )

    # --- changes ---------------------------------------------------------------------------------

    def load_catalog(
        self, catalog: Catalog, image_base: str | None, seq: int, now: float
    ) -> events.CatalogLoaded:
        before = self.carousel.state.current
        state = self.carousel.state
        self.carousel = dataclasses.replace(
            self.carousel, state=set_products(state, state.version, catalog.product_ids)
        )
        self.catalog = RoomCatalog(seq, catalog, image_base)
        self._count_shown(before)
        for vote in list(self.ballot):
            if not _offers(catalog, vote.product_id, vote.variant_id):
                self.ballot.retract(vote.participant_id, vote.product_id)
        for key, item in list(self.cart.items()):
            if not _offers(catalog, item.product_id, item.variant_id):
                del self.cart[key]
        self._offer_after_load(now)
        return events.CatalogLoaded(
            revision=seq,
            product_count=len(catalog.products),
            currency=catalog.currency,
            image_base=image_base,
            carousel=CarouselInfo.of(self.carousel),
        )

    def move(
        self,
        actor: Participant | None,
        move: Move,
        product_id: str | None,
        expected_version: int | None,
    ) -> events.CarouselChanged:
        by, role = _who(actor)
        carousel = self.carousel
        if not can_move(carousel.mode, role, by is not None and carousel.holder == by):
            raise Forbidden(f"{role} may not move the carousel now ({carousel.mode} mode)")
        state = carousel.state
        if expected_version is not None and expected_version != state.version:
            raise StaleVersion(expected_version, state, carousel=carousel)
        target = move_target(state, move, product_id)
        before = state.current
        moved = apply_move(state, state.version, target)
        self.carousel = dataclasses.replace(carousel, state=moved)
        self._count_shown(before)
        return self._carousel_changed("move", by)

    def set_remote(
        self, actor: Participant | None, holder: Participant | None, holder_id: str | None
    ) -> events.CarouselChanged:
        """Hand the remote to ``holder`` (``holder_id`` names it; None frees the remote)."""
        by, role = _who(actor)
        carousel = self.carousel
        if not can_hand_remote(carousel.mode, role, by is not None and carousel.holder == by):
            raise Forbidden(f"{role} may not hand the remote now ({carousel.mode} mode)")
        if holder_id is not None:
            if holder is None:
                raise NotInRoom(f"{holder_id} is not in the room")
            if not can_hold_remote(holder.role):
                raise Forbidden(f"a {holder.role} cannot hold the remote")
        self.carousel = dataclasses.replace(carousel, holder=holder_id)
        return self._carousel_changed("remote", by)

    def set_mode(self, actor: Participant | None, mode: RemoteMode) -> events.CarouselChanged:
        by, role = _who(actor)
        _require_host(role, "set the remote mode")
        self.carousel = dataclasses.replace(self.carousel, mode=mode)
        return self._carousel_changed("mode", by)

    def release_remote(self, participant_id: str) -> None:
        """The participant left: if they held the remote, it is free (no event of its own)."""
        if self.carousel.holder == participant_id:
            self.carousel = dataclasses.replace(self.carousel, holder=None)

    def cast_vote(self, vote: Vote, now: float) -> events.VoteCast:
        self._check_offered(vote.product_id, vote.variant_id)
        self._check_vote_open(vote.product_id, now)
        previous = self.ballot.cast(vote)
        self.votes_cast += 1
        return events.VoteCast(
            vote=VoteInfo.of(vote),
            previous=None if previous is None else VoteInfo.of(previous),
            tallies=tally_infos(self.ballot.tally()),
        )

    def retract_vote(
        self, participant_id: str, product_id: str, now: float
    ) -> events.VoteRetracted | None:
        self._check_offered(product_id, None)
        self._check_vote_open(product_id, now)
        removed = self.ballot.retract(participant_id, product_id)
        if removed is None:
            return None
        return events.VoteRetracted(
            vote=VoteInfo.of(removed), tallies=tally_infos(self.ballot.tally())
        )

    def open_round(
        self,
        actor: Participant | None,
        duration: float,
        product_ids: tuple[str, ...] | None,
        now: float,
        seq: int,
    ) -> events.VoteRoundOpened:
        _, role = _who(actor)
        _require_host(role, "open a vote round")
        for product_id in product_ids or ():
            self._check_offered(product_id, None)
        self.round = RoundInfo(seq, VoteRound.open_now(now, duration, product_ids))
        return events.VoteRoundOpened(round=RoundShape.of(self.round))

    def close_round(
        self,
        actor: Participant | None,
        round_id: int | None,
        reason: Literal["host", "deadline"],
        now: float,
    ) -> events.VoteRoundClosed | None:
        _, role = _who(actor)
        _require_host(role, "close a vote round")
        current = self.round
        if current is None or current.round.state is not RoundState.OPEN:
            return None
        if round_id is not None and round_id != current.id:
            return None
        if reason == "deadline" or now >= current.round.closes_at:
            # Closed at its deadline, whoever announces it (and whatever their clock says).
            closed = dataclasses.replace(current.round, state=RoundState.CLOSED)
            reason = "deadline"
        else:
            closed = current.round.close(now)
        self.round = RoundInfo(current.id, closed)
        return events.VoteRoundClosed(round=RoundShape.of(self.round), reason=reason)

    def post_chat(
        self, actor: Participant, text: str, now: float, seq: int
    ) -> events.ChatMessage:
        message = ChatMessage(seq, actor.id, actor.name, text, now)
        self.chat.append(message)
        self.chat_messages += 1
        return events.ChatMessage(message=ChatMessageInfo.of(message))

    def react(self, actor: Participant, emoji: str, product_id: str | None) -> events.Reaction:
        if product_id is not None:
            self._check_offered(product_id, None)
        else:
            product_id = self.carousel.state.current
        self.reactions[(product_id, emoji)] += 1
        return events.Reaction(participant_id=actor.id, emoji=emoji, product_id=product_id)

    def add_to_cart(
        self,
        actor: Participant | None,
        product_id: str,
        variant_id: str | None,
        quantity: int,
        now: float,
    ) -> events.CartItemAdded:
        by, role = _who(actor)
        _require_buyer(role)
        self._check_offered(product_id, variant_id)
        item = CartItem(
            product_id, variant_id, quantity, by, None if actor is None else actor.name, now
        )
        existing = self.cart.get(item.key)
        if existing is not None:
            item = dataclasses.replace(existing, quantity=quantity)
        self.cart[item.key] = item
        self.cart_adds[product_id] += 1
        return events.CartItemAdded(item=CartItemInfo.of(item))

    def change_own_cart(
        self, actor: Participant, kind: RoomKind, item: CartItem
    ) -> tuple[CartItem, ...]:
        """Set ``item``'s quantity in ``actor``'s own cart (0: out; rooms.own_cart)."""
        check_own_cart(kind, actor.role)
        if item.quantity > 0:
            self._check_offered(item.product_id, item.variant_id)
            self.cart_adds[item.product_id] += 1
        cart = with_quantity(self.own_carts.get(actor.id, ()), item)
        self.own_carts[actor.id] = cart
        return cart

    def remove_from_cart(
        self, actor: Participant | None, product_id: str, variant_id: str | None
    ) -> events.CartItemRemoved | None:
        by, role = _who(actor)
        _require_buyer(role)
        key = CartItem(product_id, variant_id, 1, None, None, 0.0).key
        item = self.cart.pop(key, None)
        if item is None:
            return None
        return events.CartItemRemoved(item=CartItemInfo.of(item), by=by)

    def start_checkout(
        self, actor: Participant | None, participant_id: str | None, lines: int, quantity: int
    ) -> events.CheckoutStarted:
        by, role = _who(actor)
        _require_buyer(role)
        if participant_id != by and not can_lead(role):
            raise Forbidden("only a host may check out another's lines or the whole cart")
        self.checkouts_started += 1
        return events.CheckoutStarted(
            by=by, participant_id=participant_id, lines=lines, quantity=quantity
        )

    def set_offer(
        self, actor: Participant | None, offer: GroupOffer, now: float
    ) -> list[events.OfferProgress | events.OfferReached]:
        _, role = _who(actor)
        _require_host(role, "set a group offer")
        self._check_offered(offer.product_id, None)
        self.offer = None
        return self._offer_update(offer, now)

    def follow_offer(
        self, product_id: str, now: float
    ) -> list[events.OfferProgress | events.OfferReached]:
        """After a cart change of ``product_id``: the offer events it causes (rooms.offers)."""
        if self.offer is None or self.offer.offer.product_id != product_id:
            return []
        return self._offer_update(self.offer.offer, now)

    def _offer_after_load(self, now: float) -> None:
        # Dropped cart lines may change the backers; clients get a snapshot, so no event. An
        # offer on a product the catalog no longer has goes.
        if self.offer is None:
            return
        offer = self.offer.offer
        if self.catalog.catalog.get(offer.product_id) is None:
            self.offer = None
            return
        count = backers(offer.product_id, self.cart.values())
        self.offer = OfferState(offer, count, is_reached(offer, count, now))

    def _offer_update(
        self, offer: GroupOffer, now: float
    ) -> list[events.OfferProgress | events.OfferReached]:
        count = backers(offer.product_id, self.cart.values())
        before = self.offer
        if before is not None and before.backers == count:
            return []
        reached = is_reached(offer, count, now)
        self.offer = OfferState(offer, count, reached)
        info = OfferInfo.model_validate(offer.to_dict())
        out: list[events.OfferProgress | events.OfferReached] = [
            events.OfferProgress(offer=info, backers=count, reached=reached)
        ]
        if reached and (before is None or not before.reached):
            out.append(events.OfferReached(offer=info, backers=count))
        return out

    # --- helpers ---------------------------------------------------------------------------------

    def _carousel_changed(
        self, change: Literal["move", "remote", "mode"], by: str | None
    ) -> events.CarouselChanged:
        return events.CarouselChanged(carousel=CarouselInfo.of(self.carousel), change=change, by=by)

    def _count_shown(self, before: str | None) -> None:
        current = self.carousel.state.current
        if current is not None and current != before:
            self.shown[current] += 1

    def _check_offered(self, product_id: str, variant_id: str | None) -> None:
        if not _offers(self.catalog.catalog, product_id, variant_id):
            what = product_id if variant_id is None else f"{product_id}/{variant_id}"
            raise UnknownProduct(f"{what!r} is not in the room's catalog")

    def _check_vote_open(self, product_id: str, now: float) -> None:
        if not vote_allowed(None if self.round is None else self.round.round, now, product_id):
            raise VoteClosed(f"voting on {product_id!r} is closed")


def _who(actor: Participant | None) -> tuple[str | None, Role]:
    return (None, API_ROLE) if actor is None else (actor.id, actor.role)


def _require_host(role: Role, what: str) -> None:
    if not can_lead(role):
        raise Forbidden(f"only a host may {what}")


def _require_buyer(role: Role) -> None:
    if not can_buy(role):
        raise Forbidden("viewers cannot change the cart")


def _offers(catalog: Catalog, product_id: str, variant_id: str | None) -> bool:
    product: Product | None = catalog.get(product_id)
    return product is not None and (variant_id is None or product.variant(variant_id) is not None)
