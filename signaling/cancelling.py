"""Re-raise a cancellation that a library swallowed.

redis-py can turn a cancellation during a command into a connection error, which a heartbeat
loop then treats as an outage and carries on. The task stays "cancelling", and on Python 3.11
a task with a pending cancel request ignores later ones (``Task.cancel`` returns False), so an
``asyncio.timeout`` in the loop can never fire again and ``close()`` waits for it forever
(seen when a node failed to bind its port while its first heartbeat was under way).
"""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Raise CancelledError if the current task was asked to cancel but carries on."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
