"""Which event loop runs a node: uvloop unless told otherwise (COSHOP_EVENT_LOOP)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")

EventLoopKind = Literal["uvloop", "asyncio"]


def run_loop(main: Coroutine[Any, Any, T], kind: EventLoopKind) -> T:
    """Run ``main`` to completion on a new loop of ``kind``.

    uvloop matters for media: asyncio's selector loop reads one datagram per ready socket
    per loop turn, so when a turn gets slower (a join's SDP work, a keyframe burst) every
    publisher's packets queue up in the kernel for as long as it takes to catch up; libuv
    reads a socket until it is empty (up to 32 datagrams) each time it wakes.
    """
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:  # no wheel for this platform: asyncio's loop still works
            pass
        else:
            return uvloop.run(main)
    return asyncio.run(main)
