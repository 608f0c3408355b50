"""CatalogBuilder: gathers an importer's good products and its problems into an ImportResult."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import ValidationError

from rooms.catalog.models import Catalog, Product
from rooms.catalog.result import CatalogFormat, ImportResult, Problem, problems_from


class CatalogBuilder:
    """Products in file order; the first of two rows with one product id wins."""

    def __init__(
        self,
        format: CatalogFormat,
        *,
        catalog_id: str | None = None,
        currency: str | None = None,
        shopify_shop: str | None = None,
        checkout_url_template: str | None = None,
    ) -> None:
        self.format = format
        self.catalog_id = catalog_id
        self.currency = currency
        self.shopify_shop = shopify_shop
        self.checkout_url_template = checkout_url_template
        self._problems: list[Problem] = []
        self._products: dict[str, Product] = {}
        self._rows: dict[str, int] = {}

    def problem(self, row: int, field: str, message: str) -> None:
        """Report one defect of a row."""
        self._problems.append(Problem(row=row, field=field, message=message))

    def extend(self, problems: Iterable[Problem]) -> None:
        """Report several defects at once."""
        self._problems.extend(problems)

    def invalid(self, error: ValidationError, row: int, prefix: Sequence[int | str] = ()) -> None:
        """Report every error of a failed validation of (part of) a row."""
        self._problems.extend(problems_from(error, row, prefix))

    def first_row(self, product_id: str) -> int | None:
        """The row that added this product id, if one did."""
        return self._rows.get(product_id)

    def add(self, row: int, product: Product) -> bool:
        """Add the product of a row, or report why it cannot be added."""
        first = self._rows.get(product.id)
        if first is not None:
            unit = self.format.row_unit
            self.problem(row, "id", f"duplicate product id {product.id!r}, first at {unit} {first}")
            return False
        if self.currency and product.currency != self.currency:
            self.problem(
                row,
                "variants",
                f"priced in {product.currency}, not the catalog's {self.currency}",
            )
            return False
        self._products[product.id] = product
        self._rows[product.id] = row
        return True

    def result(self) -> ImportResult:
        """The catalog of every added product and the problems, by row then report order."""
        catalog = Catalog(
            id=self.catalog_id,
            products=tuple(self._products.values()),
            currency=self.currency,
            shopify_shop=self.shopify_shop,
            checkout_url_template=self.checkout_url_template,
        )
        problems = sorted(self._problems, key=lambda p: p.row)  # stable: keeps report order
        return ImportResult(format=self.format, catalog=catalog, problems=tuple(problems))
