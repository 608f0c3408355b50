"""The bundled sample catalog the demo shows."""

from __future__ import annotations

import hashlib
from collections import Counter

from rooms.catalog import SAMPLE_DIR, Availability, sample_catalog
from rooms.catalog.safexml import parse_xml

SVG = "{http://www.w3.org/2000/svg}svg"


def test_sample_catalog_shape() -> None:
    catalog = sample_catalog()
    assert catalog.currency == "USD"
    assert len(catalog.products) == 8
    assert catalog.variant_count == 23
    tags = Counter(tag for p in catalog.products for tag in p.tags)
    assert tags["apparel"] == 3 and tags["shoes"] == 2 and tags["accessories"] == 3
    availabilities = {v.availability for p in catalog.products for v in p.variants}
    assert availabilities == set(Availability)
    assert all(p.brand and p.description and p.images for p in catalog.products)
    sized = [p for p in catalog.products if any("size" in v.options for v in p.variants)]
    coloured = [p for p in catalog.products if any("color" in v.options for v in p.variants)]
    assert len(sized) >= 5 and len(coloured) >= 6
    assert any(v.compare_at_price for p in catalog.products for v in p.variants)


def test_sample_catalog_is_cached_and_immutable() -> None:
    assert sample_catalog() is sample_catalog()


def test_every_image_is_a_distinct_bundled_svg() -> None:
    refs = [ref for p in sample_catalog().products for ref in p.images]
    assert len(refs) == len(set(refs)) == 11
    digests = set()
    for ref in refs:
        assert ref.startswith("images/") and ref.endswith(".svg")
        data = (SAMPLE_DIR / ref).read_bytes()
        root = parse_xml(data)  # Well-formed, no DOCTYPE.
        assert root.tag == SVG
        assert root.get("viewBox") == "0 0 240 240"
        assert len(data) < 4096
        digests.add(hashlib.sha256(data).hexdigest())
    assert len(digests) == len(refs)
    # Nothing unreferenced is shipped.
    assert sorted(p.name for p in (SAMPLE_DIR / "images").iterdir()) == sorted(
        ref.removeprefix("images/") for ref in refs
    )
