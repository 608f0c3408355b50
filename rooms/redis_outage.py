"""A Redis outage as rooms.errors.StoreUnavailable: the errors that mean one, and the decorator
that turns them into it for every method of a Redis-backed class."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from rooms.errors import StoreUnavailable

OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)
"""Redis is down, restarting (``LOADING`` is a ConnectionError), unreachable, or a replica
that has not been promoted yet: the store is unavailable, which is not a bug."""


class _Retrying(Protocol):
    retry_after: float


_S = TypeVar("_S", bound=_Retrying)
_P = ParamSpec("_P")
_T = TypeVar("_T")
_Method = Callable[Concatenate[_S, _P], Coroutine[Any, Any, _T]]


def unavailable_on_outage(
    what: str,
) -> Callable[[_Method[_S, _P, _T]], _Method[_S, _P, _T]]:
    """Raise StoreUnavailable (``what`` unavailable, retry after the object's ``retry_after``)
    instead of redis-py's connection errors."""

    def decorate(method: _Method[_S, _P, _T]) -> _Method[_S, _P, _T]:
        @functools.wraps(method)
        async def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
            try:
                return await method(self, *args, **kwargs)
            except OUTAGE_ERRORS as exc:
                raise StoreUnavailable(
                    f"{what} unavailable (Redis: {exc})", retry_after=self.retry_after
                ) from exc

        return wrapper

    return decorate
