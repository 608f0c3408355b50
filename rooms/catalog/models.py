"""The catalog as data: products with variants, prices, images and availability (pydantic, no I/O).

The JSON form of these models is the coshop catalog format (see ``coshop_json``).
"""

from __future__ import annotations

import re
import string
from enum import StrEnum
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    StringConstraints,
    model_validator,
)

from rooms.catalog.money import CurrencyCode, Money

__all__ = ["Availability", "Catalog", "Money", "Product", "ProductRating", "Variant"]

MAX_ID_LENGTH: Final = 128
MAX_TITLE_LENGTH: Final = 500
MAX_DESCRIPTION_LENGTH: Final = 20_000


class Availability(StrEnum):
    """Whether a variant can be bought now (the Merchant Center vocabulary)."""

    IN_STOCK = "in_stock"
    OUT_OF_STOCK = "out_of_stock"
    PREORDER = "preorder"
    BACKORDER = "backorder"

    @property
    def orderable(self) -> bool:
        """True unless out of stock: preorders and backorders can still be ordered."""
        return self is not Availability.OUT_OF_STOCK


def _availability(value: Any) -> Any:
    # Our own message instead of pydantic's enumeration of choices.
    if isinstance(value, Availability):
        return value
    if isinstance(value, str) and value in Availability.__members__.values():
        return Availability(value)
    raise ValueError(f"unknown availability {value!r}")


def _check_link(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url


_HOSTNAME: Final = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
"""A DNS name of at least two labels (RFC 1123 section 2.1), lower case."""

CHECKOUT_FIELDS: Final = frozenset({"items", "discount", "room"})
"""The placeholders a ``checkout_url_template`` may use (rooms.checkout fills them)."""


def _check_shop(domain: str) -> str:
    if not _HOSTNAME.match(domain):
        raise ValueError(f"not a shop domain (like shop.example.com): {domain!r}")
    return domain


def _check_template(template: str) -> str:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"checkout_url_template: {exc}") from None
    unknown = sorted(names - CHECKOUT_FIELDS)
    if unknown:
        raise ValueError(f"checkout_url_template: unknown placeholder(s) {unknown}; "
                         f"expected {sorted(CHECKOUT_FIELDS)}")
    if "items" not in names:
        raise ValueError("checkout_url_template must contain {items}")
    filled = template.format(**{name: "x" for name in names})
    _check_link(filled)
    return template


def _check_image(ref: str) -> str:
    # Relative paths are resolved against the catalog file's directory and may be served
    # to browsers, so they must stay inside it: no absolute paths, no "..", no backslashes.
    parts = urlsplit(ref)
    if parts.scheme:
        return _check_link(ref)
    if ref.startswith("/") or "\\" in ref or ".." in ref.split("/"):
        raise ValueError(
            f"image must be an http(s) URL or a relative path below the catalog: {ref!r}"
        )
    return ref


Id = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID_LENGTH)
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE_LENGTH)
]
VariantTitle = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TITLE_LENGTH)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Link = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_check_link)]
ImageRef = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_check_image)]
ShopDomain = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True), AfterValidator(_check_shop)
]
CheckoutTemplate = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000),
    AfterValidator(_check_template),
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Variant(_Model):
    """One buyable version of a product (a size/colour), with its own price and stock."""

    id: Id
    title: VariantTitle = ""
    options: dict[Label, Label] = Field(default_factory=dict)
    price: Money
    compare_at_price: Money | None = None
    availability: Annotated[Availability, BeforeValidator(_availability)] = Availability.IN_STOCK
    # Units on hand; may be negative when a shop oversells (Shopify allows it).
    inventory: StrictInt | None = None
    sku: Label | None = None

    @model_validator(mode="after")
    def _same_currency(self) -> Variant:
        if self.compare_at_price and self.compare_at_price.currency != self.price.currency:
            raise ValueError(
                f"compare_at_price currency {self.compare_at_price.currency} "
                f"differs from price currency {self.price.currency}"
            )
        return self


RATING_MIN: Final = 1
RATING_MAX: Final = 5
"""Ratings are stars on a 1-5 scale: imported ones are brought to it (rooms.catalog importers)."""


class ProductRating(_Model):
    """What reviewers said of a product at its source: the mean ``value`` on the 1-5 scale
    (two decimals at most) and how many reviews (``count``) it is the mean of."""

    value: Annotated[
        float,
        Field(ge=RATING_MIN, le=RATING_MAX, allow_inf_nan=False),
        AfterValidator(lambda value: round(value, 2)),
    ]
    count: Annotated[StrictInt, Field(ge=0)] = 0


class Product(_Model):
    """A product shown on the carousel; its variants share one currency."""

    id: Id
    title: Title
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=MAX_DESCRIPTION_LENGTH)
    ] = ""
    brand: Label | None = None
    link: Link | None = None
    images: tuple[ImageRef, ...] = ()
    variants: tuple[Variant, ...] = Field(min_length=1)
    tags: tuple[Label, ...] = ()
    rating: ProductRating | None = None

    @model_validator(mode="after")
    def _consistent_variants(self) -> Product:
        seen: set[str] = set()
        for variant in self.variants:
            if variant.id in seen:
                raise ValueError(f"duplicate variant id {variant.id!r}")
            seen.add(variant.id)
        currencies = {v.price.currency for v in self.variants}
        if len(currencies) > 1:
            raise ValueError(f"variants mix currencies: {', '.join(sorted(currencies))}")
        return self

    @property
    def currency(self) -> str:
        """The currency of every variant's price."""
        return self.variants[0].price.currency

    @property
    def price_range(self) -> tuple[Money, Money]:
        """The lowest and highest variant price."""
        prices = sorted((v.price for v in self.variants), key=lambda m: m.amount_minor)
        return prices[0], prices[-1]

    def variant(self, variant_id: str) -> Variant | None:
        """The variant with this id, if any."""
        return next((v for v in self.variants if v.id == variant_id), None)


class Catalog(_Model):
    """The products a room can show; ids are unique, and ``currency``, if set, prices them all.

    Where its carts are checked out (rooms.checkout): ``shopify_shop``, the domain of the
    Shopify store it was imported from (cart permalinks), or ``checkout_url_template``.
    ``id`` names the catalog across rooms: the people's ratings are kept per catalog
    (rooms.ratings.ratings_key).
    """

    id: Id | None = None
    products: tuple[Product, ...] = ()
    currency: CurrencyCode | None = None
    shopify_shop: ShopDomain | None = None
    checkout_url_template: CheckoutTemplate | None = None

    _index: dict[str, Product] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent_products(self) -> Catalog:
        index: dict[str, Product] = {}
        for product in self.products:
            if product.id in index:
                raise ValueError(f"duplicate product id {product.id!r}")
            if self.currency and product.currency != self.currency:
                raise ValueError(
                    f"product {product.id!r} is priced in {product.currency}, "
                    f"not the catalog's {self.currency}"
                )
            index[product.id] = product
        self._index = index
        if self.shopify_shop is not None and self.checkout_url_template is not None:
            raise ValueError("a catalog checks out at a shopify_shop or a checkout_url_template, "
                             "not both")
        return self

    @property
    def product_ids(self) -> tuple[str, ...]:
        """Product ids in catalog order (the default carousel order)."""
        return tuple(self._index)

    @property
    def variant_count(self) -> int:
        """Number of variants over all products."""
        return sum(len(p.variants) for p in self.products)

    def get(self, product_id: str) -> Product | None:
        """The product with this id, if any."""
        return self._index.get(product_id)
