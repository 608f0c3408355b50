"""A real ``coshop serve`` subprocess (demo mode, in-memory store) for the fuzz suite, and one
event loop the synchronous Hypothesis tests drive it from."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.server import CoshopServer


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture(scope="module")
def server(
    loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CoshopServer]:
    server = CoshopServer(Path(tmp_path_factory.mktemp("fuzz")))
    loop.run_until_complete(server.start())
    yield server
    loop.run_until_complete(server.stop())
    log = server.log(tail=1_000_000)
    # Whatever the clients sent, the server logged no traceback.
    assert "Traceback" not in log, log[-8000:]
