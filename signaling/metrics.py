"""A node's Prometheus metrics: its own registry, histograms, and a collector of live state.

Every node has its own ``CollectorRegistry`` (never prometheus-client's global one), so
several apps in one process (the tests) never share or collide. Levels and totals that the
node already keeps (sockets, rooms, SFU traffic) are read when scraped by ``NodeCollector``;
durations are observed into histograms as they happen. README.md lists every metric.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import psutil
from prometheus_client import CollectorRegistry, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from sfu.traffic import TRAFFIC_FIELDS, Traffic
from signaling.loop_lag import LoopLagMonitor

if TYPE_CHECKING:
    from signaling.node import Node

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""``generate_latest`` writes the classic text format, whatever prometheus-client's latest is."""

#: Signaling round trips on a LAN or loopback take milliseconds; a slow store, seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Media starts after ICE + DTLS and, for video, a keyframe: tenths of a second to seconds.
FIRST_PACKET_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)
#: A healthy loop wakes within a millisecond; 100 ms is felt by every socket.
LOOP_LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

#: Meaning of each SFU traffic figure (sfu.traffic.Traffic), for HELP texts.
TRAFFIC_HELP = {
    "packets_in": "RTP packets received from publishers (RTX unwrapped)",
    "bytes_in": "RTP payload bytes received from publishers",
    "packets_out": "RTP packets forwarded to subscribers",
    "bytes_out": "RTP bytes forwarded to subscribers (headers included, before SRTP)",
    "nacks_received": "Sequence numbers NACKed by subscribers",
    "retransmissions": "Packets retransmitted (RTX) for subscribers' NACKs",
    "retransmissions_refused": "NACKed packets not re-sent: asked again within 50 ms, or over "
    "the subscriber's RTX budget (COSHOP_RTX_SHARE)",
    "plis_received": "PLI/FIR keyframe requests from subscribers",
    "keyframe_requests": "Keyframes wanted for a track, before throttling",
    "plis_sent": "PLIs sent to publishers, after throttling",
    "nacks_sent": "Sequence numbers the SFU NACKed to publishers (its own loss repair)",
    "unrepaired": "Upstream holes given up on (subscribers restarted at a keyframe)",
    "repaired_late": "Upstream holes repaired only after asking more than once",
    "layer_drops": "VP8 packets not sent to a subscriber: their temporal layer is above the "
    "one its downlink and tiles allow",
    "copy_failures": "Copies to a subscriber whose forwarding raised an error (a bug or a socket "
    "failure; the first per subscriber is logged with its traceback)",
    "bytes_in_layer1": "Payload bytes received in VP8 temporal layer 1 (of bytes_in)",
    "bytes_in_layer2": "Payload bytes received in VP8 temporal layer 2 (of bytes_in)",
}


@dataclass
class Counters:
    """Monotonic counters the signaling layer keeps itself (plain ints: read when scraped)."""

    ws_opened: int = 0
    messages_received: int = 0
    messages_sent: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    #: ``redirect`` messages sent, by reason (placement, draining, moved).
    redirects: Counter[str] = field(default_factory=Counter)


class NodeMetrics:
    """The registry behind one node's ``/metrics``, and what it observes as it happens."""

    def __init__(self, node: Node) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.join_seconds = Histogram(
            "coshop_join_seconds",
            "From a join message received to joined sent (the first offer is made before it).",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.offer_answer_seconds = Histogram(
            "coshop_offer_answer_seconds",
            "From an SDP offer sent to its answer applied.",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.first_packet_seconds = Histogram(
            "coshop_sfu_first_packet_seconds",
            "From a subscription asked for to its first packet forwarded, by kind.",
            ["kind"], buckets=FIRST_PACKET_BUCKETS, registry=r,
        )
        self.loop_lag_last = Gauge(
            "coshop_event_loop_lag_seconds",
            "How late the latest periodic event-loop probe woke up.",
            registry=r,
        )
        self.loop_lag_seconds = Histogram(
            "coshop_event_loop_lag_distribution_seconds",
            "How late each periodic event-loop probe woke up.",
            buckets=LOOP_LAG_BUCKETS, registry=r,
        )
        self.loop_lag = LoopLagMonitor(self._observe_lag)
        if os.path.exists("/proc/self/stat"):
            ProcessCollector(registry=r)  # process_* from /proc: CPU, RSS, fds, start time
        else:
            r.register(_PsutilProcessCollector())
        r.register(NodeCollector(node))

    def _observe_lag(self, seconds: float) -> None:
        self.loop_lag_last.set(seconds)
        self.loop_lag_seconds.observe(seconds)

    def observe_first_forward(self, kind: str, seconds: float) -> None:
        """The SFU forwarded a new subscription's first packet (SFU.on_first_forward)."""
        self.first_packet_seconds.labels(kind=kind).observe(seconds)

    def start(self) -> None:
        """Start the event-loop lag probe (owned: ``close`` stops it)."""
        self.loop_lag.start()

    async def close(self) -> None:
        """Stop the probe (idempotent)."""
        await self.loop_lag.close()

    def exposition(self) -> bytes:
        """Everything in the text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)


class NodeCollector(Collector):
    """Levels and totals of a node read at scrape time: sockets, rooms, SFU traffic.

    Per-room and per-track families list only the rooms this node's SFU serves now: a room's
    label sets go when the room ends (its figures stay in the node's ``coshop_sfu_*_total``).
    """

    def __init__(self, node: Node) -> None:
        self._node = node

    def collect(self) -> Iterator[Metric]:
        node = self._node
        c = node.counters
        info = GaugeMetricFamily(
            "coshop_node_info", "This node's identity (value is always 1).",
            labels=["node_id", "store"],
        )
        info.add_metric([node.settings.node_id, node.settings.store_kind], 1)
        yield info
        yield GaugeMetricFamily("coshop_rooms", "Rooms with at least one socket on this node.",
                                value=len(node.hubs.room_ids()))
        yield GaugeMetricFamily("coshop_participants", "Sockets on this node that are in a room.",
                                value=len(node.joined_sessions()))
        yield GaugeMetricFamily("coshop_ws_connections", "Open WebSocket connections.",
                                value=len(node.sessions))
        yield CounterMetricFamily("coshop_ws_connections", "WebSocket connections accepted.",
                                  value=c.ws_opened)
        yield CounterMetricFamily("coshop_ws_messages_received", "Client frames received.",
                                  value=c.messages_received)
        yield CounterMetricFamily("coshop_ws_messages_sent", "Server messages sent.",
                                  value=c.messages_sent)
        errors = CounterMetricFamily("coshop_ws_errors", "Error messages sent, by code.",
                                     labels=["code"])
        for code, n in sorted(c.errors.items()):
            errors.add_metric([str(code)], n)
        yield errors
        redirects = CounterMetricFamily(
            "coshop_redirects", "Redirect messages sent (to the room's node), by reason.",
            labels=["reason"],
        )
        for reason in ("placement", "draining", "moved"):
            redirects.add_metric([reason], c.redirects[reason])
        yield redirects
        yield GaugeMetricFamily("coshop_draining", "1 while this node drains, else 0.",
                                value=int(self._node.placement.draining))
        yield GaugeMetricFamily(
            "coshop_edge_relays", "Live rooms this node relays from their origin (an edge).",
            value=len(node.edge_relays.relays))
        yield GaugeMetricFamily(
            "coshop_origin_relays", "Edge relays this node serves as a live room's origin.",
            value=len(node.origin_links))
        yield GaugeMetricFamily("coshop_asyncio_tasks", "Tasks alive on this node's event loop.",
                                value=_task_count())
        yield from self._sfu()

    def _sfu(self) -> Iterator[Metric]:
        sfu = self._node.sfu
        rooms = sorted(sfu.rooms.items())
        stats = sfu.stats()
        for key in ("rooms", "peers", "subscriptions"):
            yield GaugeMetricFamily(f"coshop_sfu_{key}", f"SFU {key} now.", value=stats[key])
        for key in TRAFFIC_FIELDS:
            yield CounterMetricFamily(f"coshop_sfu_{key}", f"{TRAFFIC_HELP[key]}, since start.",
                                      value=stats[key])
        timing = sfu.fanout_timing
        yield HistogramMetricFamily(
            "coshop_sfu_fanout_seconds",
            "From an incoming packet's hand-over by the receive path (SRTP already removed) to "
            "its last copy written to a subscriber's socket. Waiting before that (socket, "
            "loop) is coshop_event_loop_lag_seconds.",
            buckets=[(_bound(b), n) for b, n in timing.cumulative()],
            sum_value=timing.total,
        )
        yield GaugeMetricFamily(
            "coshop_sfu_send_cost_seconds",
            "Loop time one forwarded copy takes on this node (moving average); the keyframe "
            "pacer reserves a keyframe's packets x subscribers x this.",
            value=timing.send_cost,
        )

        room_peers = GaugeMetricFamily("coshop_room_peers", "Peer connections of a media room.",
                                       labels=["room"])
        room_subs = GaugeMetricFamily("coshop_room_subscriptions",
                                      "Active subscriptions in a media room.", labels=["room"])
        per_room = {
            key: CounterMetricFamily(f"coshop_room_{key}", f"{TRAFFIC_HELP[key]}, by room.",
                                     labels=["room"])
            for key in TRAFFIC_FIELDS
        }
        per_track = {
            key: CounterMetricFamily(
                f"coshop_track_{key}", f"{TRAFFIC_HELP[key]}, by published track.",
                labels=["room", "participant", "kind"],
            )
            for key in TRAFFIC_FIELDS
        }
        for room_id, room in rooms:
            peers = list(room.peers.values())
            room_peers.add_metric([room_id], len(peers))
            room_subs.add_metric([room_id], sum(p.active_subscriptions for p in peers))
            # One pass over the room's sources per scrape: its total is the sum of its tracks.
            total = Traffic()
            for (participant, kind), traffic in sorted(room.traffic_by_track().items()):
                total.add(traffic)
                figures = asdict(traffic)
                for key in TRAFFIC_FIELDS:
                    per_track[key].add_metric([room_id, participant, kind], figures[key])
            figures = asdict(total)
            for key in TRAFFIC_FIELDS:
                per_room[key].add_metric([room_id], figures[key])
        yield room_peers
        yield room_subs
        yield from per_room.values()
        yield from per_track.values()


def _bound(seconds: float) -> str:
    """A bucket's upper bound as Prometheus writes it (``+Inf`` for the last)."""
    return "+Inf" if seconds == float("inf") else repr(seconds)


def _task_count() -> int:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # scraped off the loop (never by the aiohttp handler)
        return 0


class _PsutilProcessCollector(Collector):
    """process_* where /proc is missing (macOS): the names ProcessCollector uses on Linux."""

    def __init__(self) -> None:
        self._process = psutil.Process()

    def collect(self) -> Iterator[Metric]:
        p = self._process
        cpu = p.cpu_times()
        yield CounterMetricFamily("process_cpu_seconds", "Total user and system CPU time.",
                                  value=cpu.user + cpu.system)
        yield GaugeMetricFamily("process_resident_memory_bytes", "Resident memory size.",
                                value=p.memory_info().rss)
        yield GaugeMetricFamily("process_open_fds", "Open file descriptors.",
                                value=p.num_fds())
