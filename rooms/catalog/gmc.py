"""Google Merchant Center product feeds, as TSV or as RSS 2.0 XML with the ``g:`` namespace.

Each feed row is one variant. Rows sharing an ``item_group_id`` become the variants of one
product whose id is that group id; the product's title, description, brand and link come from
the group's first good row (its title less the trailing variant attributes: "Harbor Tee - Red -
S" gives "Harbor Tee"), its images from all the group's rows. A row without a group is a product
of its own with one variant, both carrying the row's id.

Ratings come from the Merchant Center product rating attributes ``rating`` (the mean, 1-5) and
``review_count`` (also spelt ``reviewCount``, the CSS programme's name); an empty or 0 rating is
none, as Merchant Center reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError

from rooms.catalog.builder import CatalogBuilder
from rooms.catalog.errors import CatalogError, InvalidMoney
from rooms.catalog.models import Availability, Product, Variant
from rooms.catalog.money import Money, currency_exponent
from rooms.catalog.result import CatalogFormat, ImportResult, RowError, problems_from
from rooms.catalog.safexml import parse_xml

G_NAMESPACE: Final = "http://base.google.com/ns/1.0"
REQUIRED_COLUMNS: Final = ("id", "title", "price")
# TSV headers are lower-cased; XML element names keep their case.
_REVIEW_COUNT_ATTRIBUTES: Final = ("review_count", "reviewcount", "reviewCount")
# Feed attributes that distinguish the variants of an item group, in display order.
OPTION_ATTRIBUTES: Final = ("color", "size", "material", "pattern")
_IMAGE_ATTRIBUTES: Final = ("image_link", "additional_image_link")
_TITLE_SEPARATORS: Final = (" - ", " / ", ", ", " | ")

_AVAILABILITY: Final[dict[str, Availability]] = {
    "in stock": Availability.IN_STOCK,
    "out of stock": Availability.OUT_OF_STOCK,
    "preorder": Availability.PREORDER,
    "backorder": Availability.BACKORDER,
}


@dataclass
class _Row:
    number: int
    fields: dict[str, str]
    # (attribute, url) in feed order: image_link first.
    images: list[tuple[str, str]] = field(default_factory=list)


def import_gmc_tsv(text: str, *, currency: str = "USD") -> ImportResult:
    """Import a tab-separated feed whose first line names the columns; rows are file lines.

    ``currency`` prices an amount written without one. Raises CatalogError when the header
    lacks a required column (id, title, price).
    """
    code = _check_currency(currency)
    lines = text.split("\n")
    header = [_attribute(name) for name in lines[0].rstrip("\r").split("\t")]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise CatalogError(
            f"not a Merchant Center TSV feed: header lacks column(s) {', '.join(missing)}"
        )
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise CatalogError(f"TSV header repeats column(s) {', '.join(duplicated)}")

    builder = CatalogBuilder(CatalogFormat.GMC_TSV)
    rows: list[_Row] = []
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        values = line.split("\t")
        if len(values) > len(header):
            builder.problem(
                number, "", f"{len(values)} fields but the header has {len(header)} columns"
            )
            continue
        # Editors often drop trailing empty columns: missing ones are empty.
        fields = {name: value.strip() for name, value in zip(header, values, strict=False) if name}
        row = _Row(number, fields)
        if fields.get("image_link"):
            row.images.append(("image_link", fields["image_link"]))
        for url in fields.get("additional_image_link", "").split(","):
            if url.strip():
                row.images.append(("additional_image_link", url.strip()))
        rows.append(row)
    return _assemble(builder, rows, code)


def import_gmc_xml(data: bytes | str, *, currency: str = "USD") -> ImportResult:
    """Import an RSS 2.0 feed of ``<item>``s with ``g:`` attributes; rows are items (1-based).

    Plain RSS ``title``/``link``/``description`` stand in for missing ``g:`` ones. Raises
    CatalogError for XML that is malformed, declares a DOCTYPE, or is not RSS.
    """
    code = _check_currency(currency)
    root = parse_xml(data)
    if root.tag != "rss":
        raise CatalogError(f"not an RSS 2.0 feed: root element is <{root.tag}>")
    channel = root.find("channel")
    if channel is None:
        raise CatalogError("not an RSS 2.0 feed: no <channel>")

    rows: list[_Row] = []
    for number, item in enumerate(channel.iterfind("item"), start=1):
        row = _Row(number, {})
        plain: dict[str, str] = {}
        additional: list[tuple[str, str]] = []
        for child in item:
            if child.tag.startswith("{" + G_NAMESPACE + "}"):
                target = row.fields
                name = child.tag.partition("}")[2]
            elif "}" not in child.tag:
                target, name = plain, child.tag
            else:
                continue  # Another namespace's extension.
            value = "".join(child.itertext()).strip()
            if name in _IMAGE_ATTRIBUTES:
                if value:
                    (row.images if name == "image_link" else additional).append((name, value))
            else:
                target.setdefault(name, value)
        row.images.extend(additional)
        for name in ("title", "link", "description"):
            if not row.fields.get(name) and plain.get(name):
                row.fields[name] = plain[name]
        rows.append(row)
    return _assemble(CatalogBuilder(CatalogFormat.GMC_XML), rows, code)


@dataclass
class _Group:
    row: int
    product: Product
    grouped: bool
    variants: list[Variant]
    images: list[str]


def _assemble(builder: CatalogBuilder, rows: list[_Row], currency: str) -> ImportResult:
    unit = builder.format.row_unit
    groups: dict[str, _Group] = {}
    variant_rows: dict[str, int] = {}
    for row in rows:
        parsed = _row_product(builder, row, currency)
        if parsed is None:
            continue
        product, variant = parsed
        first = variant_rows.get(variant.id)
        if first is not None:
            message = f"duplicate id {variant.id!r}, first at {unit} {first}"
            builder.problem(row.number, "id", message)
            continue
        grouped = bool(row.fields.get("item_group_id"))
        group = groups.get(product.id)
        if group is None:
            groups[product.id] = _Group(
                row.number, product, grouped, [variant], list(product.images)
            )
        elif not (grouped and group.grouped):
            builder.problem(
                row.number,
                "item_group_id" if grouped else "id",
                f"product id {product.id!r} already used at {unit} {group.row}",
            )
            continue
        elif variant.price.currency != group.product.currency:
            builder.problem(
                row.number,
                "price",
                f"currency {variant.price.currency} differs from {group.product.currency} "
                f"of item group {product.id!r}",
            )
            continue
        else:
            group.variants.append(variant)
            group.images.extend(url for url in product.images if url not in group.images)
        variant_rows[variant.id] = row.number
    for group in groups.values():
        fields = group.product.model_dump(exclude={"variants", "images"})
        builder.add(
            group.row,
            Product.model_validate({**fields, "variants": group.variants, "images": group.images}),
        )
    return builder.result()


def _row_product(
    builder: CatalogBuilder, row: _Row, currency: str
) -> tuple[Product, Variant] | None:
    fields = row.fields
    try:
        variant_fields = _variant_fields(fields, currency)
    except RowError as exc:
        builder.problem(row.number, exc.field, exc.message)
        return None
    try:
        rating = _rating(fields)
    except RowError as exc:
        builder.problem(row.number, exc.field, exc.message)
        return None
    variant: Variant | None = None
    try:
        variant = Variant.model_validate(variant_fields)
    except ValidationError as exc:
        builder.invalid(exc, row.number)
    title = fields.get("title", "")
    if fields.get("item_group_id"):
        title = _group_title(title, variant_fields["options"].values())
    product_fields: dict[str, Any] = {
        "id": fields.get("item_group_id") or variant_fields["id"],
        "title": title,
        "description": fields.get("description", ""),
        "brand": fields.get("brand") or None,
        "link": fields.get("link") or None,
        "images": [url for _, url in row.images],
        "variants": [variant] if variant else [],
        "rating": rating,
    }
    # Name feed attributes rather than model fields: "image_link", not "images[0]".
    rename = {f"images[{i}]": name for i, (name, _) in enumerate(row.images)}
    if fields.get("item_group_id"):
        rename["id"] = "item_group_id"
    try:
        product = Product.model_validate(product_fields)
    except ValidationError as exc:
        problems = problems_from(exc, row.number, rename=rename)
        # A row whose variant failed has no variants either: that was already said.
        builder.extend(p for p in problems if variant or p.field != "variants")
        return None
    if variant is None:
        return None
    return product, variant


def _variant_fields(fields: dict[str, str], currency: str) -> dict[str, Any]:
    variant_id = fields.get("id", "")
    if not variant_id:
        raise RowError("id", "missing id")
    price = _price(fields, "price", currency)
    if price is None:
        raise RowError("price", "missing price")
    sale_price = _price(fields, "sale_price", currency)
    if sale_price is not None and sale_price.currency != price.currency:
        raise RowError(
            "sale_price", f"currency {sale_price.currency} differs from price's {price.currency}"
        )
    options = {name: fields[name] for name in OPTION_ATTRIBUTES if fields.get(name)}
    return {
        "id": variant_id,
        "title": " / ".join(options.values()) or fields.get("title", ""),
        "options": options,
        # A sale shows the regular price struck through, like Shopify's compare_at_price.
        "price": sale_price or price,
        "compare_at_price": price if sale_price is not None else None,
        "availability": _availability(fields.get("availability", "")),
    }


def _rating(fields: dict[str, str]) -> dict[str, Any] | None:
    text = fields.get("rating", "")
    count_name = next((n for n in _REVIEW_COUNT_ATTRIBUTES if fields.get(n)), None)
    count_text = fields.get(count_name, "") if count_name else ""
    try:
        value = float(text) if text else 0.0
    except ValueError:
        raise RowError("rating", f"not a rating: {text!r}") from None
    if not count_text.isdecimal() and count_text:
        raise RowError(count_name or "review_count", f"not a review count: {count_text!r}")
    if value == 0:
        return None
    if not 1 <= value <= 5:
        raise RowError("rating", f"a rating is 1 to 5, not {text}")
    return {"value": value, "count": int(count_text or 0)}


def _group_title(title: str, option_values: Iterable[str]) -> str:
    """The product title of an item group: Merchant Center titles usually end with the
    variant's attributes ("Harbor Tee - Red - S"), which are dropped ("Harbor Tee")."""
    values = {value.casefold() for value in option_values}
    while True:
        for separator in _TITLE_SEPARATORS:
            head, found, tail = title.rpartition(separator)
            if found and head.strip() and tail.strip().casefold() in values:
                title = head.rstrip()
                break
        else:
            return title


def _price(fields: dict[str, str], name: str, currency: str) -> Money | None:
    text = fields.get(name, "")
    if not text:
        return None
    parts = text.split()
    if len(parts) == 1:
        amount, code = parts[0], currency
    elif len(parts) == 2 and parts[1].isalpha():
        amount, code = parts
    elif len(parts) == 2 and parts[0].isalpha():
        code, amount = parts
    else:
        raise RowError(name, f"not a price: {text!r}")
    try:
        return Money.parse(amount, code)
    except InvalidMoney as exc:
        raise RowError(name, str(exc)) from None


def _availability(value: str) -> Availability:
    # Feeds write "in stock" and, in older ones, "in_stock".
    key = " ".join(value.lower().replace("_", " ").split())
    if not key:
        raise RowError("availability", "missing availability")
    try:
        return _AVAILABILITY[key]
    except KeyError:
        raise RowError("availability", f"unknown availability {value!r}") from None


def _attribute(column: str) -> str:
    name = column.strip().lower()
    return name.removeprefix("g:")


def _check_currency(currency: str) -> str:
    code = currency.strip().upper()
    try:
        currency_exponent(code)
    except InvalidMoney as exc:
        raise CatalogError(f"currency: {exc}") from None
    return code
