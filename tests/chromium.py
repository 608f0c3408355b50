"""How the tests and benchmarks run Debian's Chromium: where it is and with which flags.

No GPU, no sandbox (these machines run as root), no network but the test's own (the
background-networking flags keep it from calling home), and a fake camera and microphone that
need no permission prompt. Playwright drives it through ``executable_path``; its own browser
downloads are never used.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("COSHOP_TEST_CHROMIUM", "/usr/bin/chromium"))

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def chromium_missing() -> str | None:
    """Why Chromium cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: apt-get install chromium (tests/run.sh does)"
    return None
