"""``GET /healthz`` (JSON summary) and ``GET /metrics`` (Prometheus) of this node."""

from __future__ import annotations

import asyncio
import time

import psutil
from aiohttp import web

from signaling.http_models import Health
from signaling.keys import NODE
from signaling.metrics import CONTENT_TYPE, Sample, metric_name, render
from signaling.node import Node

_PROCESS = psutil.Process()

#: SFU.stats() keys that are levels; every other key is a monotonic counter.
SFU_GAUGES = frozenset({"rooms", "peers", "subscriptions"})


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus what this node serves."""
    node = request.app[NODE]
    health = Health(
        status="ok",
        node_id=node.settings.node_id,
        store="memory" if node.settings.redis_url is None else "redis",
        # "down": Redis unreachable (operations answer `unavailable`). Still live: every
        # node shares the one Redis, so taking this one out of rotation would not help.
        store_state=node.presence.state.value,
        rooms=len(node.hubs.room_ids()),
        peers=len(node.joined_sessions()),
        connections=len(node.sessions),
    )
    return web.json_response(health.model_dump(mode="json"))


async def metrics(request: web.Request) -> web.Response:
    """The node's metrics in the Prometheus text format."""
    body = render(collect(request.app[NODE]))
    return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})


def collect(node: Node) -> list[Sample]:
    """Every metric family of ``node``, sampled now."""
    c = node.counters
    info = (("node_id", node.settings.node_id), ("store", node.settings.store_kind))
    samples = [
        Sample("coshop_node_info", "This node's identity (value is always 1).", "gauge",
               {info: 1}),
        Sample.single("coshop_rooms", "Rooms with at least one socket on this node.", "gauge",
                      len(node.hubs.room_ids())),
        Sample.single("coshop_participants", "Sockets on this node that are in a room.", "gauge",
                      len(node.joined_sessions())),
        Sample.single("coshop_ws_connections", "Open WebSocket connections.", "gauge",
                      len(node.sessions)),
        Sample.single("coshop_ws_connections_total", "WebSocket connections accepted.",
                      "counter", c.ws_opened),
        Sample.single("coshop_ws_messages_received_total", "Client frames received.", "counter",
                      c.messages_received),
        Sample.single("coshop_ws_messages_sent_total", "Server messages sent.", "counter",
                      c.messages_sent),
        Sample("coshop_ws_errors_total", "Error messages sent, by code.", "counter",
               {(("code", str(code)),): n for code, n in sorted(c.errors.items())}),
    ]
    for key, value in sorted(node.sfu.stats().items()):
        if key in SFU_GAUGES:
            samples.append(Sample.single(metric_name(f"coshop_sfu_{key}"),
                                         f"SFU {key} now.", "gauge", value))
        else:
            samples.append(Sample.single(metric_name(f"coshop_sfu_{key}_total"),
                                         f"SFU {key} since start.", "counter", value))
    samples += [
        Sample.single("process_cpu_seconds_total", "User and system CPU time of this process.",
                      "counter", time.process_time()),
        Sample.single("process_resident_memory_bytes", "Resident set size.", "gauge",
                      _PROCESS.memory_info().rss),
        Sample.single("process_open_fds", "Open file descriptors (sockets included).", "gauge",
                      _PROCESS.num_fds()),
        Sample.single("coshop_asyncio_tasks", "Tasks alive on this node's event loop.", "gauge",
                      len(asyncio.all_tasks())),
    ]
    return samples
