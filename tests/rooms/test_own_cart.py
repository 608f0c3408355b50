"""A live room's viewers' own carts on both stores (rooms.own_cart): each viewer's cart is its
own, the shared cart is untouched, and the recap counts every add per product."""

from __future__ import annotations

import pytest

from rooms import Participant, Role, RoomStore
from rooms.errors import Forbidden, NotInRoom
from rooms.models import RoomKind
from rooms.shopping import UnknownProduct
from tests.catalogs import SHOP


def person(pid: str, role: Role = Role.GUEST) -> Participant:
    return Participant(id=pid, name=f"name of {pid}", role=role)


def lines(cart: tuple[object, ...]) -> list[tuple[str, str | None, int]]:
    return [(i.product_id, i.variant_id, i.quantity) for i in cart]  # type: ignore[attr-defined]


async def test_each_viewer_has_a_cart_of_its_own(store: RoomStore) -> None:
    await store.create_room("show", kind=RoomKind.LIVE, catalog=SHOP)
    await store.join("show", person("host", Role.HOST))
    await store.join("show", person("v1", Role.VIEWER))
    await store.join("show", person("v2", Role.VIEWER))
    first, second = SHOP.product_ids[0], SHOP.product_ids[1]
    variant = SHOP.products[0].variants[0].id
    cart = await store.add_to_own_cart("show", "v1", product_id=first)
    assert lines(cart) == [(first, None, 1)]
    assert cart[0].added_by == "v1" and cart[0].added_by_name == "name of v1"
    await store.add_to_own_cart("show", "v1", product_id=second, quantity=2)
    cart = await store.add_to_own_cart("show", "v1", product_id=first, quantity=3)
    assert lines(cart) == [(first, None, 3), (second, None, 2)]  # kept its place
    await store.add_to_own_cart("show", "v2", product_id=first, variant_id=variant)
    assert lines(await store.own_cart("show", "v2")) == [(first, variant, 1)]
    assert lines(await store.own_cart("show", "v1")) == [(first, None, 3), (second, None, 2)]
    # The shared cart is not theirs: untouched.
    assert (await store.snapshot("show")).shopping.cart == ()
    cart = await store.remove_from_own_cart("show", "v1", product_id=first)
    assert lines(cart) == [(second, None, 2)]
    assert lines(await store.remove_from_own_cart("show", "v1", product_id=second)) == []
    assert await store.own_cart("show", "v1") == ()
    assert await store.own_cart("show", "nobody") == ()
    # Every accepted add counts, per product (a quantity change too), with the shared cart's.
    await store.add_to_cart("show", by="host", product_id=second)
    assert (await store.recap("show")).cart_adds == {first: 3, second: 2}


async def test_only_a_live_rooms_viewers_have_one(store: RoomStore) -> None:
    await store.create_room("show", kind=RoomKind.LIVE, catalog=SHOP)
    await store.create_room("group", catalog=SHOP)
    await store.join("show", person("host", Role.HOST))
    await store.join("show", person("v1", Role.VIEWER))
    await store.join("group", person("g1", Role.VIEWER))
    first = SHOP.product_ids[0]
    for room, who in (("show", "host"), ("group", "g1")):
        with pytest.raises(Forbidden):
            await store.add_to_own_cart(room, who, product_id=first)
    with pytest.raises(NotInRoom):
        await store.add_to_own_cart("show", "ghost", product_id=first)
    with pytest.raises(UnknownProduct):
        await store.add_to_own_cart("show", "v1", product_id="no-such-product")
    with pytest.raises(UnknownProduct):
        await store.add_to_own_cart("show", "v1", product_id=first, variant_id="no-such")
    assert await store.own_cart("show", "v1") == ()
    assert (await store.recap("show")).cart_adds == {}
