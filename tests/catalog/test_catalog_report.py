"""run_import: the report printed by `coshop catalog import` and its exit codes."""

from __future__ import annotations

import io
from pathlib import Path

from rooms.catalog import SAMPLE_CATALOG_FILE, import_coshop_json, load_catalog
from rooms.catalog.report import EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE, run_import

DATA = Path(__file__).parent / "data"


def test_report_of_a_feed_with_problems() -> None:
    out = io.StringIO()
    path = DATA / "gmc_feed.tsv"
    assert run_import(path, None, "USD", out) == EXIT_PROBLEMS
    assert out.getvalue().splitlines() == [
        f"{path}: gmc_tsv",
        "  line 6: price: not a decimal amount: 'twelve'",
        "  line 7: id: missing id",
        "  line 8: availability: unknown availability 'maybe'",
        "  line 9: price: unknown currency 'XYZ'",
        "  line 12: id: duplicate id 'TEE-RED-S', first at line 2",
        "  line 13: price: too many decimals for USD (2): '12.345'; refusing to round",
        "  line 14: 13 fields but the header has 12 columns",
        "  line 15: price: currency EUR differs from USD of item group 'TEE'",
        "5 products, 7 variants, 8 problems",
    ]


def test_report_of_items_says_item() -> None:
    out = io.StringIO()
    assert run_import(DATA / "gmc_feed.xml", "gmc_xml", "USD", out) == EXIT_PROBLEMS
    lines = out.getvalue().splitlines()
    assert lines[1] == "  item 3: id: missing id"
    assert lines[-1] == "2 products, 3 variants, 5 problems"


def test_clean_file_exits_zero_and_singular_counts(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_import(SAMPLE_CATALOG_FILE, None, "USD", out) == EXIT_OK
    assert out.getvalue().splitlines() == [
        f"{SAMPLE_CATALOG_FILE}: coshop",
        "8 products, 23 variants, 0 problems",
    ]
    feed = tmp_path / "one.tsv"
    feed.write_text("id\ttitle\tprice\tavailability\nA\tA\t1\tin stock\n")
    out = io.StringIO()
    assert run_import(feed, None, "USD", out) == EXIT_OK
    assert out.getvalue().splitlines()[-1] == "1 product, 1 variant, 0 problems"


def test_unreadable_exits_two_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    output = tmp_path / "out.json"
    out = io.StringIO()
    assert run_import(bad, None, "USD", out, output=output) == EXIT_UNREADABLE
    assert out.getvalue() == (
        f"error: {bad}: not valid JSON: Expecting property name enclosed in double quotes "
        "at line 1, column 2\n"
    )
    assert not output.exists()


def test_output_is_normalised_coshop_json_of_the_good_rows(tmp_path: Path) -> None:
    output = tmp_path / "normalised.json"
    output.write_text("old content")
    out = io.StringIO()
    source = DATA / "shopify_products.json"
    assert run_import(source, None, "EUR", out, output=output) == EXIT_PROBLEMS
    assert out.getvalue().splitlines()[-1] == f"wrote {output}"
    written = import_coshop_json(output.read_text())
    assert written.problems == ()
    assert written.catalog == load_catalog(source, currency="EUR").catalog
    assert written.catalog.currency == "EUR"
    assert [p.name for p in tmp_path.iterdir()] == ["normalised.json"]  # No temporary left.


def test_unwritable_output_exits_two(tmp_path: Path) -> None:
    out = io.StringIO()
    output = tmp_path / "no-such-dir" / "out.json"
    assert run_import(SAMPLE_CATALOG_FILE, None, "USD", out, output=output) == EXIT_UNREADABLE
    assert out.getvalue().splitlines()[-1] == (
        f"error: cannot write {output}: No such file or directory"
    )
