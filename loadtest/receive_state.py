"""The base classes of the state a received packet writes, in C when built (sans-IO).

``RouteStats`` (``loadtest.metrics``), ``ReceptionStatistics`` (``loadtest.reception_report``),
``SequenceUnwrapper`` and ``NackRequester`` (``loadtest.nack``) keep the fields every received
packet updates in a base class, and so do ``_Stream``, ``_Reception`` and ``_Repair``
(``loadtest.receiver``) the references a packet follows. With ``loadtest._compiled_receive``
built, each base is one of its C types, whose fields the compiled receive path
(``loadtest.compiled_receive``) reads and writes in place, with no Python object per field and
packet; Python sees attributes of the same names, an ``int``, a ``float``, an object, or
``None`` for an optional number not set. Without the extension, the pure-Python classes below
take their place, with the same attributes.

``RouteCore`` has an instance dict for the dataclass's other fields; its ``__dict__`` (so
``vars()``) and ``__getstate__`` give every field, the C ones included, as a plain dataclass
instance's would. The other bases declare their fields as ``__slots__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar


class PyRouteCore:
    """``RouteCore`` without the extension: the fields live in the instance dict."""


class PyStatisticsCore:
    """``StatisticsCore`` without the extension."""

    __slots__ = (
        "_base", "_clock_rate", "_expected_prior", "_last_sr", "_last_sr_at", "_last_transit",
        "_received", "_received_prior", "_top", "jitter",
    )


class PyUnwrapCore:
    """``UnwrapCore`` without the extension."""

    __slots__ = ("_last",)


class PyNackCore:
    """``NackCore`` without the extension."""

    __slots__ = ("_newest",)


class PyStreamCore:
    """``StreamCore`` without the extension."""

    __slots__ = ("clock_rate", "reception", "repair", "route", "source", "video")


class PyReceptionCore:
    """``ReceptionCore`` without the extension."""

    __slots__ = ("due", "interval", "stats")


class PyRepairCore:
    """``RepairCore`` without the extension."""

    __slots__ = ("nack", "playout", "unwrap")


if TYPE_CHECKING:
    RouteCore = PyRouteCore
    StatisticsCore = PyStatisticsCore
    UnwrapCore = PyUnwrapCore
    NackCore = PyNackCore
    StreamCore = PyStreamCore
    ReceptionCore = PyReceptionCore
    RepairCore = PyRepairCore
else:
    try:
        from loadtest._compiled_receive import (
            NackCore,
            ReceptionCore,
            RepairCore,
            RouteCore,
            StatisticsCore,
            StreamCore,
            UnwrapCore,
        )
    except ImportError:  # not built: no C compiler where it was installed
        RouteCore, StatisticsCore = PyRouteCore, PyStatisticsCore
        UnwrapCore, NackCore = PyUnwrapCore, PyNackCore
        StreamCore, ReceptionCore, RepairCore = PyStreamCore, PyReceptionCore, PyRepairCore

#: True when the bases are the extension's C types.
COMPILED = RouteCore is not PyRouteCore


_Class = TypeVar("_Class", bound=type)


def uncover(cls: _Class) -> _Class:
    """Drop the class attributes of ``cls`` that hide a base's field (a dataclass field's
    default does): the base's descriptor is then the attribute again. The dataclass's
    ``__init__`` keeps the defaults, and its fields, repr and equality are unchanged."""
    for base in cls.__mro__[1:]:
        for name, value in vars(base).items():
            if not name.startswith("__") and name in vars(cls) and hasattr(value, "__set__"):
                delattr(cls, name)
    return cls
