"""The load tester's receivers against a real browser, under 2 % loss and 40 ms each way.

``coshop loadtest`` publishers in a room, each receiving the others and repairing video like a
browser (NACK, RTX, PLI, playout model), and a Chromium viewer of the same room, all in the
client namespace behind the user-space router; the server in its own. The tester's freezes
per stream must be within a stated margin of what Chromium's getStats counts in the same run.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.impair.harness import impaired_network, namespaces_available
from tests.impair.link import Conditions

SECONDS = 40.0
# Tester and Chromium freezes per stream per minute may differ by this much (absolute) or by
# half of the larger (relative), whichever is more. Same loss rate, different packets lost:
# a handful of streams over 40 s give counts of a few each, so chance alone moves them by ~2.
MARGIN_PER_MIN = 3.0


@pytest.fixture(autouse=True)
def _namespaces() -> None:
    problem = namespaces_available()
    if problem is not None:
        pytest.fail(f"the impairment harness cannot run here: {problem}", pytrace=False)


@pytest.mark.timeout(300)
async def test_tester_freezes_match_chromium_under_two_percent_loss() -> None:
    conditions = Conditions(loss=0.02, delay=0.04)
    async with impaired_network(conditions) as net:
        proc = await net.spawn(net.client_ns, "-m", "tests.impair.loadtest_viewer", net.url,
                               "--peers", "3", "--seconds", str(SECONDS))
        assert proc.stdout is not None
        lines = [raw.decode().rstrip() async for raw in proc.stdout]
        await proc.wait()
        router = await net.control({})
    result = next((json.loads(ln[7:]) for ln in lines if ln.startswith("result ")), None)
    assert result is not None, "\n".join(lines[-40:])
    load = os.getloadavg()[0]
    chromium, tester = result["chromium"], result["tester"]
    detail = json.dumps({**result, "router": router, "load": load})
    assert len(chromium) == 3 and len(tester) == 6, detail
    # Loss happened, and both repaired: Chromium NACKed, the tester NACKed and got RTX.
    assert sum(s["nacks"] for s in chromium) > 0, detail
    assert sum(r["nacks"] for r in tester) > 0 and sum(r["retransmissions"] for r in tester) > 0
    per_min = 60 / SECONDS
    browser_rate = sum(s["freezes"] for s in chromium) / len(chromium) * per_min
    tester_rate = sum(r["freezes"] for r in tester) / len(tester) * per_min
    margin = max(MARGIN_PER_MIN, 0.5 * max(browser_rate, tester_rate))
    print(f"freezes per stream per minute: tester {tester_rate:.1f}, Chromium {browser_rate:.1f}; "
          f"NACKed per stream: tester {sum(r['nacks'] for r in tester) / len(tester):.0f}, "
          f"Chromium {sum(s['nacks'] for s in chromium) / len(chromium):.0f}; load {load:.2f}")
    assert abs(browser_rate - tester_rate) <= margin, (
        f"freezes per stream per minute: tester {tester_rate:.1f}, Chromium {browser_rate:.1f} "
        f"(margin {margin:.1f}); {detail}"
    )
