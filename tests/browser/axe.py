"""axe-core in the browser tests: the npm package, installed once into .cache/ with npm (Node and
npm are on every machine that runs the suite), injected into a page, run there."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_VERSION = "4.14.1"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"axe-core-{AXE_VERSION}"
SCRIPT = CACHE / "node_modules" / "axe-core" / "axe.min.js"
#: Impacts that fail a test (axe's scale: minor, moderate, serious, critical).
FAILING = frozenset({"serious", "critical"})

_RUN_JS = """
async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
  }));
}
"""


@cache
def axe_source() -> str:
    """axe.min.js of the pinned version (``npm install`` into .cache/ the first time)."""
    if not SCRIPT.exists():
        npm = shutil.which("npm")
        assert npm is not None, "npm not found: the accessibility tests install axe-core with it"
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(CACHE),
             f"axe-core@{AXE_VERSION}"],
            check=True, capture_output=True, timeout=300,
        )
    return SCRIPT.read_text()


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(content=axe_source())
    found: list[dict[str, Any]] = await page.evaluate(_RUN_JS)
    return [v for v in found if v["impact"] in FAILING]
