"""XML parsing that refuses DOCTYPEs, so no entity tricks (billion laughs, external entities).

Built on the stdlib expat parser and ElementTree's TreeBuilder; catalog feeds never need a DTD.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.parsers import expat

from rooms.catalog.errors import CatalogError


def _refuse(*_: Any) -> Any:
    raise CatalogError("XML with a DOCTYPE or entity declarations is refused")


def _clark(name: str) -> str:
    # expat gives "uri}local" with namespace_separator="}"; ElementTree spells it "{uri}local".
    return "{" + name if "}" in name else name


def parse_xml(data: bytes | str) -> ET.Element:
    """Parse an XML document into an Element tree. Raises CatalogError if it is not
    well-formed or declares a DOCTYPE, entities or external references."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.buffer_text = True

    def start(name: str, attrs: dict[str, str]) -> None:
        builder.start(_clark(name), {_clark(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        builder.end(_clark(name))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise CatalogError(
            f"not well-formed XML: {expat.ErrorString(exc.code)} "
            f"at line {exc.lineno}, column {exc.offset + 1}"
        ) from None
    return builder.close()
