"""A coshop node in a subprocess for browser tests: its own port, restartable on that port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.helpers import wait_for

START_TIMEOUT = 20.0
_SERVE = "import sys; from signaling.cli import main; sys.exit(main())"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class CoshopServer:
    """``coshop serve`` on 127.0.0.1:``port`` in demo mode (in-memory store, or Redis), logging
    to a file."""

    def __init__(
        self,
        log_dir: Path,
        *,
        port: int | None = None,
        redis_url: str | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.redis_url = redis_url
        self.settings = settings or {}  # extra COSHOP_* variables
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"coshop-{self.port}.log"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
        env.update(COSHOP_LOG_LEVEL="WARNING", COSHOP_NODE_ID="browser-tests", COSHOP_WORKERS="1")
        # Chrome ignores a keyframe request that comes within 300 ms of the last one it honoured
        # (libwebrtc's EncoderRtcpFeedback, kMinKeyframeSendIntervalMs). At the default 0.3 s
        # the SFU's deferred PLI for a second new subscriber can land in that window, and as
        # nothing asks again, that subscriber waits for a keyframe forever (a black tile; seen
        # in about one run in five on a loaded machine). Until the SFU re-requests keyframes
        # for waiting subscribers, the browser tests space PLIs beyond Chrome's window.
        env["COSHOP_PLI_INTERVAL"] = "0.5"
        if self.redis_url:
            env["COSHOP_REDIS_URL"] = self.redis_url
        env.update(self.settings)
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _SERVE, "serve", "--host", "127.0.0.1",
                "--port", str(self.port), stdout=log, stderr=log, env=env,
            )
        try:
            await wait_for(self._healthy, timeout=START_TIMEOUT, interval=0.1,
                           message=f"coshop on port {self.port} to answer /healthz")
        except AssertionError:
            await self.stop()
            raise AssertionError(f"coshop did not start:\n{self.log()}") from None

    async def _healthy(self) -> bool:
        if self._process is not None and self._process.returncode is not None:
            raise AssertionError(f"coshop exited with {self._process.returncode}:\n{self.log()}")
        try:
            async with aiohttp.ClientSession() as session, session.get(
                f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=1)
            ) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def stop(self) -> None:
        """SIGTERM (a graceful shutdown, as in production), SIGKILL if it hangs."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def kill(self) -> None:
        """SIGKILL: the node dies without leaving any room or releasing anything."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return "(no log)"
