"""load_catalog: reading files, telling formats apart, unreadable files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rooms.catalog import CatalogError, CatalogFormat, detect_format, load_catalog
from rooms.catalog import loader as loader_module

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "fmt", "products"),
    [
        ("coshop.json", CatalogFormat.COSHOP, 3),
        ("shopify_products.json", CatalogFormat.SHOPIFY, 3),
        ("gmc_feed.tsv", CatalogFormat.GMC_TSV, 5),
        ("gmc_feed.xml", CatalogFormat.GMC_XML, 2),
    ],
)
def test_format_is_detected_from_the_file(name: str, fmt: CatalogFormat, products: int) -> None:
    result = load_catalog(DATA / name)
    assert result.format is fmt
    assert len(result.catalog.products) == products


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("coshop.json", CatalogFormat.COSHOP),
        ("shopify_products.json", CatalogFormat.SHOPIFY),
        ("gmc_feed.tsv", CatalogFormat.GMC_TSV),
        ("gmc_feed.xml", CatalogFormat.GMC_XML),
    ],
)
def test_format_is_detected_from_content_without_a_telling_extension(
    tmp_path: Path, name: str, fmt: CatalogFormat
) -> None:
    copy = tmp_path / "feed.dat"
    shutil.copy(DATA / name, copy)
    assert detect_format(copy.name, copy.read_bytes()) is fmt
    assert load_catalog(copy).format is fmt


def test_extension_wins_and_explicit_format_wins_over_both(tmp_path: Path) -> None:
    assert detect_format("x.TSV", b"{}") is CatalogFormat.GMC_TSV
    assert detect_format("x.rss", b"") is CatalogFormat.GMC_XML
    assert detect_format("x.json", b'{"product": {}}') is CatalogFormat.SHOPIFY
    copy = tmp_path / "feed.txt"
    shutil.copy(DATA / "coshop.json", copy)
    assert load_catalog(copy, format="coshop").format is CatalogFormat.COSHOP
    assert load_catalog(copy, format=CatalogFormat.COSHOP).catalog.product_ids == (
        "p1",
        "p3",
        "p9",
    )


def test_currency_argument_reaches_the_importer(tmp_path: Path) -> None:
    feed = tmp_path / "feed.tsv"
    feed.write_text("id\ttitle\tprice\tavailability\nA\tA\t1500\tin stock\n")
    product = load_catalog(feed, currency="JPY").catalog.get("A")
    assert product is not None and product.variants[0].price.currency == "JPY"
    assert product.variants[0].price.amount_minor == 1500


def test_bom_is_ignored(tmp_path: Path) -> None:
    feed = tmp_path / "feed.tsv"
    feed.write_bytes(b"\xef\xbb\xbfid\ttitle\tprice\tavailability\nA\tA\t1.00\tin stock\n")
    assert load_catalog(feed).catalog.product_ids == ("A",)


def test_unreadable_files_raise_with_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(CatalogError) as info:
        load_catalog(missing)
    assert str(info.value) == f"{missing}: cannot read: No such file or directory"

    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    with pytest.raises(CatalogError) as info:
        load_catalog(empty)
    assert str(info.value) == f"{empty}: file is empty"

    latin = tmp_path / "latin.tsv"
    latin.write_bytes(b"id\ttitle\tprice\nA\tCaf\xe9\t1\n")
    with pytest.raises(CatalogError) as info:
        load_catalog(latin)
    assert str(info.value) == f"{latin}: not UTF-8 text (byte 20)"

    garbage = tmp_path / "garbage"
    garbage.write_text("hello world\n")
    with pytest.raises(CatalogError) as info:
        load_catalog(garbage)
    assert str(info.value) == f"{garbage}: cannot tell the catalog format; name it explicitly"

    with pytest.raises(CatalogError) as info:
        load_catalog(DATA / "coshop.json", format="csv")
    assert str(info.value) == "unknown format 'csv' (one of coshop, shopify, gmc_tsv, gmc_xml)"

    with pytest.raises(CatalogError) as info:
        load_catalog(DATA / "gmc_feed.tsv", currency="ABC")
    assert str(info.value) == f"{DATA / 'gmc_feed.tsv'}: currency: unknown currency 'ABC'"


def test_oversized_file_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader_module, "MAX_CATALOG_BYTES", 10)
    big = tmp_path / "big.json"
    big.write_text('{"products": []}')
    with pytest.raises(CatalogError) as info:
        load_catalog(big)
    assert str(info.value) == f"{big}: larger than 10 bytes"
