"""Shared fixtures: a real Redis (own, or $COSHOP_TEST_REDIS_URL) and a clean key namespace."""

from __future__ import annotations

import faulthandler
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import redis

REDIS_URL_ENV = "COSHOP_TEST_REDIS_URL"
_START_TIMEOUT = 10.0
# A test (with its teardown) still running this long after its pytest-timeout is hung beyond
# what pytest-timeout can interrupt; see pytest_runtest_protocol.
_HARD_LIMIT_GRACE_S = float(os.environ.get("COSHOP_TEST_HANG_GRACE_S", "60"))


def _timeout_of(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or 0)


HANG_REPORT = Path(os.environ.get(
    "COSHOP_TEST_HANG_REPORT", Path(__file__).parent.parent / "artifacts" / "hung-test.txt"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    """End the whole run, with every thread's stack, if one test hangs past any interruption.

    pytest-timeout interrupts from a SIGALRM handler; when the hang is where no Python handler
    gets to raise (uvloop logs what a signal handler raises; an event loop's teardown waiting on
    a thread that never ends, as an aiortc decoder thread left behind by a failed test once did)
    the run would sit until CI's own limit, saying nothing. faulthandler's watchdog thread
    writes the test's name and every thread's stack to ``HANG_REPORT`` and exits instead
    (pytest captures stderr, and an exit loses what it captured); tests/run.sh prints it.
    """
    limit = _timeout_of(item)
    if limit <= 0:
        yield
        return
    HANG_REPORT.parent.mkdir(exist_ok=True)
    with HANG_REPORT.open("w") as report:
        report.write(f"{item.nodeid} ran past its {limit:.0f} s timeout + "
                     f"{_HARD_LIMIT_GRACE_S:.0f} s; the run was ended. Every thread:\n")
        report.flush()
        _watchdog[:] = [report, limit + _HARD_LIMIT_GRACE_S]
        _arm_watchdog()
        try:
            yield
        finally:
            _watchdog.clear()
            faulthandler.cancel_dump_traceback_later()
    HANG_REPORT.unlink()


#: The running test's hang report and watchdog delay, while one runs.
_watchdog: list[Any] = []


def _arm_watchdog() -> None:
    if _watchdog:
        report, seconds = _watchdog
        faulthandler.dump_traceback_later(seconds, exit=True, file=report)


@pytest.hookimpl(trylast=True)
def pytest_exception_interact() -> None:
    """Arm the watchdog again: pytest's faulthandler plugin cancels it whenever a test fails,
    and a teardown after a failure (an event loop's close waiting on what the failed test left
    behind) is where a hang is likeliest. It gets the whole delay again from here."""
    _arm_watchdog()


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
