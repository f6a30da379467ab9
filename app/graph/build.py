"""Rows to graph, purely: the in-memory KG and the per-mode adjacency kept beside it.

Each relationship is one edge of ``G`` (a ``MultiDiGraph`` keyed by relationship id) carrying
``type``, ``vf``/``vt`` (partial ISO dates or None) and ``conf``. Per-mode graphs hold the same
keys without data so that path and proxy searches walk only the edges of their mode; filtering a
view per query measured 40-3,000x slower (PERF_NOTES).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from app.vocabulary import REL_TYPES, RelType

Adjacency = dict[str, dict[str, dict[int, dict[str, Any]]]]
KeyAdjacency = dict[str, dict[str, dict[int, Any]]]
Mode = Literal["alliance", "proxy", "hostile", "any"]
MODES: tuple[Mode, ...] = ("alliance", "proxy", "hostile", "any")

SIGN: dict[str, int] = {t.value: info.sign for t, info in REL_TYPES.items()}
DIRECTED: dict[str, bool] = {t.value: info.directed for t, info in REL_TYPES.items()}
POLARITY: dict[str, str] = {t.value: info.polarity.value for t, info in REL_TYPES.items()}


@dataclass(frozen=True, slots=True)
class NodeRow:
    id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class EdgeRow:
    id: int
    source: str
    target: str
    type: str
    valid_from: str | None
    valid_to: str | None
    confidence: float


def holds(data: dict[str, Any], as_of: str | None) -> bool:
    """Whether an edge holds on ``as_of`` (a full ISO date); None means every edge counts.

    Partial dates compare as their first day, which is exactly what comparing the ISO strings
    does: "2024-12" <= "2024-12-01" and "2024-11-30" < "2024-12".
    """
    if as_of is None:
        return True
    vf, vt = data["vf"], data["vt"]
    return (vf is None or vf <= as_of) and (vt is None or as_of < vt)


class KG:
    """The live graph: ``G`` plus per-mode adjacency, updated in place edge by edge."""

    def __init__(self) -> None:
        self.G: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self.positive: nx.MultiGraph[str] = nx.MultiGraph()
        self.negative: nx.MultiGraph[str] = nx.MultiGraph()
        self.sponsors: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self.ends: dict[int, tuple[str, str]] = {}
        # NetworkX's own adjacency dicts, read directly in hot loops: its public views cost an
        # object per access. Read-only outside this class.
        self.succ: Adjacency = self.G._succ  # type: ignore[attr-defined]
        self.pred: Adjacency = self.G._pred  # type: ignore[attr-defined]
        self._positive_adj: KeyAdjacency = self.positive._adj  # type: ignore[attr-defined]
        self._negative_adj: KeyAdjacency = self.negative._adj  # type: ignore[attr-defined]
        self._sponsor_succ: KeyAdjacency = self.sponsors._succ  # type: ignore[attr-defined]
        self._sponsor_pred: KeyAdjacency = self.sponsors._pred  # type: ignore[attr-defined]

    # -- nodes
    def upsert_node(self, row: NodeRow) -> None:
        self.G.add_node(row.id, name=row.name, kind=row.kind)

    def remove_node(self, node_id: str) -> None:
        if node_id not in self.G:
            return
        for rid in [k for _, _, k in self.G.out_edges(node_id, keys=True)] + [
            k for _, _, k in self.G.in_edges(node_id, keys=True)
        ]:
            self.remove_edge(rid)
        self.G.remove_node(node_id)
        for H in (self.positive, self.negative, self.sponsors):
            if node_id in H:
                H.remove_node(node_id)

    # -- edges
    def _mode_graph(self, rel_type: str) -> nx.MultiGraph[str] | None:
        sign = SIGN[rel_type]
        if sign > 0:
            return self.positive
        if sign < 0:
            return self.negative
        return None

    def upsert_edge(self, row: EdgeRow) -> None:
        if row.id in self.ends and self.ends[row.id] != (row.source, row.target):
            self.remove_edge(row.id)
        if row.id in self.ends:
            old_type = self.G.edges[row.source, row.target, row.id]["type"]
            if old_type != row.type:
                self.remove_edge(row.id)
        new = row.id not in self.ends
        self.G.add_edge(
            row.source,
            row.target,
            key=row.id,
            type=row.type,
            vf=row.valid_from,
            vt=row.valid_to,
            conf=row.confidence,
        )
        if new:
            self.ends[row.id] = (row.source, row.target)
            mode_graph = self._mode_graph(row.type)
            if mode_graph is not None:
                mode_graph.add_edge(row.source, row.target, key=row.id)
            if row.type == RelType.sponsors:
                self.sponsors.add_edge(row.source, row.target, key=row.id)

    def remove_edge(self, rid: int) -> None:
        ends = self.ends.pop(rid, None)
        if ends is None:
            return
        u, v = ends
        rel_type = self.G.edges[u, v, rid]["type"]
        self.G.remove_edge(u, v, key=rid)
        mode_graph = self._mode_graph(rel_type)
        if mode_graph is not None:
            mode_graph.remove_edge(u, v, key=rid)
        if rel_type == RelType.sponsors:
            self.sponsors.remove_edge(u, v, key=rid)

    def edge(self, rid: int) -> tuple[str, str, dict[str, Any]]:
        u, v = self.ends[rid]
        return u, v, self.G.edges[u, v, rid]

    def incident(self, node: str) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
        """Every edge touching ``node`` once, as (source, target, id, data)."""
        for v, keyed in self.succ[node].items():
            for rid, data in keyed.items():
                yield node, v, rid, data
        for u, keyed in self.pred[node].items():
            if u == node:
                continue
            for rid, data in keyed.items():
                yield u, node, rid, data

    def neighbours(
        self, mode: Mode, node: str, *, reverse: bool = False
    ) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """(neighbour, relationship id, edge data) pairs a walk in ``mode`` may take from ``node``.

        ``reverse`` walks edges backwards; it only matters for the directed proxy mode.
        """
        if mode == "any":
            for adj in (self.succ, self.pred):
                for v, keyed in adj[node].items():
                    for rid, data in keyed.items():
                        yield v, rid, data
            return
        if mode == "proxy":
            adj = self._sponsor_pred if reverse else self._sponsor_succ
            for v, keyed in adj.get(node, {}).items():
                for rid in keyed:
                    u, w = (v, node) if reverse else (node, v)
                    yield v, rid, self.succ[u][w][rid]
            return
        mode_adj = self._positive_adj if mode == "alliance" else self._negative_adj
        for v, keyed in mode_adj.get(node, {}).items():
            for rid in keyed:
                u, w = self.ends[rid]
                yield v, rid, self.succ[u][w][rid]


def build(nodes: Iterable[NodeRow], edges: Iterable[EdgeRow]) -> KG:
    """A KG holding ``nodes`` and ``edges``."""
    kg = KG()
    for n in nodes:
        kg.upsert_node(n)
    for e in edges:
        kg.upsert_edge(e)
    return kg
