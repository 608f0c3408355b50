"""``GET /healthz`` (JSON summary) and ``GET /metrics`` (Prometheus) of this node."""

from __future__ import annotations

from aiohttp import web

from signaling.http_models import Health
from signaling.keys import NODE
from signaling.metrics import CONTENT_TYPE


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus what this node serves."""
    node = request.app[NODE]
    draining = node.placement.draining
    health = Health(
        status="draining" if draining else "ok",
        node_id=node.settings.node_id,
        store="memory" if node.settings.redis_url is None else "redis",
        # "down": Redis unreachable (operations answer `unavailable`). Still live: every
        # node shares the one Redis, so taking this one out of rotation would not help.
        store_state=node.presence.state.value,
        rooms=len(node.hubs.room_ids()),
        peers=len(node.joined_sessions()),
        connections=len(node.sessions),
        relays=node.edge_relays.health(),
        relayed_to=len(node.origin_links),
    )
    return web.json_response(health.model_dump(mode="json"), status=503 if draining else 200)


async def metrics(request: web.Request) -> web.Response:
    """The node's metrics in the Prometheus text format (prometheus-client's exposition)."""
    body = request.app[NODE].metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
