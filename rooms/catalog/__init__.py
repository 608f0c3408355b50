"""Product catalogs: the models, importers (coshop JSON, Shopify, Merchant Center) and a sample.

Pure data and parsing; the only I/O is reading the catalog file (``load_catalog``).
"""

from rooms.catalog.bundled import SAMPLE_CATALOG_FILE, SAMPLE_DIR, sample_catalog
from rooms.catalog.coshop_json import dump_coshop_json, import_coshop_json
from rooms.catalog.errors import CatalogError, InvalidMoney
from rooms.catalog.gmc import import_gmc_tsv, import_gmc_xml
from rooms.catalog.loader import MAX_CATALOG_BYTES, detect_format, import_catalog, load_catalog
from rooms.catalog.models import Availability, Catalog, Product, ProductRating, Variant
from rooms.catalog.money import CURRENCY_EXPONENTS, Money, currency_exponent
from rooms.catalog.result import CatalogFormat, ImportResult, Problem
from rooms.catalog.shopify import import_shopify

__all__ = [
    "CURRENCY_EXPONENTS",
    "MAX_CATALOG_BYTES",
    "SAMPLE_CATALOG_FILE",
    "SAMPLE_DIR",
    "Availability",
    "Catalog",
    "CatalogError",
    "CatalogFormat",
    "ImportResult",
    "InvalidMoney",
    "Money",
    "Problem",
    "Product",
    "ProductRating",
    "Variant",
    "currency_exponent",
    "detect_format",
    "dump_coshop_json",
    "import_catalog",
    "import_coshop_json",
    "import_gmc_tsv",
    "import_gmc_xml",
    "import_shopify",
    "load_catalog",
    "sample_catalog",
]
