"""An impaired network for real calls: namespaces, veth pairs and a user-space router.

    client ns (10.77.0.2) ── veth ── router ns: tests.impair.router ── veth ── server ns (10.77.0.1)

The server namespace runs a real ``coshop serve``; the client namespace runs real aiortc
peers (``tests.impair.clients``); the router process in between drops, delays and
jitters IPv4 in both directions (the kernel here has no netem). The namespaces have no
route anywhere else, so no test traffic can leave them. Needs root (``ip netns``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.impair.link import Conditions

REPO = Path(__file__).resolve().parents[2]
SERVER_IP = "10.77.0.1"
CLIENT_IP = "10.77.0.2"
PORT = 8080
_counter = itertools.count()
CLEAN = Conditions()


def namespaces_available() -> str | None:
    """None if this machine can make network namespaces, else why not."""
    if shutil.which("ip") is None:
        return "no `ip` command"
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"csprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True)
    if made.returncode:
        return f"`ip netns add` failed: {made.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


async def _ip(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {err.decode().strip()}")


@dataclass
class CallResult:
    """What one measured call under one condition gave."""

    label: str
    seconds: float
    streams: list[dict[str, Any]]
    server: dict[str, float]
    router: dict[str, Any]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    notes: list[str] = field(default_factory=list)

    @property
    def decoded_ratio(self) -> float:
        sent = sum(s["sent"] for s in self.streams)
        return sum(s["decoded"] for s in self.streams) / sent if sent else 0.0

    @property
    def freezes(self) -> int:
        return sum(s["freezes"] for s in self.streams)

    @property
    def longest(self) -> float:
        return max((s["longest"] for s in self.streams), default=0.0)

    @property
    def fps(self) -> float:
        """Mean decoded frames per second per received stream."""
        n = len(self.streams) or 1
        return float(sum(s["decoded"] for s in self.streams)) / n / self.seconds

    @property
    def rtx(self) -> int:
        return int(self.server.get("coshop_sfu_retransmissions_total", 0))

    @property
    def rtx_share(self) -> float:
        """Retransmitted packets per forwarded media packet (issue 9: under 10 %)."""
        out = self.server.get("coshop_sfu_packets_out_total", 0)
        return self.rtx / out if out else 0.0

    @property
    def plis(self) -> int:
        return int(self.server.get("coshop_sfu_plis_sent_total", 0))

    @property
    def saturated(self) -> bool:
        """The machine was busier than its cores: figures then say little about coshop."""
        cores = os.cpu_count() or 1
        return max(self.load_before[0], self.load_after[0]) > cores


class ImpairedNetwork:
    """Three namespaces and the router between them; ``close`` removes everything."""

    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}x{next(_counter)}"
        self.server_ns, self.client_ns, self.router_ns = (f"cs{r}{tag}" for r in "scr")
        self._ifs = {r: f"ve{r}{tag}" for r in ("s", "a", "c", "b")}
        self._dir = Path(tempfile.mkdtemp(prefix="coshop-impair-"))
        self._control = self._dir / "router.sock"
        self.server_log = self._dir / "server.log"
        self._procs: list[asyncio.subprocess.Process] = []
        self._made: list[str] = []
        self.url = f"http://{SERVER_IP}:{PORT}"

    async def start(self, conditions: Conditions = CLEAN) -> None:
        for ns in (self.server_ns, self.client_ns, self.router_ns):
            await _ip("netns", "add", ns)
            self._made.append(ns)
            await _ip("-n", ns, "link", "set", "lo", "up")
        i = self._ifs
        for end, ns, peer, addr in (
            (i["s"], self.server_ns, i["a"], SERVER_IP),
            (i["c"], self.client_ns, i["b"], CLIENT_IP),
        ):
            await _ip(
                "link",
                "add",
                end,
                "netns",
                ns,
                "type",
                "veth",
                "peer",
                "name",
                peer,
                "netns",
                self.router_ns,
            )
            await _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", end)
            await _ip("-n", ns, "link", "set", end, "up")
            await _ip("-n", self.router_ns, "link", "set", peer, "up")
            await self._python(ns, "-c", _OFFLOADS_OFF.format(end), wait=True)
        self._router = await self._python(
            self.router_ns,
            "-m",
            "tests.impair.router",
            i["a"],
            i["b"],
            str(self._control),
            "--loss",
            str(conditions.loss),
            "--delay",
            str(conditions.delay),
            "--jitter",
            str(conditions.jitter),
        )
        assert self._router.stdout is not None
        line = await asyncio.wait_for(self._router.stdout.readline(), 10)
        if line.strip() != b"ready":
            raise RuntimeError(f"router did not start: {line!r}")

    @property
    def from_server(self) -> str:
        """The router's interface that frames from the server arrive on (for ``only``)."""
        return self._ifs["a"]

    async def spawn(self, ns: str, *args: str) -> asyncio.subprocess.Process:
        """A Python process in namespace ``ns`` (stdout piped, stopped by ``close``)."""
        return await self._python(ns, *args)

    async def _python(self, ns: str, *args: str, wait: bool = False) -> asyncio.subprocess.Process:
        return await self._exec(ns, [sys.executable, *args], wait=wait)

    async def _exec(
        self, ns: str, argv: Sequence[str], *, wait: bool = False
    ) -> asyncio.subprocess.Process:
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        proc = await asyncio.create_subprocess_exec(
            "ip",
            "netns",
            "exec",
            ns,
            *argv,
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        if wait:
            out, _ = await proc.communicate()
            if proc.returncode:
                raise RuntimeError(f"{argv} in {ns}: {out.decode()}")
        else:
            self._procs.append(proc)
        return proc

    async def control(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request to the router (see tests.impair.router); its counters."""
        reader, writer = await asyncio.open_unix_connection(str(self._control))
        try:
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            reply: dict[str, Any] = json.loads(await reader.readline())
            return reply
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def set_conditions(self, conditions: Conditions) -> None:
        await self.control(
            {"loss": conditions.loss, "delay": conditions.delay, "jitter": conditions.jitter}
        )

    async def start_server(self, log_level: str = "WARNING") -> None:
        """A real ``coshop serve`` in the server namespace, logging to ``server_log``."""
        coshop = Path(sys.executable).with_name("coshop")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with self.server_log.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                "ip",
                "netns",
                "exec",
                self.server_ns,
                str(coshop),
                "serve",
                "--host",
                SERVER_IP,
                "--port",
                str(PORT),
                "--log-level",
                log_level,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        self._procs.append(proc)

    async def call(
        self,
        label: str,
        *,
        publishers: int = 2,
        viewers: int = 2,
        duration: float = 20.0,
        conditions: Conditions | None = None,
        blackout_after: float | None = None,
        blackout: float = 0.0,
        renack: float = 0.0,
        browsers: int = 0,
    ) -> CallResult:
        """Run one call from the client namespace and measure it.

        The call is set up under the network's current conditions; ``conditions`` (if
        given) apply once every receiver decodes every publisher, for the measurement.
        ``renack`` > 0 makes the receivers re-send NACKs that often, as browsers do.
        ``browsers``: Chromium pages on the web client that join and are measured too.
        """
        proc = await self._python(
            self.client_ns,
            "-m",
            "tests.impair.clients",
            self.url,
            "--publishers",
            str(publishers),
            "--viewers",
            str(viewers),
            "--duration",
            str(duration),
            "--browsers",
            str(browsers),
            "--renack",
            str(renack),
        )
        assert proc.stdout is not None
        load_before = os.getloadavg()
        router_before = await self.control({})
        output: list[str] = []
        result: dict[str, Any] | None = None
        async with asyncio.timeout(duration + 90):
            async for raw in proc.stdout:
                line = raw.decode().rstrip()
                if line == "measuring":
                    if conditions is not None:
                        await self.set_conditions(conditions)
                    load_before = os.getloadavg()
                    router_before = await self.control({})
                    if blackout_after is not None:
                        await asyncio.sleep(blackout_after)
                        await self.control({"blackout": blackout})
                elif line.startswith("result "):
                    result = json.loads(line[len("result ") :])
                else:
                    output.append(line)
            await proc.wait()
        self._procs.remove(proc)
        if result is None:
            raise RuntimeError("clients failed:\n" + "\n".join(output[-40:]))
        router_after = await self.control({})
        return CallResult(
            label=label,
            seconds=result["seconds"],
            streams=result["streams"],
            server=result["server"],
            router={k: {n: v[n] - router_before[k][n] for n in v} for k, v in router_after.items()},
            load_before=load_before,
            load_after=os.getloadavg(),
        )

    async def close(self) -> None:
        """Stop every process this network started and delete its namespaces."""
        for proc in self._procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in self._procs:
            try:
                async with asyncio.timeout(5):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self._procs.clear()
        for ns in self._made:
            with contextlib.suppress(RuntimeError):
                await _ip("netns", "del", ns)
        self._made.clear()
        shutil.rmtree(self._dir, ignore_errors=True)


_OFFLOADS_OFF = "from tests.impair.router import disable_offloads; disable_offloads({!r})"


@contextlib.asynccontextmanager
async def impaired_network(conditions: Conditions = CLEAN):  # type: ignore[no-untyped-def]
    """An ImpairedNetwork with a running ``coshop serve``; removed on exit."""
    net = ImpairedNetwork()
    try:
        await net.start(conditions)
        await net.start_server()
        yield net
    finally:
        await net.close()
