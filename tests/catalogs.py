"""Small catalogs for shopping tests (the bundled sample is in rooms.catalog.sample_catalog)."""

from __future__ import annotations

from rooms.catalog import Catalog, Money, Product, Variant


def make_catalog(spec: dict[str, list[str]], *, currency: str = "USD") -> Catalog:
    """Products in ``spec`` order, each with the listed variant ids (at least one)."""
    products = []
    for i, (product_id, variant_ids) in enumerate(spec.items(), start=1):
        variants = tuple(
            Variant(id=vid, title=vid, price=Money(amount_minor=100 * i, currency=currency))
            for vid in variant_ids
        )
        products.append(
            Product(id=product_id, title=product_id.title(), images=("a.svg",), variants=variants)
        )
    return Catalog(products=tuple(products), currency=currency)


#: tee (S, M), cap, boots (40, 41), tote.
SHOP = make_catalog(
    {"tee": ["tee-s", "tee-m"], "cap": ["cap-one"], "boots": ["boots-40", "boots-41"],
     "tote": ["tote-one"]}
)
