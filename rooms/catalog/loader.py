"""load_catalog: read a catalog file, tell its format, and import it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from rooms.catalog.coshop_json import import_coshop_json
from rooms.catalog.errors import CatalogError
from rooms.catalog.gmc import import_gmc_tsv, import_gmc_xml
from rooms.catalog.jsontext import parse_json
from rooms.catalog.result import CatalogFormat, ImportResult
from rooms.catalog.shopify import import_shopify

MAX_CATALOG_BYTES: Final = 64 * 1024 * 1024
"""Larger files are refused rather than read into memory."""

_EXTENSIONS: Final[dict[str, CatalogFormat]] = {
    ".tsv": CatalogFormat.GMC_TSV,
    ".txt": CatalogFormat.GMC_TSV,
    ".xml": CatalogFormat.GMC_XML,
    ".rss": CatalogFormat.GMC_XML,
}
# Keys only Shopify's product objects carry; coshop products never do.
_SHOPIFY_KEYS: Final = frozenset({"body_html", "handle", "vendor", "product_type", "published_at"})


def load_catalog(
    path: str | os.PathLike[str],
    format: CatalogFormat | str | None = None,
    currency: str = "USD",
    *,
    shop: str | None = None,
) -> ImportResult:
    """Import a catalog file of any supported format, detected from its name and content
    unless given. ``currency`` prices formats that lack one (Shopify, bare GMC amounts);
    ``shop`` names a Shopify export's store domain (its ``shopify_shop``).

    Raises CatalogError when the file cannot be read or imported at all.
    """
    file = Path(path)
    try:
        fmt = CatalogFormat(format) if format is not None else None
    except ValueError:
        choices = ", ".join(f.value for f in CatalogFormat)
        raise CatalogError(f"unknown format {format!r} (one of {choices})") from None
    try:
        if file.stat().st_size > MAX_CATALOG_BYTES:
            raise CatalogError(f"{file}: larger than {MAX_CATALOG_BYTES} bytes")
        data = file.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        if not data.strip():
            raise CatalogError("file is empty")
        return import_catalog(
            data, fmt or detect_format(file.name, data), currency=currency, shop=shop
        )
    except CatalogError as exc:
        raise CatalogError(f"{file}: {exc}") from None


def import_catalog(
    data: bytes, format: CatalogFormat, *, currency: str = "USD", shop: str | None = None
) -> ImportResult:
    """Import the bytes of a catalog file in the given format (``shop``: see load_catalog)."""
    if not data.strip():
        raise CatalogError("file is empty")
    if format is CatalogFormat.GMC_XML:
        # Bytes, so that expat honours the document's own encoding declaration.
        return import_gmc_xml(data, currency=currency)
    text = _decode(data)
    if format is CatalogFormat.COSHOP:
        return import_coshop_json(text)
    if format is CatalogFormat.SHOPIFY:
        return import_shopify(text, currency=currency, shop=shop)
    return import_gmc_tsv(text, currency=currency)


def detect_format(name: str, data: bytes) -> CatalogFormat:
    """The format of a catalog file, from its extension, else from its first bytes.

    JSON is told apart by its product objects: Shopify's carry ``body_html``, ``handle``, ...
    Raises CatalogError when neither gives an answer.
    """
    fmt = _EXTENSIONS.get(Path(name).suffix.lower())
    if fmt is not None:
        return fmt
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return CatalogFormat.GMC_XML
    if head.startswith((b"{", b"[")):
        return _json_format(parse_json(_decode(data)))
    first_line = head.split(b"\n", 1)[0]
    if b"\t" in first_line:
        return CatalogFormat.GMC_TSV
    raise CatalogError("cannot tell the catalog format; name it explicitly")


def _json_format(doc: object) -> CatalogFormat:
    if isinstance(doc, dict):
        if isinstance(doc.get("product"), dict):
            return CatalogFormat.SHOPIFY
        products = doc.get("products")
        if isinstance(products, list) and any(
            isinstance(p, dict) and _SHOPIFY_KEYS & p.keys() for p in products
        ):
            return CatalogFormat.SHOPIFY
    return CatalogFormat.COSHOP


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"not UTF-8 text (byte {exc.start})") from None
