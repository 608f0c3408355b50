"""A real ``coshop serve`` process for the interop suite, its log kept for inspection.

Like the clients in stranger.py, nothing here imports coshop: the server is started the way
a user starts it, from the console script. Also here: a real redis-server and three nodes behind
haproxy for the multi-node tests, and the event loop and time bounds of the whole suite.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvloop

from tests.haproxy import Haproxy
from tests.redis_server import RedisServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running ``coshop serve`` and where its log goes."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def coshop_binary() -> str:
    found = Path(sys.executable).parent / "coshop"
    if found.exists():
        return str(found)
    which = shutil.which("coshop")
    assert which, "the coshop console script is not installed (pip install -e .)"
    return which


def start_server(tmp: Path, env: dict[str, str] | None = None, port: int | None = None) -> Server:
    port = port or _free_port()
    log = tmp / f"coshop-{port}.log"
    full_env = {**os.environ, "COSHOP_PORT": str(port), "COSHOP_HOST": "127.0.0.1",
                "COSHOP_WORKERS": "1", **(env or {})}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [coshop_binary(), "serve"], stdout=out, stderr=subprocess.STDOUT, env=full_env
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"coshop serve exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return Server(url, process, log)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"coshop serve did not answer /healthz: {log.read_text()}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start ``coshop serve`` processes (environment overrides as keyword arguments)."""
    servers: list[Server] = []

    def start(port: int | None = None, **env: str) -> Server:
        """A node (on ``port``, e.g. a restart in place of a stopped one)."""
        server = start_server(
            tmp_path, {f"COSHOP_{k.upper()}": v for k, v in env.items()}, port=port
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        text = server.log_text()
        assert "Traceback" not in text, f"server logged a traceback:\n{text[-4000:]}"


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A real redis-server of this test's own, without persistence."""
    server = RedisServer(tmp_path, aof=False)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def cluster(
    redis: RedisServer, serve: Callable[..., Server], tmp_path: Path
) -> AsyncIterator[tuple[Haproxy, list[Server]]]:
    """Three real nodes on one Redis behind haproxy (round-robin, no stickiness)."""
    nodes = [serve(redis_url=redis.url, node_id=f"node-{i}") for i in (1, 2, 3)]
    balancer = Haproxy(tmp_path, [urlsplit(n.url).netloc for n in nodes])
    await balancer.start()
    yield balancer, nodes
    await balancer.stop()


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The clients run on uvloop, which reads a socket dry on each wake-up as a browser does.

    asyncio's own loop reads one datagram per socket per turn: with several clients in this
    one process, each socket's backlog of media made RTCP wait behind it (a keyframe request
    reached a publisher 0.3-1.2 s late, two in three were never read before the next) and the
    test measured the test process, not the server.
    """
    return {"uvloop": uvloop.new_event_loop}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Bound every test here with asyncio.timeout, a little inside its pytest-timeout.

    pytest-timeout interrupts a test by raising from a SIGALRM handler; uvloop runs signal
    handlers inside a callback and logs what they raise, so a hung test would hang the run.
    Cancelling from the loop itself fails the test, with the await it hung in.
    """
    here = Path(__file__).parent
    default = 120.0
    for item in items:
        if not isinstance(item, pytest.Function) or here not in Path(item.path).parents:
            continue
        test = item.obj
        if not inspect.iscoroutinefunction(test):
            continue
        marker = item.get_closest_marker("timeout")
        limit = float(marker.args[0]) if marker and marker.args else default
        item.obj = _bounded(test, max(1.0, limit - 5))


def _bounded(
    test: Callable[..., Coroutine[Any, Any, None]], seconds: float
) -> Callable[..., Coroutine[Any, Any, None]]:
    @functools.wraps(test)
    async def bounded(*args: Any, **kwargs: Any) -> None:
        async with asyncio.timeout(seconds):
            await test(*args, **kwargs)

    return bounded
