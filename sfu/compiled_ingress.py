"""The compiled SRTP unprotect and parse of received RTP (``sfu._compiled_ingress``, optional).

pylibsrtp's ``Session.unprotect`` costs a cffi round trip and two buffer copies in Python
per packet, and aiortc's ``RtpPacket.parse`` about as much again; ``Unprotector.receive`` is
one C call: libsrtp's ``srtp_unprotect``, through pylibsrtp's own function pointer and on the
very session aiortc's receive path uses (one replay window, one rollover counter), then the
header, CSRCs, RFC 8285 extensions and padding into aiortc's own ``RtpPacket`` and
``HeaderExtensions``, field for field as ``RtpPacket.parse`` with the transport's extension
map (``parse_rtp`` alone, for tests; a packet aiortc's parse would raise on is None).
``sfu/ingress.py`` uses it when it is built and the binding is the expected one, else
pylibsrtp's method and aiortc's parse.
"""

from __future__ import annotations

from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap
from pylibsrtp import Session

from sfu import remb_estimator, srtp_binding

try:
    from sfu._compiled_ingress import Unprotector, parse_rtp
except ImportError as exc:  # not built: no C compiler where it was installed
    Unprotector = None  # type: ignore[assignment,misc]
    parse_rtp = None  # type: ignore[assignment]
    UNAVAILABLE_REASON: str | None = str(exc)
else:
    UNAVAILABLE_REASON = srtp_binding.mismatch("srtp_unprotect")
    if UNAVAILABLE_REASON is not None:
        Unprotector = None  # type: ignore[assignment,misc]

#: True when the extension was built, imports and fits pylibsrtp's binding.
AVAILABLE = Unprotector is not None


def bind(session: Session) -> Unprotector:
    """An unprotector for ``session`` (it keeps the session alive)."""
    assert Unprotector is not None, UNAVAILABLE_REASON
    unprotect, srtp = srtp_binding.handle("srtp_unprotect", session)
    return Unprotector(unprotect, srtp, session)


def extension_ids(extensions_map: HeaderExtensionsMap) -> HeaderExtensions:
    """The ids ``extensions_map`` decodes by: aiortc keeps them in a HeaderExtensions of its
    own, which its ``configure`` updates in place (so this stays current)."""
    ids: HeaderExtensions = extensions_map._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
    return ids


def ingress_path(compiled: bool) -> str:
    """How received media is unprotected, parsed and estimated, in words (logged once at
    start-up)."""
    if not compiled:
        return (
            "SRTP unprotect by pylibsrtp, RTP parse and REMB estimator in Python "
            "(compiled_ingress off)"
        )
    if not AVAILABLE:
        path = f"SRTP unprotect by pylibsrtp (compiled ingress not built: {UNAVAILABLE_REASON})"
    else:
        path = "SRTP unprotect and RTP parse compiled (sfu._compiled_ingress)"
    if remb_estimator.AVAILABLE:
        return f"{path}; REMB estimator compiled (sfu._compiled_remb)"
    return f"{path}; REMB estimator in Python (not built: {remb_estimator.UNAVAILABLE_REASON})"


__all__ = [
    "AVAILABLE",
    "UNAVAILABLE_REASON",
    "Unprotector",
    "bind",
    "extension_ids",
    "ingress_path",
    "parse_rtp",
]
