"""``coshop serve --workers N``: one node process per core, supervised.

The supervisor opens the shared listening socket (HOST:PORT) and starts N ``coshop serve``
children that all accept on it (inherited descriptor, so the port never goes unanswered while
one restarts) and each on a port of its own (signaling.worker_plan). It restarts a child that
dies (with backoff), forwards SIGTERM/SIGINT to every child (a SIGTERM drains them: their rooms
go to nodes of other machines, if any, as a single node's do) and exits once all are gone.
Children get SIGTERM if the supervisor itself dies (PR_SET_PDEATHSIG), so none is orphaned.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import re
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from signaling.settings import Settings
from signaling.worker_plan import RestartBackoff, WorkerSpec, worker_environment

log = logging.getLogger("coshop.supervisor")

_SERVE = "import sys; from signaling.cli import main; sys.exit(main())"
_READY = re.compile(r"coshop serving on (\S+)")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class WorkerStartFailed(RuntimeError):
    """A worker exited before it ever served: a setting or the machine is wrong, and
    restarting would not help."""


@dataclass(eq=False)
class _Worker:
    spec: WorkerSpec
    process: asyncio.subprocess.Process | None = None
    url: str | None = None
    starts: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def open_listener(host: str, port: int) -> socket.socket:
    """The shared listening socket every worker accepts on. Raises OSError."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.create_server((host, port), family=family, backlog=1024)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Runs the workers of ``specs`` until SIGTERM/SIGINT; ``run`` returns once all exited."""

    def __init__(
        self,
        settings: Settings,
        specs: list[WorkerSpec],
        listener: socket.socket,
        environ: Mapping[str, str],
    ) -> None:
        self._settings = settings
        self._workers = [_Worker(spec) for spec in specs]
        self._listener = listener
        self._environ = environ
        self._stopping = asyncio.Event()
        self._failure: str | None = None

    @property
    def url(self) -> str:
        """The shared address (what a balancer or a browser is given)."""
        port = self._listener.getsockname()[1]
        return self._settings.model_copy(update={"port": port, "public_url": None}).base_url

    async def run(self) -> None:
        """Start the workers, keep them running, and return once all exited after a signal.
        Raises WorkerStartFailed (after stopping the others)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.forward, signum)
        try:
            async with asyncio.TaskGroup() as group:
                for worker in self._workers:
                    group.create_task(self._keep(worker), name=f"worker-{worker.spec.index}")
                group.create_task(self._announce(), name="workers-ready")
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        if self._failure is not None:
            raise WorkerStartFailed(self._failure)

    def forward(self, signum: int) -> None:
        """Stop: send ``signum`` to every worker (SIGTERM drains; a second SIGTERM: at once)."""
        if not self._stopping.is_set():
            log.info("%s: stopping %d workers", signal.Signals(signum).name, len(self._workers))
        self._stopping.set()
        for worker in self._workers:
            if worker.process is not None and worker.process.returncode is None:
                worker.process.send_signal(signum)

    async def _announce(self) -> None:
        waits: list[asyncio.Future[Any]] = [
            asyncio.gather(*(w.ready.wait() for w in self._workers)),
            asyncio.ensure_future(self._stopping.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        if self._stopping.is_set():
            return
        urls = ", ".join(w.url or "?" for w in self._workers)
        print(f"coshop serving on {self.url} (store: {self._settings.store_kind}, workers: "
              f"{len(self._workers)}: {urls})", flush=True)

    async def _keep(self, worker: _Worker) -> None:
        """Run one worker; restart it whenever it dies, until stopping."""
        loop = asyncio.get_running_loop()
        backoff = RestartBackoff()
        while not self._stopping.is_set():
            started = loop.time()
            process = await self._spawn(worker)
            served = await self._watch(worker, process)
            code = await process.wait()
            worker.process = None
            if self._stopping.is_set():
                log.info("worker %d (pid %d) exited (%s)", worker.spec.index, process.pid, code)
                return
            if not served and worker.starts == 1:
                # The others are stopped too (and awaited by their own loops).
                self._failure = f"worker {worker.spec.index} exited with {code} before serving"
                self.forward(signal.SIGTERM)
                return
            delay = backoff.delay(loop.time() - started)
            log.warning("worker %d (pid %d) exited with %s; restarting it in %.1f s",
                        worker.spec.index, process.pid, code, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _spawn(self, worker: _Worker) -> asyncio.subprocess.Process:
        fd = self._listener.fileno()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _SERVE, "serve", "--listen-fd", str(fd),
            env=worker_environment(self._settings, worker.spec, self._environ),
            stdout=asyncio.subprocess.PIPE, pass_fds=(fd,), preexec_fn=_die_with_parent,
        )
        worker.process = process
        worker.starts += 1
        if self._stopping.is_set():  # a signal came while it was starting
            process.send_signal(signal.SIGTERM)
        return process

    async def _watch(self, worker: _Worker, process: asyncio.subprocess.Process) -> bool:
        """Read the worker's stdout to its end; whether it said it serves."""
        assert process.stdout is not None
        served = False
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            match = _READY.match(line)
            if match is not None and not served:
                served = True
                worker.url = match.group(1)
                log.info("worker %d (pid %d) serving on %s", worker.spec.index, process.pid,
                         worker.url)
                worker.ready.set()
            else:
                print(f"worker {worker.spec.index}: {line}", flush=True)
        return served
