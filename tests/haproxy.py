"""A real haproxy (Debian's) in front of coshop nodes: round-robin, no stickiness, the way the
README shows a scaled-out deployment. Started in the foreground on a free loopback port."""

from __future__ import annotations

import asyncio
import shutil
import signal
import urllib.request
from pathlib import Path

from tests.browser.server import free_port
from tests.helpers import wait_for

START_TIMEOUT = 10.0


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        raise RuntimeError("haproxy not found (apt-get install haproxy; tests/run.sh does)")
    return found


def config(port: int, backends: list[str]) -> str:
    """The balancer configuration (README, "Scaling out"): ``backends`` are host:port."""
    servers = "\n".join(
        f"    server node{i} {address} check" for i, address in enumerate(backends, 1)
    )
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A WebSocket is a tunnel once upgraded; the nodes ping every 2.5 s.
    timeout tunnel 1h
    # A node that refuses the connection (it just died): try the request on another one.
    option redispatch
    retries 3

frontend coshop
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance roundrobin
    # A draining node answers 503: it gets no new connections.
    option httpchk GET /healthz
    default-server inter 500ms fall 2 rise 2
{servers}
"""


class Haproxy:
    """``haproxy -db -f <config>`` in front of ``backends`` (host:port each)."""

    def __init__(self, workdir: Path, backends: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "haproxy.cfg"
        self.config_path.write_text(config(self.port, backends))
        self.log_path = workdir / "haproxy.log"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = haproxy_binary()
        with self.log_path.open("ab") as log:
            check = await asyncio.create_subprocess_exec(
                binary, "-c", "-f", str(self.config_path), stdout=log, stderr=log
            )
            assert await check.wait() == 0, self.log_path.read_text()
            self._process = await asyncio.create_subprocess_exec(
                binary, "-db", "-f", str(self.config_path), stdout=log, stderr=log
            )
        await wait_for(self._answers, timeout=START_TIMEOUT, interval=0.1,
                       message=f"haproxy on {self.port} to answer /healthz")

    async def _answers(self) -> bool:
        if self._process is not None and self._process.returncode is not None:
            raise AssertionError(f"haproxy exited:\n{self.log_path.read_text()[-2000:]}")

        def get() -> bool:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        return await asyncio.to_thread(get)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
