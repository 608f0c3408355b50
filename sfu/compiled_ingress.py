"""The compiled SRTP unprotect of received RTP (``sfu._compiled_ingress``, optional).

pylibsrtp's ``Session.unprotect`` costs a cffi round trip and two buffer copies in Python
per packet; ``Unprotector.unprotect`` is one C call to libsrtp's ``srtp_unprotect``, through
pylibsrtp's own function pointer and on the very session aiortc's receive path uses (one
replay window, one rollover counter). ``sfu/ingress.py`` uses it when it is built and the
binding is the expected one, else pylibsrtp's method.
"""

from __future__ import annotations

from pylibsrtp import Session

from sfu import srtp_binding

try:
    from sfu._compiled_ingress import Unprotector
except ImportError as exc:  # not built: no C compiler where it was installed
    Unprotector = None  # type: ignore[assignment,misc]
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


def ingress_path(compiled: bool) -> str:
    """How received SRTP is unprotected, in words (logged once at start-up)."""
    if not compiled:
        return "SRTP unprotect by pylibsrtp (compiled_ingress off)"
    if not AVAILABLE:
        return f"SRTP unprotect by pylibsrtp (compiled ingress not built: {UNAVAILABLE_REASON})"
    return "SRTP unprotect compiled (sfu._compiled_ingress)"


__all__ = ["AVAILABLE", "UNAVAILABLE_REASON", "Unprotector", "bind", "ingress_path"]
