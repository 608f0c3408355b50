"""Where things are on the page: in the viewport and not covered, side by side, one row."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Locator

# The element's box inside the viewport, and the topmost element at its centre and near each
# edge is the element itself or inside it (not a sheet, toolbar or overlay drawn over it, nor
# cut off by a scrolling panel it sits in: a button half below a panel's edge).
_ON_SCREEN_JS = """
(el) => {
  const r = el.getBoundingClientRect();
  const inside = r.width > 0 && r.height > 0 && r.left >= -0.5 && r.top >= -0.5 &&
    r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5;
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  const dx = r.width * 0.35, dy = r.height * 0.35;
  const points = [[cx, cy], [cx, cy - dy], [cx, cy + dy], [cx - dx, cy], [cx + dx, cy]];
  const tops = points.map(([x, y]) => document.elementFromPoint(x, y));
  const mine = (t) => Boolean(t) && (el === t || el.contains(t));
  const top = tops.find((t) => !mine(t)) || tops[0];
  return {
    inside, uncovered: tops.every(mine),
    box: [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)],
    viewport: [innerWidth, innerHeight], top: top ? top.outerHTML.slice(0, 80) : null,
  };
}
"""


async def on_screen(locator: Locator) -> dict[str, Any]:
    """{inside, uncovered, box, viewport, top} for the first element ``locator`` matches."""
    found: dict[str, Any] = await locator.first.evaluate(_ON_SCREEN_JS)
    return found


async def assert_on_screen(locator: Locator, what: str) -> None:
    """``locator`` is visible without scrolling: inside the viewport and not covered."""
    await locator.first.wait_for(state="visible")
    found = await on_screen(locator)
    assert found["inside"] and found["uncovered"], f"{what} not on screen: {found}"


async def box(locator: Locator) -> dict[str, float]:
    found = await locator.first.bounding_box()
    assert found is not None, "no box: not rendered"
    return found
