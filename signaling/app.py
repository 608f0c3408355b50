"""The aiohttp application of one node: routes, and the Node's life in a cleanup context."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

import web_client
from rooms.catalog import SAMPLE_DIR
from signaling import api, health, recording_api, webhooks_api, whip, ws
from signaling.keys import NODE, SETTINGS
from signaling.node import SAMPLE_IMAGE_BASE, Node
from signaling.settings import Settings
from signaling.static import StaticFiles

log = logging.getLogger(__name__)

WEB_CLIENT_DIR = Path(web_client.__file__).resolve().parent


def create_app(settings: Settings) -> web.Application:
    """A ready-to-run application; the store and SFU open on startup and close on cleanup."""
    app = web.Application(middlewares=[api.error_middleware], client_max_size=1024**2)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_node_context)
    app.cleanup_ctx.append(_whip_context)  # after the node: its sessions end first
    app.on_response_prepare.append(whip.cors_headers)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/ws", ws.websocket)
    app.router.add_get("/rooms/{room_id}/ws", ws.websocket)
    app.router.add_get("/relay/{room_id}/ws", _relay)  # other nodes only (node credential)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", health.metrics)
    app.router.add_routes(api.routes)
    app.router.add_routes(webhooks_api.routes)
    app.router.add_routes(whip.routes)
    app.router.add_routes(recording_api.routes)
    app.router.add_get("/", _index)
    app.router.add_get("/r/{room_id}", _index)  # invite links; the client reads the room id
    app.router.add_get("/live/{room_id}", _live)  # a live room's page (viewers, host)
    app.router.add_get("/static/{name}", StaticFiles(WEB_CLIENT_DIR).handle)
    app.router.add_get(
        f"{SAMPLE_IMAGE_BASE}/images/{{name}}", StaticFiles(SAMPLE_DIR / "images").handle
    )
    return app


async def _node_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    node = await Node.open(settings)
    app[NODE] = node
    log.info("node %s up (store: %s, demo mode: %s)", settings.node_id, settings.store_kind,
             settings.demo_mode)
    try:
        yield
    finally:
        await node.close()
        log.info("node %s closed", settings.node_id)


async def _whip_context(app: web.Application) -> AsyncIterator[None]:
    app[whip.WHIP] = ingests = whip.Ingests(app[NODE])
    app[NODE].other_seats = ingests.seat_holders
    try:
        yield
    finally:
        await ingests.close()


async def _close_sockets(app: web.Application) -> None:
    # on_shutdown runs before the server stops waiting for handlers: close sockets gracefully.
    await app[NODE].close_sessions("server shutting down")
    await app[NODE].origin_links.close()


async def _relay(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    return await node.origin_links.serve(node, request)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_CLIENT_DIR / "index.html")


async def _live(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_CLIENT_DIR / "live.html")
