"""libsrtp as pylibsrtp binds it, for the C extensions that call it directly.

The compiled egress calls ``srtp_protect`` and the compiled ingress ``srtp_unprotect``
through the function pointers pylibsrtp's cffi binding already holds, on the ``srtp_t`` of
aiortc's own sessions. This checks that the binding is the one they were written against
and hands out those two addresses as integers.
"""

from __future__ import annotations

from pylibsrtp import Session, _binding

#: libsrtp 2's srtp_protect and srtp_unprotect, as pylibsrtp's cffi binding declares them.
_FUNCTION_TYPE = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"


def mismatch(function: str) -> str | None:
    """Why pylibsrtp's binding of ``function`` is not what the C side calls, if so."""
    ffi, lib = _binding.ffi, _binding.lib
    try:
        declared = ffi.typeof(ffi.addressof(lib, function)).cname
    except AttributeError:
        return f"pylibsrtp's binding has no {function}"
    if declared != _FUNCTION_TYPE:
        return f"pylibsrtp declares {function} as {declared}, not {_FUNCTION_TYPE}"
    handle = getattr(Session(), "_srtp", None)
    if handle is None or ffi.typeof(handle).cname != "struct srtp_ctx_t_ * *":
        return "pylibsrtp's Session keeps its srtp_t elsewhere"
    return None


def handle(function: str, session: Session) -> tuple[int, int]:
    """(address of libsrtp's ``function``, the session's srtp_t) as integers."""
    ffi, lib = _binding.ffi, _binding.lib
    address = int(ffi.cast("uintptr_t", ffi.addressof(lib, function)))
    ctx = int(ffi.cast("uintptr_t", session._srtp[0]))
    return address, ctx
