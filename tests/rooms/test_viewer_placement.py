"""Which node serves a live room's new viewer (rooms.placement.viewer_node), sans-IO."""

from __future__ import annotations

from rooms.placement import VIEWER_MARGIN, NodeEntry, load_score, viewer_node

TIMEOUT_MS = 3000


def node(owner: str, *, peers: int = 0, rooms: int = 0, cpu: float = 0.0, beat_ms: int = 10_000,
         draining: bool = False) -> NodeEntry:
    return NodeEntry(owner=owner, node_id=owner, url=f"http://{owner}", rooms=rooms, peers=peers,
                     cpu=cpu, draining=draining, beat_ms=beat_ms)


def place(nodes: list[NodeEntry], asking: str, origin: str = "o") -> str | None:
    chosen = viewer_node(nodes, origin=origin, asking=asking, timeout_ms=TIMEOUT_MS,
                         cpu_weight=10.0)
    return None if chosen is None else chosen.owner


def test_the_node_asked_serves_unless_clearly_busier() -> None:
    nodes = [node("o", rooms=1, peers=5), node("e1", peers=3), node("e2", peers=2)]
    assert place(nodes, "e1") == "e1"  # 3 vs 2: within the margin
    nodes = [node("o", rooms=1, peers=5), node("e1", rooms=1, peers=9), node("e2", peers=2)]
    assert place(nodes, "e1") == "e2"  # 10 vs 2: sent to the least loaded
    assert place(nodes, "o") == "e2"


def test_cpu_counts_as_placement_weighs_it() -> None:
    busy = node("e1", peers=1, cpu=0.9)
    assert load_score(busy, 10.0) == 10.0
    assert place([node("o", peers=4), busy, node("e2", peers=1)], "e1") == "e2"


def test_ties_go_to_the_origin_then_the_lowest_owner() -> None:
    nodes = [node("o"), node("e1"), node("e2")]
    assert place(nodes, "x") == "o"  # the asker is not registered: the best by score
    assert place([node("b"), node("a")], "x", origin="z") == "a"


def test_dead_and_draining_nodes_serve_nobody() -> None:
    nodes = [node("o", peers=50), node("dead", beat_ms=10_000 - TIMEOUT_MS - 1),
             node("drain", draining=True), node("e1", peers=40)]
    assert place(nodes, "o") == "e1"
    assert place([node("drain", draining=True)], "drain") is None


def test_a_draining_asker_sends_the_viewer_on() -> None:
    nodes = [node("o", peers=9), node("e1", draining=True)]
    assert place(nodes, "e1") == "o"


def test_the_margin_keeps_viewers_where_they_arrive() -> None:
    nodes = [node("o", peers=10), node("e1", peers=int(VIEWER_MARGIN) + 1), node("e2", peers=1)]
    assert place(nodes, "e1") == "e1"
    nodes = [node("o", peers=10), node("e1", peers=int(VIEWER_MARGIN) + 2), node("e2", peers=1)]
    assert place(nodes, "e1") == "e2"
