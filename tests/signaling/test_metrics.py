"""The node's /metrics: its own registry, the loop-lag probe, signaling histograms."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from prometheus_client import REGISTRY

from sfu.traffic import TRAFFIC_FIELDS
from signaling import Settings, create_app
from signaling.keys import NODE
from signaling.loop_lag import LoopLagMonitor
from signaling.metrics import TRAFFIC_HELP
from tests.helpers import wait_for
from tests.scrape import Client, scrape, value
from tests.signaling.wsclient import WsClient

Connect = Callable[..., Awaitable[WsClient]]
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


async def test_each_app_has_its_own_registry(
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    a = await aiohttp_client(create_app(Settings(port=0, node_id="a")))
    b = await aiohttp_client(create_app(Settings(port=0, node_id="b")))
    ws = WsClient(await a.ws_connect("/ws"))
    await ws.join("r", "ann")
    page_a, page_b = await scrape(a), await scrape(b)
    assert value(page_a, "coshop_node_info", node_id="a", store="memory") == 1
    assert value(page_b, "coshop_node_info", node_id="b", store="memory") == 1
    assert value(page_a, "coshop_join_seconds_count") == 1
    assert value(page_b, "coshop_join_seconds_count") == 0
    assert a.app[NODE].metrics.registry is not b.app[NODE].metrics.registry
    # Nothing of ours lands in prometheus-client's process-global registry.
    assert REGISTRY.get_sample_value("coshop_join_seconds_count") is None
    await ws.close()


async def test_loop_lag_is_exported_and_its_probe_is_owned(
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    client = await aiohttp_client(create_app(Settings(port=0, node_id="lag")))
    monitor = client.app[NODE].metrics.loop_lag

    async def probed() -> bool:
        return value(await scrape(client), "coshop_event_loop_lag_distribution_seconds_count") > 0

    await wait_for(probed, timeout=5)
    page = await scrape(client)
    assert value(page, "coshop_event_loop_lag_seconds") >= 0
    assert value(page, "coshop_asyncio_tasks") >= 1
    assert value(page, "process_open_fds") > 0
    assert value(page, "process_cpu_seconds_total") > 0
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "loop-lag"]
    assert len(tasks) == 1
    await client.close()
    assert tasks[0].done()
    assert monitor._task is None


async def test_loop_lag_measures_a_blocked_loop() -> None:
    seen: list[float] = []
    monitor = LoopLagMonitor(seen.append, interval=0.01)
    monitor.start()
    await wait_for(lambda: seen, timeout=2)
    blocked = asyncio.get_running_loop().time() + 0.1
    while asyncio.get_running_loop().time() < blocked:  # hog the loop, as a slow handler would
        pass
    await wait_for(lambda: max(seen) >= 0.05, timeout=2)
    assert monitor.last >= 0
    await monitor.close()
    await monitor.close()  # idempotent


def test_every_traffic_figure_has_help() -> None:
    assert set(TRAFFIC_HELP) == set(TRAFFIC_FIELDS)


async def test_readme_documents_every_exported_metric(client: Client, connect: Connect) -> None:
    ws = await connect()
    await ws.join("doc", "ann")  # a media room and its peer's tracks exist now
    section = README.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"^\| `([a-z_<>]+)` \|", section, flags=re.M))
    documented = {
        n.replace("<figure>", figure) for n in names for figure in TRAFFIC_FIELDS
    }
    page = await scrape(client)
    assert value(page, "coshop_room_peers", room="doc") == 1
    text = await (await client.get("/metrics")).text()
    # Families from their TYPE lines: a labelled family with no child yet has one too.
    exported = {
        re.sub(r"_created$", "", name) for name in re.findall(r"^# TYPE (\S+) ", text, flags=re.M)
    }
    assert exported - documented == set(), "metrics missing from the README's table"
    assert {n for n in documented if n.startswith("coshop_")} - exported == set(), (
        "README documents coshop metrics that are not exported"
    )
