"""Catalog models: validation rules that every importer relies on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from rooms.catalog import Availability, Catalog, Money, Product, Variant


def usd(minor: int) -> dict[str, Any]:
    return {"amount_minor": minor, "currency": "USD"}


def variant(id: str = "v1", **fields: Any) -> dict[str, Any]:
    return {"id": id, "price": usd(1000), **fields}


def product(id: str = "p1", **fields: Any) -> dict[str, Any]:
    return {"id": id, "title": "Tee", "variants": [variant()], **fields}


def errors(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [
        (".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.value.errors(include_url=False)
    ]


def test_minimal_product_defaults() -> None:
    p = Product.model_validate(product())
    assert p.description == ""
    assert p.brand is None and p.link is None
    assert p.images == () and p.tags == ()
    v = p.variants[0]
    assert v.availability is Availability.IN_STOCK
    assert v.options == {} and v.title == "" and v.inventory is None and v.sku is None
    assert v.price == Money(amount_minor=1000, currency="USD")


def test_whitespace_is_stripped_and_ids_must_not_be_blank() -> None:
    p = Product.model_validate(product(id="  p1 ", title=" Tee "))
    assert (p.id, p.title) == ("p1", "Tee")
    with pytest.raises(ValidationError) as exc:
        Product.model_validate(product(id="   "))
    assert errors(exc) == [("id", "String should have at least 1 character")]


def test_unknown_availability_has_a_plain_message() -> None:
    with pytest.raises(ValidationError) as exc:
        Variant.model_validate(variant(availability="in stock"))
    assert errors(exc) == [("availability", "Value error, unknown availability 'in stock'")]
    assert Variant.model_validate(variant(availability="backorder")).availability is (
        Availability.BACKORDER
    )


def test_orderable() -> None:
    assert [a.orderable for a in Availability] == [True, False, True, True]


def test_compare_at_price_must_share_the_price_currency() -> None:
    with pytest.raises(ValidationError) as exc:
        Variant.model_validate(variant(compare_at_price={"amount_minor": 1200, "currency": "EUR"}))
    assert errors(exc) == [
        ("", "Value error, compare_at_price currency EUR differs from price currency USD")
    ]


def test_variants_are_required_unique_and_in_one_currency() -> None:
    with pytest.raises(ValidationError) as exc:
        Product.model_validate(product(variants=[]))
    assert errors(exc) == [
        ("variants", "Tuple should have at least 1 item after validation, not 0")
    ]
    with pytest.raises(ValidationError) as exc:
        Product.model_validate(product(variants=[variant("a"), variant("a")]))
    assert errors(exc) == [("", "Value error, duplicate variant id 'a'")]
    with pytest.raises(ValidationError) as exc:
        Product.model_validate(
            product(
                variants=[
                    variant("a"),
                    variant("b", price={"amount_minor": 5, "currency": "EUR"}),
                ]
            )
        )
    assert errors(exc) == [("", "Value error, variants mix currencies: EUR, USD")]


@pytest.mark.parametrize(
    "ref",
    ["images/tee.svg", "tee.svg", "a/b/c.png", "https://cdn.example/x.jpg", "http://h/x.png"],
)
def test_image_refs_accepted(ref: str) -> None:
    assert Product.model_validate(product(images=[ref])).images == (ref,)


@pytest.mark.parametrize(
    "ref",
    [
        "/etc/passwd",
        "../secret.svg",
        "images/../../secret.svg",
        "images\\tee.svg",
        "//evil.example/x.svg",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:image/svg+xml,<svg/>",
        "C:/images/tee.svg",
    ],
)
def test_image_refs_refused(ref: str) -> None:
    with pytest.raises(ValidationError):
        Product.model_validate(product(images=[ref]))


@pytest.mark.parametrize("link", ["ftp://shop.example/x", "javascript:alert(1)", "shop.example/x"])
def test_links_must_be_http(link: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Product.model_validate(product(link=link))
    assert errors(exc) == [("link", f"Value error, not an http(s) URL: {link!r}")]


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        Product.model_validate(product(colour="red"))
    assert errors(exc) == [("colour", "Extra inputs are not permitted")]


def test_catalog_ids_unique_and_currency_enforced() -> None:
    with pytest.raises(ValidationError) as exc:
        Catalog.model_validate({"products": [product("a"), product("a")]})
    assert errors(exc) == [("", "Value error, duplicate product id 'a'")]
    with pytest.raises(ValidationError) as exc:
        Catalog.model_validate({"products": [product("a")], "currency": "EUR"})
    assert errors(exc) == [("", "Value error, product 'a' is priced in USD, not the catalog's EUR")]


def test_catalog_lookup_and_counts() -> None:
    catalog = Catalog.model_validate(
        {
            "products": [
                product("b", variants=[variant("b1"), variant("b2", price=usd(500))]),
                product("a"),
            ],
            "currency": "USD",
        }
    )
    assert catalog.product_ids == ("b", "a")
    assert catalog.variant_count == 3
    found = catalog.get("b")
    assert found is not None and found.variant("b2") is not None
    assert found.price_range == (Money.parse("5", "USD"), Money.parse("10", "USD"))
    assert found.currency == "USD"
    assert catalog.get("zzz") is None
    again = Catalog.model_validate_json(catalog.model_dump_json())
    assert again == catalog
    assert again.get("a") == catalog.get("a")
