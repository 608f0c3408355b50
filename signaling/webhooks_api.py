"""``GET /api/webhooks/deliveries``: this node's webhook delivery log (signaling.webhooks)."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from signaling.http_models import WebhookDeliveries, WebhookDelivery
from signaling.keys import NODE
from signaling.webhooks import LOG_SIZE

routes = web.RouteTableDef()


@routes.get("/api/webhooks/deliveries")
async def deliveries(request: web.Request) -> web.Response:
    """The latest deliveries, newest first (``?limit=``, default 100)."""
    node = request.app[NODE]
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        raise web.HTTPBadRequest(reason="limit must be an integer") from None
    if not 1 <= limit <= LOG_SIZE:
        raise web.HTTPBadRequest(reason=f"limit must be 1..{LOG_SIZE}")
    items = [
        WebhookDelivery.model_validate({**asdict(d), "status": d.status.value})
        for d in node.webhooks.deliveries(limit)
    ]
    body = WebhookDeliveries(node_id=node.settings.node_id, deliveries=items)
    return web.json_response(body.model_dump(mode="json"))
