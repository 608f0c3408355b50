"""A hung interop test fails inside its time limit instead of hanging the run (uvloop swallows
pytest-timeout's SIGALRM; see conftest.py)."""

from __future__ import annotations

import asyncio

import pytest

from tests.interop.conftest import _bounded


async def _nothing() -> None:
    return None


async def test_this_test_runs_bounded(request: pytest.FixtureRequest) -> None:
    bounded_code = _bounded(_nothing, 1.0).__code__
    chain, obj = [], request.node.obj
    while obj is not None:
        chain.append(obj)
        obj = getattr(obj, "__wrapped__", None)
    assert any(getattr(f, "__code__", None) is bounded_code for f in chain), chain


async def test_a_hung_coroutine_is_cancelled_at_the_limit() -> None:
    async def hang() -> None:
        await asyncio.get_running_loop().create_future()

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await _bounded(hang, 0.2)()
    assert 0.15 < loop.time() - started < 2.0
