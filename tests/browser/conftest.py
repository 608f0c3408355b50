"""Browser tests: Debian's Chromium driven by Playwright against a coshop node in a subprocess.

Chromium must be installed (tests/run.sh installs it with apt-get, CI included); without it the
tests fail, they are never skipped. Playwright's own browser downloads are not used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from tests.browser.room_page import RoomPage
from tests.browser.server import CoshopServer
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"


DESKTOP = {"width": 1366, "height": 820}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium "
            "(apt-get install chromium, or run bash tests/run.sh, which installs it)",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser(playwright: Playwright, chromium_path: Path) -> AsyncIterator[Browser]:
    # Playwright gives each launch a fresh temporary profile (user data dir) and each context
    # its own cookies and storage: every participant below is a separate "person".
    browser = await playwright.chromium.launch(
        executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    await browser.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CoshopServer]:
    node = CoshopServer(tmp_path_factory.mktemp("coshop"))
    await node.start()
    yield node
    await node.stop()


OpenPage = Callable[..., Awaitable[RoomPage]]


@pytest_asyncio.fixture(loop_scope="module")
async def open_page(browser: Browser, server: CoshopServer) -> AsyncIterator[OpenPage]:
    """Open a page (its own browser context) on the server; closed after the test."""
    contexts: list[BrowserContext] = []

    async def open_(
        path: str = "/", *, viewport: dict[str, int] | None = None, phone: bool = False,
        init_script: str | None = None,
    ) -> RoomPage:
        context = await browser.new_context(
            viewport=viewport or (PHONE if phone else DESKTOP),
            device_scale_factor=2 if phone else 1,
            is_mobile=phone,
            has_touch=phone,
            permissions=["camera", "microphone", "clipboard-read", "clipboard-write"],
        )
        contexts.append(context)
        if init_script:
            await context.add_init_script(init_script)
        page = RoomPage(await context.new_page(), server.url)
        await page.goto(path)
        return page

    yield open_
    for context in contexts:
        await context.close()
