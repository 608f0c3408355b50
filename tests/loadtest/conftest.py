"""A real ``coshop serve`` on loopback for end-to-end load tests, and the CLI as a subprocess."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COSHOP = [sys.executable, "-c", "import sys; from signaling.cli import main; sys.exit(main())"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
    env["PYTHONPATH"] = str(ROOT)
    env["COSHOP_WORKERS"] = "1"  # one node per process (a test starts several itself)
    return env


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]


def start_server(log: Path, *extra: str) -> Server:
    """``coshop serve --port 0`` in its own process; returns once it prints its URL."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*COSHOP, "serve", "--port", "0", "--log-level", "WARNING", *extra],
            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline()  # the server prints this line once it listens
    match = re.match(r"coshop serving on (http://\S+)", line)
    if match is None:
        process.kill()
        process.wait()
        pytest.fail(f"coshop serve did not start: {line!r}\n{log.read_text()[-3000:]}")
    return Server(match.group(1), process)


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    if server.process.stdout is not None:
        server.process.stdout.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One node shared by a module's load tests (each uses its own room names)."""
    s = start_server(tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    stop_server(s)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A node of this test's own (it may be killed)."""
    s = start_server(tmp_path / "serve.log")
    yield s
    stop_server(s)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


async def start_loadtest(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *COSHOP, "loadtest", *args, cwd=ROOT, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process, seconds: float = 60) -> Result:
    out, err = await asyncio.wait_for(process.communicate(), seconds)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


async def loadtest(*args: str, seconds: float = 60) -> Result:
    """Run ``coshop loadtest ARGS`` to the end."""
    return await finish(await start_loadtest(*args), seconds)


async def until(predicate: Callable[[], bool], within: float) -> bool:
    """Whether ``predicate`` holds within ``within`` s (polled every 0.1 s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


@pytest.fixture
def udp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A receiving (non-blocking) and a sending UDP socket on loopback."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setblocking(False)
    tx.bind(("127.0.0.1", 0))
    yield rx, tx
    rx.close()
    tx.close()
