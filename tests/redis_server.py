"""A private redis-server for tests that stop and restart Redis under a running node."""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.browser.server import free_port
from tests.helpers import wait_for

START_TIMEOUT = 10.0


class RedisServer:
    """``redis-server`` on its own port and directory; ``kill`` then ``start`` restarts it on
    the same port and data directory. ``aof``: append-only file with ``appendfsync always``
    (every acknowledged write is on disk), else no persistence at all."""

    def __init__(self, workdir: Path, *, aof: bool) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found on PATH (apt-get install redis-server)")
        self.binary = binary
        self.workdir = workdir
        self.aof = aof
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = workdir / "redis.log"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start and wait until it answers PING (an AOF is loaded by then)."""
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.aof
            else ["--appendonly", "no"]
        )
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--dir", str(self.workdir), "--maxmemory-policy", "noeviction", *persistence,
                stdout=log, stderr=log,
            )
        await wait_for(self.answers, timeout=START_TIMEOUT, interval=0.02,
                       message=f"redis-server on {self.port} to answer PING")

    async def answers(self) -> bool:
        """Whether it answers PING now."""
        if self._process is not None and self._process.returncode is not None:
            raise AssertionError(f"redis-server exited:\n{self.log_path.read_text()[-2000:]}")
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            return bool(await client.ping())
        except RedisConnectionError:
            return False
        finally:
            await client.aclose()

    async def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed beyond what persistence already wrote."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()

    async def stop(self) -> None:
        await self.kill()
