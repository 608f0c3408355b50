"""Ratings on import: coshop JSON ``rating``, Merchant Center ``rating`` / ``review_count``,
Shopify's ``reviews.rating`` / ``reviews.rating_count`` metafields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from rooms.catalog import (
    ProductRating,
    dump_coshop_json,
    import_coshop_json,
    import_gmc_tsv,
    import_gmc_xml,
    import_shopify,
)

PRICE = {"amount_minor": 2400, "currency": "USD"}


def _coshop(*products: dict[str, Any], **top: Any) -> str:
    return json.dumps({"currency": "USD", **top, "products": list(products)})


def test_coshop_json_carries_rating_and_catalog_id() -> None:
    text = _coshop(
        {"id": "tee", "title": "Tee", "rating": {"value": 4.25, "count": 31},
         "variants": [{"id": "tee-s", "price": PRICE}]},
        {"id": "mug", "title": "Mug", "variants": [{"id": "mug-1", "price": PRICE}]},
        id="northwind-fall",
    )
    result = import_coshop_json(text)
    assert result.problems == ()
    catalog = result.catalog
    assert catalog.id == "northwind-fall"
    assert catalog.products[0].rating == ProductRating(value=4.25, count=31)
    assert catalog.products[1].rating is None
    # Round trip: what is dumped reads back the same.
    assert import_coshop_json(dump_coshop_json(catalog)).catalog == catalog


@pytest.mark.parametrize(
    ("rating", "field"),
    [
        ({"value": 5.5, "count": 1}, "rating.value"),
        ({"value": 0.5}, "rating.value"),
        ({"value": 4, "count": -1}, "rating.count"),
        ({"value": 4, "stars": 3}, "rating.stars"),
    ],
)
def test_coshop_json_bad_rating_is_a_problem_of_its_row(rating: Any, field: str) -> None:
    text = _coshop(
        {"id": "tee", "title": "Tee", "rating": rating, "variants": [{"id": "v", "price": PRICE}]}
    )
    result = import_coshop_json(text)
    assert result.catalog.products == ()
    assert [(p.row, p.field) for p in result.problems] == [(1, field)]


def test_rating_value_keeps_two_decimals() -> None:
    assert ProductRating(value=4.666666, count=3).value == 4.67
    with pytest.raises(ValidationError):
        ProductRating(value=float("nan"))


GMC_TSV = (
    "id\ttitle\tprice\tavailability\titem_group_id\tsize\trating\treview_count\n"
    "TEE-S\tTee - S\t24.00 USD\tin stock\tTEE\tS\t4.6\t128\n"
    "TEE-M\tTee - M\t24.00 USD\tin stock\tTEE\tM\t4.6\t128\n"
    "MUG\tMug\t8.00 USD\tin stock\t\t\t0\t\n"
    "CAP\tCap\t9.00 USD\tin stock\t\t\t4.1\t\n"
    "BAD\tBad\t9.00 USD\tin stock\t\t\tsix\t3\n"
    "HIGH\tHigh\t9.00 USD\tin stock\t\t\t7\t3\n"
)


def test_gmc_tsv_rating_columns() -> None:
    result = import_gmc_tsv(GMC_TSV)
    ratings = {p.id: p.rating for p in result.catalog.products}
    assert ratings == {
        "TEE": ProductRating(value=4.6, count=128),
        "MUG": None,  # 0 is "no rating" to Merchant Center
        "CAP": ProductRating(value=4.1, count=0),
    }
    assert [(p.row, p.field, p.message) for p in result.problems] == [
        (6, "rating", "not a rating: 'six'"),
        (7, "rating", "a rating is 1 to 5, not 7"),
    ]


def test_gmc_xml_rating_attributes_css_spelling() -> None:
    xml = """<?xml version="1.0"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>
  <item><g:id>LAMP</g:id><g:title>Lamp</g:title><g:price>30.00 USD</g:price>
    <g:availability>in stock</g:availability>
    <g:rating>3.8</g:rating><g:reviewCount>12</g:reviewCount></item>
  <item><g:id>RUG</g:id><g:title>Rug</g:title><g:price>90.00 USD</g:price>
    <g:availability>in stock</g:availability><g:review_count>x</g:review_count>
    <g:rating>4</g:rating></item>
</channel></rss>"""
    result = import_gmc_xml(xml)
    assert [(p.id, p.rating) for p in result.catalog.products] == [
        ("LAMP", ProductRating(value=3.8, count=12))
    ]
    assert [(p.row, p.field) for p in result.problems] == [(2, "review_count")]


def _shopify_product(pid: int, metafields: Any) -> dict[str, Any]:
    return {
        "id": pid, "title": f"P{pid}", "handle": f"p{pid}", "body_html": "",
        "variants": [{"id": pid * 10, "price": "10.00", "available": True}],
        "metafields": metafields,
    }


def _rating_field(value: str, low: str = "1.0", high: str = "5.0") -> dict[str, Any]:
    return {
        "namespace": "reviews", "key": "rating", "type": "rating",
        "value": json.dumps({"value": value, "scale_min": low, "scale_max": high}),
    }


def test_shopify_review_metafields() -> None:
    count = {"namespace": "reviews", "key": "rating_count", "type": "number_integer",
             "value": "57"}
    other = {"namespace": "custom", "key": "rating", "value": "ignored"}
    products = [
        _shopify_product(1, [other, _rating_field("4.5"), count]),
        # A review app on a 0-10 scale: 8 of 10 is 4.2 stars.
        _shopify_product(2, [_rating_field("8", "0", "10")]),
        _shopify_product(3, [other]),
        _shopify_product(4, None),
        _shopify_product(5, [_rating_field("6.0")]),
        _shopify_product(6, [{"namespace": "reviews", "key": "rating", "value": "{]"}]),
    ]
    result = import_shopify(json.dumps({"products": products}))
    ratings = {p.id: p.rating for p in result.catalog.products}
    assert ratings == {
        "1": ProductRating(value=4.5, count=57),
        "2": ProductRating(value=4.2, count=0),
        "3": None,
        "4": None,
    }
    assert [(p.row, p.field) for p in result.problems] == [
        (5, "metafields.reviews.rating"),
        (6, "metafields.reviews.rating"),
    ]
