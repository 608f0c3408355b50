"""libsrtp as the load tester's C extensions call it: through pylibsrtp's own cffi binding.

``loadtest._compiled_receive`` calls ``srtp_unprotect`` and ``loadtest._compiled_send``
``srtp_protect`` through the function pointers pylibsrtp's binding holds, on aiortc's own
sessions (one ``srtp_t`` each); this checks the binding is the one they were written against
and hands out the pointers.
"""

from __future__ import annotations

from pylibsrtp import Session, _binding

#: libsrtp 2's srtp_protect and srtp_unprotect, as pylibsrtp's binding declares them.
CALL_TYPE = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"

__all__ = ["CALL_TYPE", "handle", "mismatch"]


def mismatch(function: str) -> str | None:
    """Why pylibsrtp's binding of ``function`` (``srtp_protect`` or ``srtp_unprotect``) or
    its sessions are not what the C side expects, if so."""
    ffi, lib = _binding.ffi, _binding.lib
    try:
        declared = ffi.typeof(ffi.addressof(lib, function)).cname
    except AttributeError:
        return f"pylibsrtp's binding has no {function}"
    if declared != CALL_TYPE:
        return f"pylibsrtp declares {function} as {declared}, not {CALL_TYPE}"
    srtp = getattr(Session(), "_srtp", None)
    if srtp is None or ffi.typeof(srtp).cname != "struct srtp_ctx_t_ * *":
        return "pylibsrtp's Session keeps its srtp_t elsewhere"
    return None


def handle(session: Session, function: str) -> tuple[int, int]:
    """(the address of libsrtp's ``function``, ``session``'s srtp_t) as integers."""
    ffi, lib = _binding.ffi, _binding.lib
    return (int(ffi.cast("uintptr_t", ffi.addressof(lib, function))),
            int(ffi.cast("uintptr_t", session._srtp[0])))
