"""Shopify products.json: mapping, availability rules, per-row problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rooms.catalog import (
    Availability,
    CatalogError,
    CatalogFormat,
    Money,
    Problem,
    import_shopify,
)
from rooms.catalog.shopify import html_to_text

DATA = Path(__file__).parent / "data"


def test_export_problems_are_exact() -> None:
    result = import_shopify((DATA / "shopify_products.json").read_text())
    assert result.format is CatalogFormat.SHOPIFY
    assert [(p.row, p.field, p.message) for p in result.problems] == [
        (1, "variants[2].price", "not a decimal amount: '24.5.0'"),
        (3, "id", "missing id"),
        (4, "variants[0].available", "unknown availability 'maybe'"),
        (4, "variants", "no valid variants; product skipped"),
        (5, "variants[0].price", "too many decimals for USD (2): '12.345'; refusing to round"),
        (5, "variants", "no valid variants; product skipped"),
        (6, "id", "duplicate product id '1001', first at item 1"),
        (7, "variants[1].id", "missing id"),
    ]


def test_export_products_are_exact() -> None:
    catalog = import_shopify((DATA / "shopify_products.json").read_text()).catalog
    assert catalog.currency == "USD"
    assert catalog.product_ids == ("1001", "1002", "1007")

    tee = catalog.get("1001")
    assert tee is not None
    assert tee.title == "Harbor Tee"
    assert tee.brand == "Northwind Threads"
    assert (
        tee.description == "Soft organic cotton & a relaxed fit.\nRibbed collar\nMade in Portugal"
    )
    assert tee.images == ("https://cdn.example/tee-red.jpg", "https://cdn.example/tee-back.jpg")
    assert tee.tags == ("apparel", "tops")
    assert tee.link is None
    s, m = tee.variants
    assert s.id == "2001" and s.title == "S / Red"
    assert s.options == {"size": "S", "color": "Red"}
    assert s.price == Money(amount_minor=2400, currency="USD")
    assert s.compare_at_price == Money(amount_minor=3000, currency="USD")
    assert (s.availability, s.inventory, s.sku) == (Availability.IN_STOCK, 5, "TEE-S-RED")
    assert (m.id, m.price.amount_minor, m.compare_at_price) == ("2002", 2400, None)
    assert m.availability is Availability.OUT_OF_STOCK

    mug = catalog.get("1002")
    assert mug is not None
    assert mug.tags == ("mugs",) and mug.description == ""
    (v,) = mug.variants
    # "Default Title" is Shopify's placeholder, not an option; "continue" sells on: backorder.
    assert (v.id, v.title, v.options, v.sku) == ("2004", "", {}, None)
    assert v.price.amount_minor == 129999
    assert (v.availability, v.inventory, v.compare_at_price) == (Availability.BACKORDER, 0, None)

    cap = catalog.get("1007")
    assert cap is not None
    (v,) = cap.variants
    # A JSON number price is read as an exact Decimal.
    assert (v.id, v.price.amount_minor, v.availability) == ("2009", 1550, Availability.OUT_OF_STOCK)


def doc(*variants: Any, **product: Any) -> str:
    base: dict[str, Any] = {"id": 1, "title": "T", "variants": list(variants)}
    return json.dumps({"products": [{**base, **product}]})


def test_currency_argument_prices_everything() -> None:
    result = import_shopify(
        doc({"id": 1, "price": "1500"}, {"id": 2, "price": "1500.50"}), currency="jpy"
    )
    assert result.catalog.currency == "JPY"
    product = result.catalog.get("1")
    assert product is not None
    assert [v.price for v in product.variants] == [Money(amount_minor=1500, currency="JPY")]
    assert result.problems == (
        Problem(
            row=1,
            field="variants[1].price",
            message="too many decimals for JPY (0): '1500.50'; refusing to round",
        ),
    )
    kwd = import_shopify(doc({"id": 1, "price": "2.125"}), currency="KWD").catalog.get("1")
    assert kwd is not None and kwd.variants[0].price.amount_minor == 2125


def test_unknown_currency_argument_is_refused() -> None:
    with pytest.raises(CatalogError) as info:
        import_shopify(doc({"id": 1, "price": "1"}), currency="XYZ")
    assert str(info.value) == "currency: unknown currency 'XYZ'"


@pytest.mark.parametrize(
    ("fields", "availability"),
    [
        ({}, Availability.IN_STOCK),
        ({"available": True}, Availability.IN_STOCK),
        ({"available": False}, Availability.OUT_OF_STOCK),
        ({"inventory_quantity": 3}, Availability.IN_STOCK),
        ({"inventory_quantity": 0}, Availability.OUT_OF_STOCK),
        ({"inventory_quantity": -2, "inventory_policy": "continue"}, Availability.BACKORDER),
        (
            {"inventory_quantity": 0, "inventory_policy": "continue", "available": True},
            Availability.BACKORDER,
        ),
        # Untracked stock: the shop says available whatever the count.
        ({"inventory_quantity": 0, "available": True}, Availability.IN_STOCK),
        ({"inventory_quantity": 4, "available": False}, Availability.OUT_OF_STOCK),
    ],
)
def test_availability_rules(fields: dict[str, Any], availability: Availability) -> None:
    result = import_shopify(doc({"id": 1, "price": "1.00", **fields}))
    assert result.problems == ()
    product = result.catalog.get("1")
    assert product is not None and product.variants[0].availability is availability


def test_bad_inventory_and_compare_at_price_are_reported() -> None:
    result = import_shopify(
        doc(
            {"id": 1, "price": "1.00", "inventory_quantity": "many"},
            {"id": 2, "price": "1.00", "compare_at_price": "abc"},
            {"id": 3, "price": None},
            {"id": 4, "price": ["1"]},
            "not a variant",
        )
    )
    assert [(p.field, p.message) for p in result.problems] == [
        ("variants[0].inventory_quantity", "not an integer: 'many'"),
        ("variants[1].compare_at_price", "not a decimal amount: 'abc'"),
        ("variants[2].price", "missing price"),
        ("variants[3].price", "not a price: ['1']"),
        ("variants[4]", "not a JSON object"),
        ("variants", "no valid variants; product skipped"),
    ]
    assert result.catalog.products == ()


def test_single_product_export_and_base_url_and_missing_title() -> None:
    one = json.dumps(
        {
            "product": {
                "id": 9,
                "title": "Mug",
                "handle": "mug",
                "variants": [{"id": 1, "price": "3"}],
            }
        }
    )
    result = import_shopify(one, base_url="https://shop.example/")
    product = result.catalog.get("9")
    assert product is not None and product.link == "https://shop.example/products/mug"
    untitled = import_shopify(doc({"id": 1, "price": "1"}, title=None))
    assert untitled.problems == (
        Problem(row=1, field="title", message="Input should be a valid string"),
    )


def test_not_an_export_raises() -> None:
    with pytest.raises(CatalogError) as info:
        import_shopify('{"items": []}')
    assert str(info.value) == 'not a Shopify export: expected {"products": [...]}'


def test_html_to_text_drops_markup() -> None:
    assert html_to_text("<h2>Fit</h2><p>Runs <i>small</i>&nbsp;&lt;3</p><style>p{}</style>") == (
        "Fit\nRuns small <3"  # A no-break space is whitespace like any other.
    )
    assert html_to_text("<img src=x onerror=alert(1)>plain") == "plain"


def test_shop_domain_comes_from_base_url_or_shop() -> None:
    text = (DATA / "shopify_products.json").read_text()
    assert import_shopify(text).catalog.shopify_shop is None
    assert import_shopify(text, base_url="https://Friends.example").catalog.shopify_shop == (
        "friends.example"
    )
    assert import_shopify(text, shop="x.myshopify.com").catalog.shopify_shop == "x.myshopify.com"
    with pytest.raises(CatalogError, match="shop"):
        import_shopify(text, shop="not a domain")
