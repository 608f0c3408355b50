"""Checkout links: lines of a room's shared cart as a URL at the shop its catalog names (no I/O).

A Shopify catalog (``shopify_shop``) checks out through a Shopify cart permalink,
``https://{shop}/cart/{variant_id}:{quantity},...`` with ``?discount=CODE`` when a code applies.
Any other catalog through its ``checkout_url_template``, whose ``{items}`` are the same
``variant_id:quantity`` pairs joined by commas, ``{discount}`` the code (empty without one) and
``{room}`` the room id. Every value put in a URL is percent-encoded (RFC 3986 section 2.1) but
for the unreserved characters (section 2.3), so ``:`` and ``,`` inside an id cannot be confused
with the separators.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from rooms.catalog.models import Catalog
from rooms.errors import CheckoutUnavailable
from rooms.shopping_state import CartItem


@dataclass(frozen=True, slots=True)
class CheckoutLine:
    """One variant and how many of it a checkout link buys."""

    product_id: str
    variant_id: str
    quantity: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "variant_id": self.variant_id,
            "quantity": self.quantity,
        }


def checkout_lines(catalog: Catalog, items: Iterable[CartItem]) -> tuple[CheckoutLine, ...]:
    """The cart ``items`` as variants to buy, in cart order. An item without a variant buys its
    product's first variant; items of one variant add up; products the catalog no longer
    offers are left out."""
    lines: dict[tuple[str, str], int] = {}
    for item in items:
        product = catalog.get(item.product_id)
        if product is None:
            continue
        variant = product.variants[0] if item.variant_id is None else product.variant(
            item.variant_id
        )
        if variant is None:
            continue
        key = (product.id, variant.id)
        lines[key] = lines.get(key, 0) + item.quantity
    return tuple(CheckoutLine(p, v, q) for (p, v), q in lines.items())


def items_of(items: Iterable[CartItem], participant_id: str | None) -> tuple[CartItem, ...]:
    """The cart lines ``participant_id`` added (every line for None: the whole cart)."""
    return tuple(i for i in items if participant_id is None or i.added_by == participant_id)


def checkout_url(
    catalog: Catalog,
    lines: Iterable[CheckoutLine],
    *,
    room_id: str = "",
    discount: str | None = None,
) -> str:
    """The link that checks ``lines`` out at the catalog's shop, with the ``discount`` code if
    given. Raises CheckoutUnavailable when the catalog names no shop or there are no lines."""
    lines = tuple(lines)
    if not lines:
        raise CheckoutUnavailable("nothing to check out: no cart lines")
    items = ",".join(f"{_encode(line.variant_id)}:{line.quantity}" for line in lines)
    if catalog.shopify_shop is not None:
        url = f"https://{catalog.shopify_shop}/cart/{items}"
        return url if not discount else f"{url}?discount={_encode(discount)}"
    if catalog.checkout_url_template is not None:
        return catalog.checkout_url_template.format(
            items=items, discount=_encode(discount or ""), room=_encode(room_id)
        )
    raise CheckoutUnavailable(
        "the room's catalog names no shop to check out at (shopify_shop or "
        "checkout_url_template)"
    )


def _encode(value: str) -> str:
    # RFC 3986 section 2.1: everything but the unreserved characters (section 2.3) as %XX of
    # its UTF-8 bytes.
    return quote(value, safe="", encoding="utf-8")
