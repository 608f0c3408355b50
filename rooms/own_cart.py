"""A live room's viewer's own cart (sans-IO): each viewer buys for itself, the shared cart of a
group room is not theirs to change.

Both stores apply these rules (rooms/lua/shop_own_cart.lua mirrors them): the contract suite
holds the two to the same results.
"""

from __future__ import annotations

from collections.abc import Sequence

from rooms.errors import Forbidden
from rooms.models import Role, RoomKind
from rooms.shopping_state import CartItem


def check_own_cart(kind: RoomKind, role: Role) -> None:
    """Only a live room's viewers have a cart of their own (Forbidden otherwise: the stage
    and a group room's people share the room's cart)."""
    if RoomKind(kind) is not RoomKind.LIVE or Role(role) is not Role.VIEWER:
        raise Forbidden("only a live room's viewers have a cart of their own")


def with_quantity(
    cart: Sequence[CartItem], item: CartItem
) -> tuple[CartItem, ...]:
    """``cart`` with ``item``'s line set to its quantity (0: taken out). A line already there
    keeps its place and when it was added; a new one goes last."""
    out: list[CartItem] = []
    found = False
    for line in cart:
        if line.key != item.key:
            out.append(line)
            continue
        found = True
        if item.quantity > 0:
            out.append(CartItem(line.product_id, line.variant_id, item.quantity,
                                line.added_by, line.added_by_name, line.added_at))
    if not found and item.quantity > 0:
        out.append(item)
    return tuple(out)
