"""Ratings in rooms: a participant rates what the room's cart held, and the people in a room see
each other's ratings of its catalog ("friends rated 4.5").

"Friends" are the people you shop with: those in the room with you. When somebody joins a group
room, the ratings of its catalog by everyone in it are published to the room (``ratings_shared``),
and a rating given while the room is open reaches it as ``product_rated``; each client shows the
others' ratings as "friends rated" and its own as "you rated". Ratings themselves are kept per
catalog (rooms.ratings), so they carry over to every later room showing the same catalog. A live
room's audience are strangers to each other: nothing is shared there.
"""

from __future__ import annotations

import logging
import time

from rooms.errors import Forbidden, NotInRoom, RoomClosed, StoreUnavailable
from rooms.event_shapes import RatingInfo
from rooms.models import RoomKind, RoomSnapshot
from rooms.ratings import Rating, ratings_key
from rooms.store import RoomStore
from signaling.events import ProductRated, RatingsShared, publish

log = logging.getLogger(__name__)


async def rate(
    store: RoomStore, room_id: str, *, participant_id: str, name: str, product_id: str,
    stars: int,
) -> tuple[Rating, int | None]:
    """Keep ``participant_id``'s rating of ``product_id``, which must be in the room's shared
    cart or the participant's own cart (a live room's viewer; Forbidden otherwise: one rates
    what one bought or had in the cart), and announce it
    in the room while it is open. Returns the rating and the seq of its ``product_rated``
    (None once the room is closed). Raises NotInRoom for an unknown room, ValueError for
    stars outside 1..5."""
    rating = Rating(product_id, participant_id, name, stars, round(time.time(), 3))
    recap = await store.recap(room_id)  # closed rooms too: rating comes after the session
    held = any(item.product_id == product_id for item in recap.cart) or any(
        # A live room's viewer shops in a cart of its own.
        item.product_id == product_id for item in await store.own_cart(room_id, participant_id)
    )
    if not held:
        raise Forbidden(f"only what was in the room's cart can be rated, not {product_id!r}")
    catalog = (await store.room_catalog(room_id)).catalog
    await store.rate_product(ratings_key(catalog), rating)
    try:
        event = await publish(store, room_id, ProductRated(rating=RatingInfo.of(rating)))
    except RoomClosed:
        return rating, None
    return rating, event.seq


async def share(store: RoomStore, room_id: str, snapshot: RoomSnapshot) -> None:
    """Publish the ratings of the room's catalog by everyone in ``snapshot`` (taken at a join)
    to the room, if there are any and it is a group room. Store trouble only costs the room
    its "friends rated" until the next join: it is logged, not raised."""
    if snapshot.room.kind is not RoomKind.GROUP:
        return
    try:
        key = ratings_key(snapshot.shopping.catalog.catalog)
        ratings = await store.ratings_by(key, [p.id for p in snapshot.participants])
        if ratings:
            body = RatingsShared(ratings=[RatingInfo.of(r) for r in ratings])
            await publish(store, room_id, body)
    except (StoreUnavailable, NotInRoom, RoomClosed) as exc:
        log.info("room %s: ratings not shared: %s", room_id, exc)
