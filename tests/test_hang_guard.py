"""A test that hangs where pytest-timeout cannot interrupt it ends the run, saying where."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent

_HANGS = '''
import signal, time, pytest

@pytest.mark.timeout(1)
def test_hangs_past_its_timeout():
    signal.signal(signal.SIGALRM, lambda *_: None)  # as uvloop swallows pytest-timeout's raise
    time.sleep(60)
'''


def _hang_report(tmp_path: Path, name: str, source: str) -> str:
    """Run ``source`` as test file ``name`` under this suite's conftest (1 s grace): the run
    must fail, ended by the watchdog; its hang report's text."""
    (tmp_path / name).write_text(source)
    report = tmp_path / "hung.txt"
    env = {**os.environ, "COSHOP_TEST_HANG_GRACE_S": "1", "COSHOP_TEST_HANG_REPORT": str(report)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / name)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
    )
    assert run.returncode != 0, run.stdout
    return report.read_text()


def test_a_hang_past_pytest_timeout_ends_the_run_with_every_stack(tmp_path: Path) -> None:
    text = _hang_report(tmp_path, "test_hangs.py", _HANGS)
    assert "test_hangs.py::test_hangs_past_its_timeout ran past its 1 s timeout" in text, text
    assert 'test_hangs.py", line 7 in test_hangs_past_its_timeout' in text, text


_FAILS_THEN_HANGS = '''
import signal, time, pytest

@pytest.fixture
def hangs_in_teardown():
    yield
    signal.signal(signal.SIGALRM, lambda *_: None)  # as uvloop swallows pytest-timeout's raise
    time.sleep(60)

@pytest.mark.timeout(1)
def test_fails_then_hangs(hangs_in_teardown):
    assert False, "a failure first"
'''


def test_a_hang_in_the_teardown_of_a_failed_test_ends_the_run_too(tmp_path: Path) -> None:
    """pytest's faulthandler plugin cancels every watchdog when a test fails (its
    pytest_exception_interact): a teardown hanging after a failure (an event loop's close
    waiting on what the failed test left behind) once sat until CI's own limit."""
    text = _hang_report(tmp_path, "test_fails.py", _FAILS_THEN_HANGS)
    assert "test_fails.py::test_fails_then_hangs ran past its 1 s timeout" in text, text
    assert 'test_fails.py", line 8 in hangs_in_teardown' in text, text
