"""Shared fixtures: a real Redis (own, or $COSHOP_TEST_REDIS_URL) and a clean key namespace."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import redis

REDIS_URL_ENV = "COSHOP_TEST_REDIS_URL"
_START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis URL: $COSHOP_TEST_REDIS_URL, else a private redis-server stopped at session end."""
    if url := os.environ.get(REDIS_URL_ENV):
        if not _answers_ping(url):
            pytest.fail(f"{REDIS_URL_ENV}={url} does not answer PING", pytrace=False)
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            f"redis-server not found on PATH: install it (apt-get install redis-server, "
            f"or run tests/run.sh) or set {REDIS_URL_ENV}",
            pytrace=False,
        )
    workdir: Path = tmp_path_factory.mktemp("redis")
    port = _free_port()
    log_path = workdir / "redis.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers_ping(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"redis-server on port {port} did not answer PING:\n{log_path.read_text()}",
                    pytrace=False,
                )
            time.sleep(0.05)  # a start-up poll in a sync fixture, not a test wait
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def redis_namespace(redis_url: str) -> Iterator[str]:
    """A key namespace of this test's own (RedisStore(namespace=...)); its keys go at teardown."""
    namespace = f"coshoptest-{uuid.uuid4().hex[:12]}"
    yield namespace
    client = redis.Redis.from_url(redis_url)
    try:
        stale = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if stale:
            client.delete(*stale)
    finally:
        client.close()


# Property-based tests: the same examples on every run and machine (CI is reproducible), no
# per-example deadline (a shared 2-core box is slow at random moments), no example database.
hypothesis.settings.register_profile(
    "coshop", derandomize=True, deadline=None, database=None, print_blob=True
)
hypothesis.settings.load_profile("coshop")
