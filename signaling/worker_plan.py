"""The address plan of ``coshop serve --workers N`` (sans-IO): how many node processes, the port,
public URL and node id of each, the settings each is started with, and how soon a dead one is
restarted.

One Python process is one event loop on one core, so a machine runs one node per core. All of
them accept on the shared ``PORT`` (one listening socket the supervisor opens and hands down),
and each also listens on a port of its own, ``PORT + i``, which is the URL it registers for
placement: a join that lands on a worker whose room lives on another is redirected to that
worker's own URL, exactly as between machines (rooms.placement).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from signaling.settings import ENV_PREFIX, Settings, SettingsError

URL_FIELDS = ("{worker}", "{port}")
"""Placeholders of COSHOP_PUBLIC_URL with several workers: each worker needs a URL of its own."""


def worker_count(settings: Settings, cores: int) -> int:
    """The workers to run: ``settings.workers``, else the machine's ``cores`` with Redis (the
    workers share rooms through it), else 1. Raises SettingsError for several without Redis."""
    count = settings.workers
    if count is None:
        count = max(1, cores) if settings.redis_url is not None else 1
    if count > 1 and settings.redis_url is None:
        raise SettingsError(
            f"{ENV_PREFIX}WORKERS: {count} workers need {ENV_PREFIX}REDIS_URL (the in-memory "
            "store is one process's)"
        )
    return count


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """One worker of the plan."""

    index: int
    """1 ... N."""
    node_id: str
    port: int
    """Its own port (0 = any free one, when the shared port is 0 too)."""
    public_url: str | None
    """The URL it registers (None: http://HOST:its port, as a single node)."""


def plan_workers(settings: Settings, count: int) -> list[WorkerSpec]:
    """The ``count`` workers of a machine whose shared address is ``settings.host:port``.
    Raises SettingsError when they could not have URLs of their own."""
    public = settings.public_url
    if count > 1 and public is not None and not any(f in public for f in URL_FIELDS):
        raise SettingsError(
            f"{ENV_PREFIX}PUBLIC_URL: with {count} workers each needs a URL of its own: put "
            "{worker} (1 ... N) or {port} (PORT+1 ... PORT+N) in it, e.g. "
            "https://w{worker}.shop.example"
        )
    if settings.port and settings.port + count > 65535:
        raise SettingsError(f"{ENV_PREFIX}PORT: PORT+1 ... PORT+{count} must be valid ports")
    specs = []
    for index in range(1, count + 1):
        port = settings.port + index if settings.port else 0
        url = None
        if public is not None:
            url = public.replace("{worker}", str(index)).replace("{port}", str(port))
        specs.append(WorkerSpec(index, f"{settings.node_id}-w{index}", port, url))
    return specs


def worker_environment(
    settings: Settings, spec: WorkerSpec, environ: Mapping[str, str]
) -> dict[str, str]:
    """The environment a worker starts with: ``environ`` without its COSHOP_* variables, plus
    every setting as resolved here (flags included), made the worker's own."""
    env = {k: v for k, v in environ.items() if not k.startswith(ENV_PREFIX)}
    own = {"workers": 1, "node_id": spec.node_id, "port": spec.port,
           "public_url": spec.public_url}
    for name, value in {**settings.model_dump(), **own}.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        env[f"{ENV_PREFIX}{name.upper()}"] = text
    return env


@dataclass(slots=True)
class RestartBackoff:
    """Seconds before restarting a worker that died: ``first``, doubling up to ``longest``
    while it keeps dying young; back to ``first`` once one ran ``healthy_after`` seconds."""

    first: float = 0.5
    longest: float = 30.0
    healthy_after: float = 30.0
    _next: float = 0.0

    def delay(self, uptime: float) -> float:
        """The wait before the next start, after a run of ``uptime`` seconds."""
        if uptime >= self.healthy_after or self._next == 0.0:
            self._next = self.first
        else:
            self._next = min(self.longest, self._next * 2)
        return self._next
