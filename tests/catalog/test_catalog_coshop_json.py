"""The coshop JSON format: the models' JSON, imported row by row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rooms.catalog import (
    Availability,
    CatalogError,
    CatalogFormat,
    Money,
    Problem,
    dump_coshop_json,
    import_coshop_json,
)

DATA = Path(__file__).parent / "data"


def test_sample_file_problems_are_exact() -> None:
    result = import_coshop_json((DATA / "coshop.json").read_text())
    assert result.format is CatalogFormat.COSHOP
    assert [(p.row, p.field, p.message) for p in result.problems] == [
        (2, "id", "Field required"),
        (3, "variants[1].price.amount_minor", "Input should be a valid integer"),
        (4, "variants[0].availability", "unknown availability 'maybe'"),
        (4, "variants", "no valid variants; product skipped"),
        (5, "variants[0].price.currency", "unknown currency 'XYZ'"),
        (5, "variants", "no valid variants; product skipped"),
        (6, "id", "duplicate product id 'p1', first at item 1"),
        (7, "variants", "priced in EUR, not the catalog's USD"),
        (
            8,
            "images[0]",
            "image must be an http(s) URL or a relative path below the catalog: '../../etc/passwd'",
        ),
        # 78.5 is read as an exact Decimal, never a float, and is not an integer.
        (9, "variants[1].price.amount_minor", "Input should be a valid integer"),
    ]
    assert not result.ok


def test_sample_file_products_are_exact() -> None:
    catalog = import_coshop_json((DATA / "coshop.json").read_text()).catalog
    assert catalog.currency == "USD"
    assert catalog.product_ids == ("p1", "p3", "p9")
    p1 = catalog.get("p1")
    assert p1 is not None
    assert p1.title == "Harbor Tee"
    assert p1.brand == "Northwind Threads"
    assert p1.link == "https://shop.example/harbor-tee"
    assert p1.images == ("images/tee-red.svg", "https://cdn.example/tee-navy.png")
    assert p1.tags == ("apparel",)
    s, m = p1.variants
    assert (s.id, s.options, s.sku, s.inventory) == ("p1-s", {"size": "S"}, "TEE-S", 12)
    assert s.price == Money(amount_minor=2400, currency="USD")
    assert s.compare_at_price == Money(amount_minor=3000, currency="USD")
    assert (m.id, m.availability, m.inventory) == ("p1-m", Availability.OUT_OF_STOCK, 0)
    # A bad variant is skipped alone: its product keeps the good ones.
    p3 = catalog.get("p3")
    assert p3 is not None
    assert [(v.id, v.price.amount_minor, v.availability) for v in p3.variants] == [
        ("p3-m", 8900, Availability.BACKORDER)
    ]
    p9 = catalog.get("p9")
    assert p9 is not None
    assert [(v.id, v.availability) for v in p9.variants] == [("p9-1", Availability.PREORDER)]


def test_normalised_json_reads_back_identically() -> None:
    catalog = import_coshop_json((DATA / "coshop.json").read_text()).catalog
    text = dump_coshop_json(catalog)
    again = import_coshop_json(text)
    assert again.problems == ()
    assert again.catalog == catalog
    assert json.loads(text)["products"][0]["variants"][0]["price"] == {
        "amount_minor": 2400,
        "currency": "USD",
    }


def test_catalog_without_currency_allows_several() -> None:
    def one(id: str, currency: str) -> dict[str, object]:
        price = {"amount_minor": 1, "currency": currency}
        return {"id": id, "title": id, "variants": [{"id": f"{id}1", "price": price}]}

    text = json.dumps({"products": [one("a", "EUR"), one("b", "JPY")]})
    result = import_coshop_json(text)
    assert result.problems == ()
    assert result.catalog.currency is None
    assert [p.currency for p in result.catalog.products] == ["EUR", "JPY"]


def test_non_object_rows_are_reported() -> None:
    result = import_coshop_json('{"products": [42, {"id": "a", "title": "A", "variants": []}]}')
    assert result.problems == (
        Problem(row=1, field="", message="not a JSON object"),
        Problem(
            row=2,
            field="variants",
            message="Tuple should have at least 1 item after validation, not 0",
        ),
    )
    assert result.catalog.products == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2",
        ),
        ("[]", 'not a coshop catalog: expected {"products": [...]}'),
        ('{"items": []}', 'not a coshop catalog: expected {"products": [...]}'),
        ('{"products": [], "version": 2}', "not a coshop catalog: unexpected key(s) version"),
        ('{"products": [], "currency": "XYZ"}', "catalog currency: unknown currency 'XYZ'"),
        ('{"products": [], "currency": 5}', "catalog currency: not a currency code: 5"),
        ('{"products": [NaN]}', "not valid JSON: NaN is not a number"),
    ],
)
def test_unreadable_documents_raise(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as info:
        import_coshop_json(text)
    assert str(info.value) == message


def test_checkout_fields_read_back_and_are_validated() -> None:
    doc = json.loads((DATA / "coshop.json").read_text())
    doc["checkout_url_template"] = "https://shop.example/buy?items={items}&code={discount}"
    catalog = import_coshop_json(json.dumps(doc)).catalog
    assert catalog.checkout_url_template == doc["checkout_url_template"]
    assert import_coshop_json(dump_coshop_json(catalog)).catalog == catalog
    doc["checkout_url_template"] = "https://shop.example/buy?items={item}"
    with pytest.raises(CatalogError, match=r"checkout_url_template: .*unknown placeholder"):
        import_coshop_json(json.dumps(doc))
    del doc["checkout_url_template"]
    doc["shopify_shop"] = "friends.myshopify.com"
    assert import_coshop_json(json.dumps(doc)).catalog.shopify_shop == "friends.myshopify.com"
