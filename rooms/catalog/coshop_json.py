"""The coshop catalog format: the JSON of ``Catalog`` ({"currency": ..., "products": [...]})."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from rooms.catalog.builder import CatalogBuilder
from rooms.catalog.errors import CatalogError, InvalidMoney
from rooms.catalog.jsontext import parse_json
from rooms.catalog.models import Catalog, Product, Variant
from rooms.catalog.money import currency_exponent
from rooms.catalog.result import CatalogFormat, ImportResult

_TOP_LEVEL = frozenset({"id", "products", "currency", "shopify_shop", "checkout_url_template"})


def import_coshop_json(text: str) -> ImportResult:
    """Import a coshop JSON catalog. Rows are the items of ``products`` (1-based).

    A bad variant is skipped on its own; a product left without variants is skipped.
    Raises CatalogError when the text is not a coshop catalog at all.
    """
    doc = parse_json(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("products"), list):
        raise CatalogError('not a coshop catalog: expected {"products": [...]}')
    unknown = sorted(set(doc) - _TOP_LEVEL)
    if unknown:
        raise CatalogError(f"not a coshop catalog: unexpected key(s) {', '.join(unknown)}")
    currency = doc.get("currency")
    if currency is not None:
        if not isinstance(currency, str):
            raise CatalogError(f"catalog currency: not a currency code: {currency!r}")
        try:
            currency_exponent(currency)
        except InvalidMoney as exc:
            raise CatalogError(f"catalog currency: {exc}") from None

    try:
        checkout = Catalog.model_validate(
            {k: doc[k] for k in ("id", "shopify_shop", "checkout_url_template") if k in doc}
        )
    except ValidationError as exc:
        raise CatalogError(f"catalog checkout: {_first_error(exc)}") from None
    builder = CatalogBuilder(
        CatalogFormat.COSHOP,
        catalog_id=checkout.id,
        currency=currency,
        shopify_shop=checkout.shopify_shop,
        checkout_url_template=checkout.checkout_url_template,
    )
    for row, item in enumerate(doc["products"], start=1):
        product = _product(builder, row, item)
        if product is not None:
            builder.add(row, product)
    return builder.result()


def _product(builder: CatalogBuilder, row: int, item: Any) -> Product | None:
    if not isinstance(item, dict):
        builder.problem(row, "", "not a JSON object")
        return None
    raw_variants = item.get("variants")
    fields = dict(item)
    if isinstance(raw_variants, list) and raw_variants:
        variants: list[Variant] = []
        for index, raw in enumerate(raw_variants):
            try:
                variants.append(Variant.model_validate(raw))
            except ValidationError as exc:
                builder.invalid(exc, row, ("variants", index))
        if not variants:
            builder.problem(row, "variants", "no valid variants; product skipped")
            return None
        fields["variants"] = variants
    try:
        return Product.model_validate(fields)
    except ValidationError as exc:
        builder.invalid(exc, row)
        return None


def dump_coshop_json(catalog: Catalog) -> str:
    """The coshop JSON of a catalog (what ``import_coshop_json`` reads back unchanged)."""
    return catalog.model_dump_json(indent=2, exclude_none=True) + "\n"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
