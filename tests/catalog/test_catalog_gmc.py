"""Google Merchant Center feeds (TSV and RSS XML): grouping, prices, per-row problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from rooms.catalog import (
    Availability,
    CatalogError,
    CatalogFormat,
    Money,
    Problem,
    import_gmc_tsv,
    import_gmc_xml,
)

DATA = Path(__file__).parent / "data"
HEADER = "id\ttitle\tprice\tavailability"


def test_tsv_problems_are_exact() -> None:
    result = import_gmc_tsv((DATA / "gmc_feed.tsv").read_text())
    assert result.format is CatalogFormat.GMC_TSV
    # Rows are file lines: the header is line 1, line 10 is blank.
    assert [(p.row, p.field, p.message) for p in result.problems] == [
        (6, "price", "not a decimal amount: 'twelve'"),
        (7, "id", "missing id"),
        (8, "availability", "unknown availability 'maybe'"),
        (9, "price", "unknown currency 'XYZ'"),
        (12, "id", "duplicate id 'TEE-RED-S', first at line 2"),
        (13, "price", "too many decimals for USD (2): '12.345'; refusing to round"),
        (14, "", "13 fields but the header has 12 columns"),
        (15, "price", "currency EUR differs from USD of item group 'TEE'"),
    ]


def test_tsv_products_are_exact() -> None:
    catalog = import_gmc_tsv((DATA / "gmc_feed.tsv").read_text()).catalog
    assert catalog.currency is None
    assert catalog.product_ids == ("TEE", "MUG-1", "SOCKS-JP", "CAP-1", "PIN-1")
    assert catalog.variant_count == 7

    tee = catalog.get("TEE")
    assert tee is not None
    assert tee.title == "Harbor Tee"  # " - Red - S" are the first row's variant attributes.
    assert tee.description == "Soft cotton tee"
    assert tee.brand == "Northwind Threads"
    assert tee.link == "https://shop.example/tee"
    assert tee.images == ("https://cdn.example/tee-red.jpg", "https://cdn.example/tee-navy.jpg")
    assert [
        (
            v.id,
            v.title,
            v.options,
            v.price.amount_minor,
            v.compare_at_price.amount_minor if v.compare_at_price else None,
            v.availability,
        )
        for v in tee.variants
    ] == [
        ("TEE-RED-S", "Red / S", {"color": "Red", "size": "S"}, 2400, None, Availability.IN_STOCK),
        (
            "TEE-RED-M",
            "Red / M",
            {"color": "Red", "size": "M"},
            2400,
            None,
            Availability.OUT_OF_STOCK,
        ),
        # sale_price is the price; the regular price becomes compare_at_price.
        (
            "TEE-NAVY-M",
            "Navy / M",
            {"color": "Navy", "size": "M"},
            1950,
            2400,
            Availability.PREORDER,
        ),
    ]

    mug = catalog.get("MUG-1")
    assert mug is not None
    (v,) = mug.variants
    assert (mug.title, v.id, v.title, v.options) == ("Camp Mug", "MUG-1", "Camp Mug", {})
    assert (v.price, v.availability) == (Money.parse("8", "USD"), Availability.BACKORDER)

    socks = catalog.get("SOCKS-JP")
    assert socks is not None
    assert socks.variants[0].price == Money(amount_minor=1500, currency="JPY")
    assert socks.variants[0].options == {"color": "Grey"}

    cap = catalog.get("CAP-1")  # A short row: the missing trailing columns are empty.
    assert cap is not None
    assert (cap.brand, cap.variants[0].price.amount_minor) == (None, 1500)

    pin = catalog.get("PIN-1")  # No currency in the price: the currency argument; "in_stock".
    assert pin is not None
    assert pin.variants[0].price == Money(amount_minor=999, currency="USD")
    assert pin.variants[0].availability is Availability.IN_STOCK


def test_tsv_default_currency_argument() -> None:
    text = f"{HEADER}\nA\tA\t9.99\tin stock\n"
    product = import_gmc_tsv(text, currency="EUR").catalog.get("A")
    assert product is not None and product.variants[0].price == Money.parse("9.99", "EUR")
    with pytest.raises(CatalogError) as info:
        import_gmc_tsv(text, currency="EURO")
    assert str(info.value) == "currency: unknown currency 'EURO'"


def test_tsv_header_is_case_insensitive_and_tolerates_crlf_and_prefixes() -> None:
    text = "ID\tg:Title\tPrice\tAvailability\r\nA\tA\t1.00 USD\tIn Stock\r\n"
    result = import_gmc_tsv(text)
    assert result.problems == ()
    assert result.catalog.product_ids == ("A",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id\ttitle\n", "not a Merchant Center TSV feed: header lacks column(s) price"),
        (
            "sku,name,cost\n",
            "not a Merchant Center TSV feed: header lacks column(s) id, title, price",
        ),
        ("id\ttitle\tprice\tid\n", "TSV header repeats column(s) id"),
    ],
)
def test_tsv_without_required_columns_is_unreadable(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as info:
        import_gmc_tsv(text)
    assert str(info.value) == message


def test_tsv_missing_values() -> None:
    text = (
        f"{HEADER}\nA\tA\t\tin stock\nB\tB\t1.00\t\nC\t\t1.00\tin stock\nD\tD\tUSD 2.50\tin stock\n"
    )
    result = import_gmc_tsv(text)
    assert result.problems == (
        Problem(row=2, field="price", message="missing price"),
        Problem(row=3, field="availability", message="missing availability"),
        Problem(row=4, field="title", message="String should have at least 1 character"),
    )
    # "USD 2.50": the currency may also come first.
    product = result.catalog.get("D")
    assert product is not None and product.variants[0].price.amount_minor == 250


def test_tsv_group_and_standalone_id_collision() -> None:
    text = (
        "id\ttitle\tprice\tavailability\titem_group_id\timage_link\tsale_price\n"
        "X\tX\t1.00\tin stock\t\t\t\n"
        "X-1\tX one\t1.00\tin stock\tX\t\t\n"
        "G-1\tG one\t1.00\tin stock\tG\t\t\n"
        "G\tG\t1.00\tin stock\t\t\t\n"
        "H-1\tH\t1.00\tin stock\tH\tftp://x/y.png\t\n"
        "S-1\tS\t1.00 USD\tin stock\t\t\t0.50 EUR\n"
    )
    result = import_gmc_tsv(text)
    assert result.problems == (
        Problem(row=3, field="item_group_id", message="product id 'X' already used at line 2"),
        Problem(row=5, field="id", message="product id 'G' already used at line 4"),
        Problem(row=6, field="image_link", message="not an http(s) URL: 'ftp://x/y.png'"),
        Problem(row=7, field="sale_price", message="currency EUR differs from price's USD"),
    )
    assert result.catalog.product_ids == ("X", "G")


def test_xml_problems_are_exact() -> None:
    result = import_gmc_xml((DATA / "gmc_feed.xml").read_bytes())
    assert result.format is CatalogFormat.GMC_XML
    # Rows are 1-based <item> numbers.
    assert [(p.row, p.field, p.message) for p in result.problems] == [
        (3, "id", "missing id"),
        (4, "price", "not a decimal amount: '12,50'"),
        (5, "availability", "unknown availability 'sold out'"),
        (6, "price", "unknown currency 'ABC'"),
        (8, "link", "not an http(s) URL: 'javascript:alert(1)'"),
    ]


def test_xml_products_are_exact() -> None:
    catalog = import_gmc_xml((DATA / "gmc_feed.xml").read_bytes()).catalog
    assert catalog.product_ids == ("TEE", "KW-1")
    tee = catalog.get("TEE")
    assert tee is not None
    assert tee.title == "Harbor Tee"
    assert tee.description == "Soft cotton tee & more"
    assert tee.link == "https://shop.example/tee"
    # image_link first, whatever the element order; other namespaces are ignored.
    assert tee.images == ("https://cdn.example/tee-red.jpg", "https://cdn.example/tee-back.jpg")
    s, m = tee.variants
    assert (s.id, s.options, s.price.amount_minor, s.availability) == (
        "TEE-RED-S",
        {"color": "Red", "size": "S"},
        2400,
        Availability.IN_STOCK,
    )
    assert (m.id, m.price.amount_minor, m.availability) == (
        "TEE-RED-M",
        2000,
        Availability.OUT_OF_STOCK,
    )
    assert m.compare_at_price == Money(amount_minor=2400, currency="USD")
    scarf = catalog.get("KW-1")
    assert scarf is not None
    assert scarf.title == "Café Scarf & Gloves"
    assert scarf.variants[0].price == Money(amount_minor=1250, currency="KWD")
    assert scarf.variants[0].availability is Availability.BACKORDER


def test_xml_str_and_other_encodings() -> None:
    feed = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        '<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item>'
        "<g:id>A</g:id><g:title>Caf\xe9</g:title><g:price>1 EUR</g:price>"
        "<g:availability>in stock</g:availability></item></channel></rss>"
    )
    product = import_gmc_xml(feed.encode("latin-1")).catalog.get("A")
    assert product is not None and product.title == "Café"
    text_feed = feed.replace("ISO-8859-1", "UTF-8")
    assert import_gmc_xml(text_feed).catalog.product_ids == ("A",)


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        ("<feed/>", "not an RSS 2.0 feed: root element is <feed>"),
        ("<rss/>", "not an RSS 2.0 feed: no <channel>"),
        ("<rss><channel>", "not well-formed XML: no element found at line 1, column 15"),
    ],
)
def test_xml_that_is_not_a_feed_is_unreadable(feed: str, message: str) -> None:
    with pytest.raises(CatalogError) as info:
        import_gmc_xml(feed)
    assert str(info.value) == message


def test_empty_channel_is_an_empty_catalog() -> None:
    result = import_gmc_xml("<rss><channel><title>x</title></channel></rss>")
    assert (result.catalog.products, result.problems) == ((), ())
