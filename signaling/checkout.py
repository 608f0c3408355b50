"""Checkout hand-off: a participant's (or the whole cart's) checkout link, for the socket and
the HTTP API alike. The link is built by rooms.checkout (no I/O); the store counts it."""

from __future__ import annotations

import time

from rooms.checkout import CheckoutLine, checkout_lines, checkout_url, items_of
from rooms.offers import discount_code
from rooms.shopping_state import ShoppingSnapshot
from rooms.store import RoomStore
from signaling import protocol as wire


async def hand_out(
    store: RoomStore, room_id: str, *, by: str | None, participant_id: str | None
) -> tuple[wire.CheckoutLink, int]:
    """The link for the cart lines ``participant_id`` added (None: the whole cart), asked for
    by ``by`` (None: the HTTP API), and the seq of the ``checkout_started`` it publishes.
    Raises the store's errors (Forbidden: RoomStore.start_checkout) or CheckoutUnavailable."""
    shop = (await store.snapshot(room_id)).shopping
    catalog = shop.catalog.catalog
    lines = checkout_lines(catalog, items_of(shop.cart, participant_id))
    url = checkout_url(catalog, lines, room_id=room_id, discount=_discount(shop, lines))
    quantity = sum(line.quantity for line in lines)
    event = await store.start_checkout(
        room_id, by=by, participant_id=participant_id, lines=len(lines), quantity=quantity
    )
    link = wire.CheckoutLink(
        url=url,
        participant_id=participant_id,
        lines=[wire.CheckoutLineInfo(**line.to_dict()) for line in lines],
        quantity=quantity,
    )
    return link, event.seq


def _discount(shop: ShoppingSnapshot, lines: tuple[CheckoutLine, ...]) -> str | None:
    """The group offer's code, while it is reached (rooms.offers, from this same snapshot's
    cart) and the link buys its product."""
    offer = None if shop.offer is None else shop.offer.offer
    if offer is None or all(line.product_id != offer.product_id for line in lines):
        return None
    return discount_code(offer, shop.cart, time.time())
