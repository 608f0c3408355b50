"""A live room's viewer's own cart from its socket: ``cart_add`` / ``cart_remove`` of a viewer in
a live room change its own cart (rooms.own_cart), not the room's shared one, and are answered
with the cart as it now is (``own_cart``, to that viewer only: no room event, so a large
audience's carts cost nobody else a message)."""

from __future__ import annotations

from rooms.event_shapes import CartItemInfo
from rooms.shopping_state import CartItem
from rooms.store import RoomStore
from signaling import protocol as wire

OwnCartRequest = wire.CartAdd | wire.CartRemove


def own_cart_message(cart: tuple[CartItem, ...]) -> wire.OwnCart:
    """The ``own_cart`` message for ``cart``."""
    return wire.OwnCart(items=[CartItemInfo.of(item) for item in cart])


async def perform(
    store: RoomStore, room_id: str, participant_id: str, request: OwnCartRequest
) -> wire.OwnCart:
    """Apply one cart change of a live room's viewer to its own cart; raises the store's
    named errors (Forbidden, UnknownProduct, NotInRoom)."""
    match request:
        case wire.CartAdd(product_id=product_id, variant_id=variant_id, quantity=quantity):
            cart = await store.add_to_own_cart(
                room_id, participant_id, product_id=product_id, variant_id=variant_id,
                quantity=quantity,
            )
        case wire.CartRemove(product_id=product_id, variant_id=variant_id):
            cart = await store.remove_from_own_cart(
                room_id, participant_id, product_id=product_id, variant_id=variant_id
            )
    return own_cart_message(cart)
