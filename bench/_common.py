"""Helpers shared by the benchmark scripts: a coshop server subprocess and its metrics."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import redis
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    port: int, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``coshop serve`` in its own process (so its CPU time is its own), ready to use."""
    # One node process (the default with a Redis URL would be one per core).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COSHOP_WORKERS": "1", **(env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from signaling.cli import main; raise SystemExit(main())",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "WARNING",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("coshop server did not become healthy within 30 s")


def scrape(url: str) -> dict[str, float]:
    """Unlabelled samples of a Prometheus /metrics page (labelled ones summed by name)."""
    with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
    return out


def scrape_histogram(url: str, name: str) -> list[tuple[float, float]]:
    """A Prometheus histogram's cumulative buckets, (upper bound, count), +Inf last."""
    with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sorted(
        (float(sample.labels["le"]), sample.value)
        for family in text_string_to_metric_families(text)
        if family.name == name
        for sample in family.samples
        if sample.name == name + "_bucket"
    )


def histogram_quantile(
    before: list[tuple[float, float]], after: list[tuple[float, float]], q: float
) -> float | None:
    """The upper bound of the bucket holding quantile ``q`` of what was observed between two
    scrapes of one histogram (None if nothing was)."""
    counts = [(bound, n - dict(before).get(bound, 0.0)) for bound, n in after]
    if not counts or counts[-1][1] <= 0:
        return None
    wanted = q * counts[-1][1]
    return next(bound for bound, n in counts if n >= wanted)


def pick(metrics: dict[str, float], *fragments: str) -> float:
    """The first metric whose name contains every fragment (0 if none)."""
    for name, value in sorted(metrics.items()):
        if all(f in name for f in fragments):
            return value
    return 0.0


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, without persistence; yields its URL
    once it answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found on PATH (apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
        )
        try:
            url = f"redis://127.0.0.1:{port}/0"
            deadline = time.time() + 10
            while True:
                try:
                    redis.Redis.from_url(url).ping()
                    break
                except redis.ConnectionError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            proc.wait()
