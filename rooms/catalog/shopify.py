"""Shopify's ``/products.json`` export (storefront or Admin API shape) to coshop products.

The export carries no currency: every price is in the ``currency`` the caller names.

Ratings come from Shopify's standard product review metafields, which review apps fill and the
Admin API returns with a product when asked (``metafields``: a list of ``namespace``, ``key``,
``type``, ``value``): ``reviews.rating`` (type ``rating``, whose value is the JSON
``{"value": "4.5", "scale_min": "1.0", "scale_max": "5.0"}``, brought to the 1-5 scale) and
``reviews.rating_count`` (an integer). Other metafields are ignored.
"""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import urlsplit

from pydantic import ValidationError

from rooms.catalog.builder import CatalogBuilder
from rooms.catalog.errors import CatalogError, InvalidMoney
from rooms.catalog.jsontext import parse_json
from rooms.catalog.models import Availability, Catalog, Product, Variant
from rooms.catalog.money import Money, currency_exponent
from rooms.catalog.result import CatalogFormat, ImportResult, RowError

# Shopify's placeholder for a product without options: not a real option.
_DEFAULT_OPTION: Final = ("title", "Default Title")


def import_shopify(
    text: str, *, currency: str = "USD", base_url: str | None = None, shop: str | None = None
) -> ImportResult:
    """Import ``{"products": [...]}`` (or ``{"product": {...}}``); rows are products (1-based).

    ``base_url`` ("https://shop.example") turns each ``handle`` into the product link, and
    ``shop`` ("shop.example", default: the host of ``base_url``) is the catalog's
    ``shopify_shop``: where its carts are checked out (cart permalinks, rooms.checkout).
    Raises CatalogError for an unknown currency or text that is not a Shopify export.
    """
    code = currency.strip().upper()
    try:
        currency_exponent(code)
    except InvalidMoney as exc:
        raise CatalogError(f"currency: {exc}") from None
    doc = parse_json(text)
    if isinstance(doc, dict) and isinstance(doc.get("products"), list):
        items: list[Any] = doc["products"]
    elif isinstance(doc, dict) and isinstance(doc.get("product"), dict):
        items = [doc["product"]]
    else:
        raise CatalogError('not a Shopify export: expected {"products": [...]}')

    if shop is None and base_url:
        shop = urlsplit(base_url).hostname
    try:
        shop = Catalog(shopify_shop=shop).shopify_shop
    except ValidationError as exc:
        raise CatalogError(f"shop: {exc.errors()[0]['msg']}") from None
    builder = CatalogBuilder(CatalogFormat.SHOPIFY, currency=code, shopify_shop=shop)
    for row, item in enumerate(items, start=1):
        try:
            product = _product(builder, row, item, code, base_url)
        except RowError as exc:
            builder.problem(row, exc.field, exc.message)
            continue
        if product is not None:
            builder.add(row, product)
    return builder.result()


def _product(
    builder: CatalogBuilder, row: int, item: Any, currency: str, base_url: str | None
) -> Product | None:
    if not isinstance(item, dict):
        raise RowError("", "not a JSON object")
    product_id = _id(item.get("id"))
    raw_variants = item.get("variants")
    if not isinstance(raw_variants, list) or not raw_variants:
        raise RowError("variants", "no variants")
    option_names = [
        str(option.get("name", "")).strip().lower()
        for option in item.get("options") or []
        if isinstance(option, dict)
    ]
    variants: list[Variant] = []
    for index, raw in enumerate(raw_variants):
        try:
            variants.append(_variant(raw, option_names, currency))
        except RowError as exc:
            field = f"variants[{index}].{exc.field}" if exc.field else f"variants[{index}]"
            builder.problem(row, field, exc.message)
        except ValidationError as exc:
            builder.invalid(exc, row, ("variants", index))
    if not variants:
        raise RowError("variants", "no valid variants; product skipped")

    handle = item.get("handle")
    fields: dict[str, Any] = {
        "id": product_id,
        "title": item.get("title"),
        "description": html_to_text(item.get("body_html") or ""),
        "brand": item.get("vendor") or None,
        "link": f"{base_url.rstrip('/')}/products/{handle}" if base_url and handle else None,
        "images": [
            image["src"]
            for image in item.get("images") or []
            if isinstance(image, dict) and image.get("src")
        ],
        "tags": _tags(item.get("tags")),
        "variants": variants,
        "rating": _rating(item.get("metafields")),
    }
    try:
        return Product.model_validate(fields)
    except ValidationError as exc:
        builder.invalid(exc, row)
        return None


def _rating(metafields: Any) -> dict[str, Any] | None:
    """The product's rating from its ``reviews.rating`` / ``reviews.rating_count`` metafields."""
    if not isinstance(metafields, list):
        return None
    found: dict[str, Any] = {}
    for field in metafields:
        if isinstance(field, dict) and field.get("namespace") == "reviews":
            found[str(field.get("key"))] = field.get("value")
    raw = found.get("rating")
    if raw is None:
        return None
    try:
        rating = parse_json(raw) if isinstance(raw, str) else raw
        value = Decimal(str(rating["value"]))
        low = Decimal(str(rating.get("scale_min", "1")))
        high = Decimal(str(rating.get("scale_max", "5")))
    except (CatalogError, ArithmeticError, KeyError, TypeError) as exc:
        raise RowError("metafields.reviews.rating", f"not a rating metafield: {exc}") from None
    finite = all(d.is_finite() for d in (value, low, high))
    if not finite or not low <= value <= high or low >= high:
        raise RowError("metafields.reviews.rating", f"rating {value} outside {low}..{high}")
    # The same place on the 1-5 scale (Shopify lets review apps pick their own scale).
    stars = 1 + (value - low) * 4 / (high - low)
    count = found.get("rating_count", 0)
    if isinstance(count, str) and count.strip().isdecimal():
        count = int(count)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise RowError("metafields.reviews.rating_count", f"not a review count: {count!r}")
    return {"value": float(round(stars, 2)), "count": count}


def _id(value: Any) -> str:
    if value is None or value == "":
        raise RowError("id", "missing id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RowError("id", f"not an id: {value!r}")
    return str(value)


def _price(raw: dict[str, Any], field: str, currency: str) -> Money | None:
    value = raw.get(field)
    if value is None or value == "":
        return None
    # A JSON number with decimals arrives as a Decimal (parse_json never makes floats).
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise RowError(field, f"not a price: {value!r}")
    try:
        return Money.parse(value, currency)
    except InvalidMoney as exc:
        raise RowError(field, str(exc)) from None


def _variant(raw: Any, option_names: list[str], currency: str) -> Variant:
    if not isinstance(raw, dict):
        raise RowError("", "not a JSON object")
    variant_id = _id(raw.get("id"))
    price = _price(raw, "price", currency)
    if price is None:
        raise RowError("price", "missing price")
    options: dict[str, str] = {}
    for number, name in enumerate(option_names[:3], start=1):
        value = raw.get(f"option{number}")
        if not name or value is None or (name, value) == _DEFAULT_OPTION:
            continue
        options[name] = str(value)
    title = raw.get("title")
    return Variant.model_validate(
        {
            "id": variant_id,
            "title": "" if title == _DEFAULT_OPTION[1] else title or "",
            "options": options,
            "price": price,
            "compare_at_price": _price(raw, "compare_at_price", currency),
            "availability": _availability(raw),
            "inventory": raw.get("inventory_quantity"),
            "sku": raw.get("sku") or None,
        }
    )


def _availability(raw: dict[str, Any]) -> Availability:
    # Storefront exports say "available"; Admin API exports give the stock and the policy
    # ("continue" = keep selling when out of stock, which is a backorder). A shop that does
    # not track stock reports available=true whatever inventory_quantity says.
    available = raw.get("available")
    inventory = raw.get("inventory_quantity")
    backorders = raw.get("inventory_policy") == "continue"
    if inventory is not None and (isinstance(inventory, bool) or not isinstance(inventory, int)):
        raise RowError("inventory_quantity", f"not an integer: {inventory!r}")
    if available is not None and not isinstance(available, bool):
        raise RowError("available", f"unknown availability {available!r}")
    if available is False:
        return Availability.OUT_OF_STOCK
    if inventory is not None and inventory <= 0:
        if backorders:
            return Availability.BACKORDER
        return Availability.IN_STOCK if available else Availability.OUT_OF_STOCK
    return Availability.IN_STOCK


def _tags(value: Any) -> list[str]:
    # Storefront exports give a list, the Admin API a comma-separated string.
    if isinstance(value, str):
        return [tag.strip() for tag in value.split(",") if tag.strip()]
    if isinstance(value, list):
        return [str(tag).strip() for tag in value if str(tag).strip()]
    return []


class _TextExtractor(HTMLParser):
    _BLOCKS: Final = frozenset(
        {"br", "p", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
    )
    _HIDDEN: Final = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of Shopify's ``body_html``: tags dropped, entities decoded, one line per block.

    Descriptions are shown to every member of a room, so no markup survives the import.
    """
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).split("\n"))
    return "\n".join(line for line in lines if line)
