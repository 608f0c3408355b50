"""Shopping requests from a participant's socket: flood control, then one RoomStore operation.

The store publishes the change as a room event, which reaches every socket in the room
(the sender's included) through the hubs; nothing is answered here but errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from rooms.models import Participant
from rooms.shopping import (
    CHAT_POLICY,
    CHECKOUT_POLICY,
    REACTION_POLICY,
    VOTE_POLICY,
    Move,
    RateLimiter,
    RatePolicy,
    RemoteMode,
    Verdict,
    Vote,
)
from rooms.store import RoomStore
from signaling import protocol as wire
from signaling import ratings
from signaling.checkout import hand_out
from signaling.errors import RateLimited

ShoppingRequest = (
    wire.CarouselMove
    | wire.RemoteTake
    | wire.RemotePass
    | wire.SetRemoteMode
    | wire.CastVote
    | wire.RetractVote
    | wire.OpenVoteRound
    | wire.CloseVoteRound
    | wire.SendChat
    | wire.React
    | wire.CartAdd
    | wire.CartRemove
    | wire.Checkout
    | wire.SetOffer
    | wire.Rate
)

#: Buckets kept before the full (as-new) ones are forgotten.
_PRUNE_ABOVE: Final = 1024


class ShoppingLimits:
    """Per-participant token buckets (rooms.shopping.limits) for votes, reactions and chat,
    on this node: a participant's socket lives on one node."""

    def __init__(
        self, *, enabled: bool = True, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.enabled = enabled
        self._clock = clock
        self._limiters = {
            "votes": RateLimiter(VOTE_POLICY),
            "reactions": RateLimiter(REACTION_POLICY),
            "chat messages": RateLimiter(CHAT_POLICY),
            "checkouts": RateLimiter(CHECKOUT_POLICY),
        }

    def check(self, what: str, room_id: str, participant_id: str) -> None:
        """Spend one token of ``what`` for the participant, or raise RateLimited."""
        if not self.enabled:
            return
        limiter = self._limiters[what]
        now = self._clock()
        key = f"{room_id}:{participant_id}"
        if not limiter.allow(key, now):
            raise RateLimited(what, limiter.retry_after(key, now))
        if len(limiter) > _PRUNE_ABOVE:
            limiter.prune(now)

    def policy(self, what: str) -> RatePolicy:
        return self._limiters[what].policy


async def perform(
    store: RoomStore,
    limits: ShoppingLimits,
    room_id: str,
    you: Participant,
    request: ShoppingRequest,
) -> wire.CheckoutLink | None:
    """Apply one shopping request of participant ``you``; raises the store's (or the
    limiter's) named errors, which the session reports as error codes. Returns the answer
    to send back, if the request has one (``checkout``)."""
    me = you.id
    match request:
        case wire.CarouselMove(action=action, product_id=product_id, version=version):
            await store.move_carousel(
                room_id, Move(action), by=me, product_id=product_id, expected_version=version
            )
        case wire.RemoteTake():
            await store.pass_remote(room_id, by=me, to=me)
        case wire.RemotePass(to=to):
            await store.pass_remote(room_id, by=me, to=to)
        case wire.SetRemoteMode(mode=mode):
            await store.set_remote_mode(room_id, RemoteMode(mode), by=me)
        case wire.CastVote(product_id=product_id, value=value, variant_id=variant_id):
            limits.check("votes", room_id, me)
            verdict = Verdict(value) if isinstance(value, str) else value
            await store.cast_vote(room_id, Vote(me, product_id, verdict, variant_id))
        case wire.RetractVote(product_id=product_id):
            limits.check("votes", room_id, me)
            await store.retract_vote(room_id, me, product_id)
        case wire.OpenVoteRound(duration=duration, product_ids=product_ids):
            await store.open_vote_round(
                room_id, by=me, duration=duration, product_ids=product_ids
            )
        case wire.CloseVoteRound():
            await store.close_vote_round(room_id, by=me)
        case wire.SendChat(text=text):
            limits.check("chat messages", room_id, me)
            await store.post_chat(room_id, me, text)
        case wire.React(emoji=emoji, product_id=product_id):
            limits.check("reactions", room_id, me)
            await store.react(room_id, me, emoji, product_id=product_id)
        case wire.CartAdd(product_id=product_id, variant_id=variant_id, quantity=quantity):
            await store.add_to_cart(
                room_id, by=me, product_id=product_id, variant_id=variant_id, quantity=quantity
            )
        case wire.CartRemove(product_id=product_id, variant_id=variant_id):
            await store.remove_from_cart(
                room_id, by=me, product_id=product_id, variant_id=variant_id
            )
        case wire.SetOffer(
            product_id=product_id, threshold=threshold, percent=percent, code=code,
            duration=duration,
        ):
            await store.set_offer(
                room_id, by=me, product_id=product_id, threshold=threshold, percent=percent,
                code=code, duration=duration,
            )
        case wire.Rate(product_id=product_id, stars=stars):
            limits.check("votes", room_id, me)
            await ratings.rate(
                store, room_id, participant_id=me, name=you.name, product_id=product_id,
                stars=stars,
            )
        case wire.Checkout(scope=scope):
            limits.check("checkouts", room_id, me)
            link, _ = await hand_out(
                store, room_id, by=me, participant_id=me if scope == "mine" else None
            )
            return link
    return None
