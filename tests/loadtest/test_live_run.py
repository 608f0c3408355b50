"""``coshop loadtest --kind live`` over an origin and an edge: real redis-server, two real
``coshop serve`` nodes; the viewers that enter through the edge are fed by its relay."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.loadtest.conftest import Server, loadtest, start_server, stop_server
from tests.redis_server import RedisServer

pytestmark = pytest.mark.media


@pytest.fixture
async def two_nodes(tmp_path: Path) -> AsyncIterator[tuple[Server, Server]]:
    redis = RedisServer(tmp_path, aof=False)
    await redis.start()
    nodes: list[Server] = []
    try:
        for name in ("origin", "edge"):
            # Placement by rooms and participants only: the first join pins the room to the
            # node it reached (a start-up's CPU must not decide).
            nodes.append(start_server(tmp_path / f"{name}.log", "--redis-url", redis.url,
                                      "--node-id", name, "--placement-cpu-weight", "0"))
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            stop_server(node)
        await redis.stop()


async def test_a_live_audience_over_an_origin_and_an_edge(
    two_nodes: tuple[Server, Server], tmp_path: Path
) -> None:
    origin, edge = two_nodes
    out = tmp_path / "live.json"
    result = await loadtest(
        "--url", origin.url, "--node", edge.url, "--kind", "live", "--rooms", "1", "--peers",
        "5", "--publishers", "1", "--duration", "6s", "--preset", "180p", "--workers", "1",
        "--fail-if", "latency.p99>10s", "--json", str(out),
    )
    assert result.code == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["scenario"]["kind"] == "live"
    # The publisher reaches its four viewers, audio and video; nobody publishes to it.
    assert report["routes"]["expected"] == 4 * 2
    assert report["routes"]["present"] == report["routes"]["expected"]
    assert report["frames"]["lost"] == 0, result.stdout
    assert report["ttff_ms"]["n"] == 4
    nodes = report["nodes"]
    assert set(nodes) == {origin.url, edge.url}
    # The edge forwarded to its own viewers (its relay fed it); the origin to the rest and
    # to the edge's one relay. How many viewers each node ends up with is placement by load
    # (a viewer entering through the origin may be sent to the edge), so no ratio is fixed.
    assert nodes[edge.url]["packets_out_per_s"] > 0, nodes
    assert nodes[origin.url]["packets_out_per_s"] > 0, nodes
    assert f"node {edge.url}" in result.stdout
