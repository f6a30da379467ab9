"""The live store follows a feed: deltas applied in place, rebuilds built aside and swapped."""

from __future__ import annotations

import threading

from app.graph.build import EdgeRow, NodeRow
from app.graph.store import Delta, GraphStore


class FakeFeed:
    def __init__(self) -> None:
        self.rev = 0
        self.nodes: dict[str, NodeRow] = {}
        self.edges: dict[int, EdgeRow] = {}
        self.log: list[tuple[int, set[str], set[int]]] = []
        self.snapshots = 0

    def write(
        self,
        nodes: list[NodeRow] = (),
        edges: list[EdgeRow] = (),  # type: ignore[assignment]
        drop_edges: list[int] = (),
    ) -> None:  # type: ignore[assignment]
        self.rev += 1
        for n in nodes:
            self.nodes[n.id] = n
        for e in edges:
            self.edges[e.id] = e
        for rid in drop_edges:
            self.edges.pop(rid, None)
        self.log.append((self.rev, {n.id for n in nodes}, {e.id for e in edges} | set(drop_edges)))

    def head(self) -> int:
        return self.rev

    def snapshot(self):  # type: ignore[no-untyped-def]
        self.snapshots += 1
        return self.rev, list(self.nodes.values()), list(self.edges.values())

    def delta(self, since: int, limit: int) -> Delta | None:
        entries = [e for e in self.log if e[0] > since]
        actors = set().union(*(e[1] for e in entries)) if entries else set()
        rels = set().union(*(e[2] for e in entries)) if entries else set()
        if len(actors) + len(rels) > limit:
            return None
        return Delta(
            head=self.rev,
            nodes=[self.nodes[a] for a in actors if a in self.nodes],
            removed_nodes=[a for a in actors if a not in self.nodes],
            edges=[self.edges[r] for r in rels if r in self.edges],
            removed_edges=[r for r in rels if r not in self.edges],
        )


def _n(i: str) -> NodeRow:
    return NodeRow(i, i, "state")


def test_sync_applies_deltas_without_rebuilding() -> None:
    feed = FakeFeed()
    feed.write([_n("a"), _n("b")])
    store = GraphStore(feed)
    store.load()
    feed.write(edges=[EdgeRow(1, "a", "b", "allied_with", None, None, 0.9)])
    assert store.sync() == 2
    assert store.kg.G.has_edge("a", "b", 1)
    assert store.kg.positive.has_edge("a", "b")
    feed.write(drop_edges=[1])
    store.sync()
    assert not store.kg.G.has_edge("a", "b") and not store.kg.positive.has_edge("a", "b")
    assert feed.snapshots == 1


def test_type_change_moves_edge_between_mode_graphs() -> None:
    feed = FakeFeed()
    feed.write([_n("a"), _n("b")], [EdgeRow(1, "a", "b", "allied_with", None, None, 0.9)])
    store = GraphStore(feed)
    store.load()
    feed.write(edges=[EdgeRow(1, "a", "b", "hostile_to", None, None, 0.9)])
    store.sync()
    assert store.kg.negative.has_edge("a", "b") and not store.kg.positive.has_edge("a", "b")


def test_large_delta_falls_back_to_rebuild() -> None:
    feed = FakeFeed()
    store = GraphStore(feed, delta_limit=3)
    store.load()
    feed.write([_n(str(i)) for i in range(10)])
    store.sync()
    assert len(store.kg.G) == 10 and feed.snapshots == 2


def test_readers_never_see_half_applied_change() -> None:
    """A writer adds pairs of edges per revision; readers must always see an even count."""
    feed = FakeFeed()
    feed.write([_n("a"), _n("b")])
    store = GraphStore(feed)
    store.load()
    stop = threading.Event()
    odd: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            with store.read() as kg:
                n = kg.G.number_of_edges()
                if n % 2:
                    odd.append(n)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(0, 400, 2):
        feed.write(
            edges=[
                EdgeRow(i, "a", "b", "allied_with", None, None, 0.9),
                EdgeRow(i + 1, "b", "a", "sponsors", None, None, 0.9),
            ]
        )
        store.sync()
    stop.set()
    for t in threads:
        t.join()
    assert odd == []
    assert store.kg.G.number_of_edges() == 400
