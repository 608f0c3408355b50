"""Checkout links (rooms.checkout): Shopify cart permalinks and catalog URL templates, sans-IO."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.catalog.models import Catalog, Money, Product, Variant
from rooms.checkout import CheckoutLine, checkout_lines, checkout_url, items_of
from rooms.errors import CheckoutUnavailable
from rooms.shopping_state import CartItem


def _product(pid: str, *variant_ids: str) -> Product:
    return Product(
        id=pid,
        title=pid,
        variants=tuple(Variant(id=v, price=Money.parse("1.00", "USD")) for v in variant_ids),
    )


CATALOG = Catalog(
    products=(_product("tee", "tee-s", "tee-m"), _product("mug", "4711")),
    shopify_shop="friends.myshopify.com",
)


def _item(pid: str, vid: str | None, qty: int, by: str | None, at: float = 0.0) -> CartItem:
    return CartItem(pid, vid, qty, by, by, at)


def test_shopify_permalink_with_and_without_discount() -> None:
    lines = (CheckoutLine("tee", "tee-m", 2), CheckoutLine("mug", "4711", 1))
    assert checkout_url(CATALOG, lines) == "https://friends.myshopify.com/cart/tee-m:2,4711:1"
    assert (
        checkout_url(CATALOG, lines, discount="GROUP 10%")
        == "https://friends.myshopify.com/cart/tee-m:2,4711:1?discount=GROUP%2010%25"
    )


def test_template_fills_items_discount_and_room() -> None:
    catalog = Catalog(
        products=CATALOG.products,
        checkout_url_template="https://shop.example/checkout?cart={items}&code={discount}&r={room}",
    )
    url = checkout_url(catalog, [CheckoutLine("tee", "a:b,c", 3)], room_id="r1", discount="X")
    assert url == "https://shop.example/checkout?cart=a%3Ab%2Cc:3&code=X&r=r1"
    assert checkout_url(catalog, [CheckoutLine("tee", "v", 1)]).endswith("code=&r=")


def test_no_shop_or_no_lines_is_unavailable() -> None:
    with pytest.raises(CheckoutUnavailable, match="names no shop"):
        checkout_url(Catalog(products=CATALOG.products), [CheckoutLine("tee", "tee-s", 1)])
    with pytest.raises(CheckoutUnavailable, match="no cart lines"):
        checkout_url(CATALOG, [])


def test_lines_pick_first_variant_merge_and_drop_unknown() -> None:
    cart = (
        _item("tee", None, 1, "ann"),
        _item("mug", "4711", 2, "bob"),
        _item("tee", "tee-s", 2, "bob"),
        _item("gone", None, 5, "ann"),
        _item("tee", "nope", 1, "ann"),
    )
    assert checkout_lines(CATALOG, cart) == (
        CheckoutLine("tee", "tee-s", 3),
        CheckoutLine("mug", "4711", 2),
    )
    assert checkout_lines(CATALOG, items_of(cart, "bob")) == (
        CheckoutLine("mug", "4711", 2),
        CheckoutLine("tee", "tee-s", 2),
    )
    assert items_of(cart, None) == cart


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.text(min_size=1, max_size=20), st.integers(min_value=1, max_value=99)),
        min_size=1,
        max_size=8,
    ),
    discount=st.none() | st.text(min_size=1, max_size=30),
)
def test_permalink_round_trips_any_ids_quantities_and_code(
    lines: list[tuple[str, int]], discount: str | None
) -> None:
    """Whatever the ids and code hold (commas, colons, '?', '#', non-ASCII), the link parses
    back to exactly the lines and code it was made from."""
    url = checkout_url(
        CATALOG, [CheckoutLine("p", v, q) for v, q in lines], discount=discount
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.fragment) == ("https", "friends.myshopify.com", "")
    assert parts.path.startswith("/cart/")
    back = []
    for pair in parts.path.removeprefix("/cart/").split(","):
        vid, qty = pair.split(":")
        back.append((unquote(vid), int(qty)))
    assert back == lines
    query = parse_qs(parts.query, keep_blank_values=True)
    assert query == ({} if discount is None else {"discount": [discount]})


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://shop.example/c?{items", "expected '}'"),
        ("https://shop.example/c?x={item}", "unknown placeholder"),
        ("https://shop.example/c", "must contain {items}"),
        ("javascript:{items}", "not an http"),
    ],
)
def test_bad_templates_are_refused(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Catalog(checkout_url_template=template)


def test_shop_and_template_exclude_each_other_and_shop_is_a_domain() -> None:
    with pytest.raises(ValueError, match="not both"):
        Catalog(shopify_shop="a.example", checkout_url_template="https://a.example/{items}")
    with pytest.raises(ValueError, match="not a shop domain"):
        Catalog(shopify_shop="https://a.example/")
    assert Catalog(shopify_shop=" Shop.Example.COM ").shopify_shop == "shop.example.com"


@settings(max_examples=200, deadline=None)
@given(
    variant=st.text(min_size=1, max_size=20),
    quantity=st.integers(min_value=1, max_value=99),
    room=st.text(max_size=20),
    discount=st.text(max_size=20),
)
def test_template_values_stay_inside_their_query_parameter(
    variant: str, quantity: int, room: str, discount: str
) -> None:
    """Whatever ids, room and code hold ('&', '=', '#', '{', non-ASCII), each comes back as
    exactly its own query parameter."""
    catalog = Catalog(
        products=CATALOG.products,
        checkout_url_template="https://shop.example/c?items={items}&code={discount}&r={room}",
    )
    url = checkout_url(catalog, [CheckoutLine("p", variant, quantity)], room_id=room,
                       discount=discount)
    parts = urlsplit(url)
    assert (parts.netloc, parts.path, parts.fragment) == ("shop.example", "/c", "")
    query = parse_qs(parts.query, keep_blank_values=True)
    assert query == {"items": [f"{variant}:{quantity}"], "code": [discount], "r": [room]}
