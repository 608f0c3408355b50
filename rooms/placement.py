"""Which node serves a room's media: the node registry and room pins (one node per room).

Several ``coshop serve`` nodes share one Redis; each registers (``beat``) with the URL clients
use to reach it directly and its load. The first join of a room pins it (``pin``) to the
least-loaded live node, atomically; a join that reaches another node is sent there. A pin
moves when its node dies (no beat within the node timeout) or drains, and goes when the
room's last participant on its node leaves (``unpin``).

``LocalPlacement`` is the single node of an in-memory store: every room is its own.
``rooms.redis_placement.RedisPlacement`` is the shared one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class NodeLoad:
    """What a node reports with each beat."""

    rooms: int = 0
    """Media rooms with at least one participant on the node."""
    peers: int = 0
    """Participants whose media the node serves."""
    cpu: float = 0.0
    """Cores of CPU the process used since its previous beat (0.5 = half a core)."""


@dataclass(frozen=True, slots=True)
class NodeEntry:
    """One node as the registry knows it."""

    owner: str
    """The node's incarnation (its presence owner): a restarted node is a new one."""
    node_id: str
    url: str
    """Base URL (http(s)://host:port) clients use to reach this node directly."""
    rooms: int = 0
    peers: int = 0
    cpu: float = 0.0
    draining: bool = False
    beat_ms: int = 0
    """Time of the last beat, milliseconds of the store's clock."""

    @property
    def ws_url(self) -> str:
        """The node's WebSocket endpoint (``/ws``) on its public URL."""
        base = self.url.rstrip("/")
        if base.startswith("https://"):
            return "wss://" + base[len("https://"):] + "/ws"
        if base.startswith("http://"):
            return "ws://" + base[len("http://"):] + "/ws"
        return base + "/ws"

    def room_ws_url(self, room_id: str) -> str:
        """The node's room-fixed WebSocket endpoint (``/rooms/{room_id}/ws``)."""
        return self.ws_url.removesuffix("/ws") + f"/rooms/{room_id}/ws"

    def to_json(self) -> str:
        """The registry's JSON of this entry (without ``owner``, the hash field)."""
        data = asdict(self)
        del data["owner"]
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, owner: str, text: str) -> NodeEntry:
        data: dict[str, Any] = json.loads(text)
        return cls(
            owner=owner,
            node_id=str(data.get("node_id", "")),
            url=str(data.get("url", "")),
            rooms=int(data.get("rooms", 0)),
            peers=int(data.get("peers", 0)),
            cpu=float(data.get("cpu", 0.0)),
            draining=bool(data.get("draining", False)),
            beat_ms=int(data.get("beat_ms", 0)),
        )


VIEWER_MARGIN = 2.0
"""Load score by which another node must beat the one a live room's viewer reached before the
viewer is sent there: without it, viewers would bounce between nodes of about equal load."""


def load_score(node: NodeEntry, cpu_weight: float) -> float:
    """A node's load as placement weighs it: rooms + participants + ``cpu_weight`` x cores
    (the score of rooms/lua/pin_room.lua, from the node's last beat)."""
    return node.rooms + node.peers + cpu_weight * node.cpu


def viewer_node(
    nodes: Sequence[NodeEntry],
    *,
    origin: str,
    asking: str,
    timeout_ms: int,
    cpu_weight: float,
    margin: float = VIEWER_MARGIN,
) -> NodeEntry | None:
    """Which node serves a new viewer of a live room pinned to ``origin``, asked by node
    ``asking``: the live, not draining node with the lowest load score; the asking node itself
    unless another beats it by more than ``margin``. None if no node qualifies. Time is the
    asking node's last beat (the registry's clock). Sans-IO."""
    mine = next((n for n in nodes if n.owner == asking), None)
    now_ms = max((n.beat_ms for n in nodes), default=0) if mine is None else mine.beat_ms
    live = [n for n in nodes if not n.draining and now_ms - n.beat_ms <= timeout_ms]
    if not live:
        return None
    # Ties go to the origin (no relay needed), then to the lowest owner (deterministic).
    best = min(live, key=lambda n: (load_score(n, cpu_weight), n.owner != origin, n.owner))
    if (
        mine is not None
        and mine in live
        and load_score(mine, cpu_weight) <= load_score(best, cpu_weight) + margin
    ):
        return mine
    return best


class PinStatus(Enum):
    """How ``pin`` found the room."""

    KEPT = "kept"
    """Already pinned to a live node that takes rooms."""
    PINNED = "pinned"
    """Not pinned: pinned now to the least-loaded node."""
    MOVED = "moved"
    """Its node died or drains: pinned now to the least-loaded other node."""


@dataclass(frozen=True, slots=True)
class Pin:
    """Where a room's media lives."""

    room_id: str
    node: NodeEntry
    status: PinStatus


class Placement(Protocol):
    """The registry of nodes and the pins of rooms (RedisPlacement, LocalPlacement).

    Shared implementations raise rooms.errors.StoreUnavailable while unreachable.
    """

    @property
    def owner(self) -> str:
        """This node's incarnation, as pins name it."""
        ...

    async def beat(self, url: str, load: NodeLoad, *, draining: bool = False) -> bool:
        """Register (or renew) this node with its public ``url`` and ``load``; ``draining``
        nodes get no new rooms. False if the registry did not hold this node (first beat,
        or forgotten as dead): rooms pinned to it may have moved."""
        ...

    async def pin(self, room_id: str, *, serving: bool = False) -> Pin:
        """The node serving ``room_id``, pinning it first if needed (see PinStatus): to the
        least-loaded live node, or with ``serving`` (this node has the room's media already)
        to this node if it takes rooms. Raises NoNodeAvailable when no live node takes rooms."""
        ...

    async def unpin(self, room_id: str) -> bool:
        """Let ``room_id`` go if it is pinned to this node; whether it was."""
        ...

    async def pinned_to(self, room_ids: Sequence[str]) -> dict[str, str | None]:
        """The owner each room is pinned to now (None: not pinned)."""
        ...

    async def nodes(self) -> list[NodeEntry]:
        """Every registered node (live or not), for /healthz and tests."""
        ...

    async def deregister(self) -> None:
        """Remove this node from the registry (clean shutdown); its pins move at next join."""
        ...

    async def close(self) -> None:
        """Release connections (idempotent)."""
        ...


class LocalPlacement:
    """The only node there is (in-memory store): every room is pinned to it."""

    def __init__(self, node_id: str, url: str = "") -> None:
        self._entry = NodeEntry(owner=node_id, node_id=node_id, url=url)

    @property
    def owner(self) -> str:
        return self._entry.owner

    async def beat(self, url: str, load: NodeLoad, *, draining: bool = False) -> bool:
        held = bool(self._entry.url)
        self._entry = NodeEntry(
            owner=self._entry.owner, node_id=self._entry.node_id, url=url, rooms=load.rooms,
            peers=load.peers, cpu=load.cpu, draining=draining,
        )
        return held

    async def pin(self, room_id: str, *, serving: bool = False) -> Pin:
        return Pin(room_id, self._entry, PinStatus.KEPT)

    async def unpin(self, room_id: str) -> bool:
        return True

    async def pinned_to(self, room_ids: Sequence[str]) -> dict[str, str | None]:
        return dict.fromkeys(room_ids, self._entry.owner)

    async def nodes(self) -> list[NodeEntry]:
        return [self._entry]

    async def deregister(self) -> None:
        return None

    async def close(self) -> None:
        return None
