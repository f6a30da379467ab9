"""Rows to graph, purely: the in-memory KG and the per-mode adjacency kept beside it.

Each relationship is one edge of ``G`` (a ``MultiDiGraph`` keyed by relationship id) carrying
``type``, ``vf``/``vt`` (partial ISO dates or None) and ``conf``. Beside it, one light index per
walk mode maps a node to ``{relationship id: neighbour}`` for the edges of that mode, so path and
proxy searches walk only their own edges; filtering a view per query measured 40-3,000x slower
(PERF_NOTES), and a second NetworkX graph per mode cost ~400 bytes an edge where this costs ~60.

Memory: edges share one object per distinct value (end ids, types, dates, confidences), so a
million ties read from the database hold ~1M small dicts rather than ~5M strings and floats.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Literal, NamedTuple

import networkx as nx

from app.vocabulary import REL_TYPES, RelType

Adjacency = dict[str, dict[str, dict[int, dict[str, Any]]]]
Mode = Literal["alliance", "proxy", "hostile", "any"]
MODES: tuple[Mode, ...] = ("alliance", "proxy", "hostile", "any")

SIGN: dict[str, int] = {t.value: info.sign for t, info in REL_TYPES.items()}
DIRECTED: dict[str, bool] = {t.value: info.directed for t, info in REL_TYPES.items()}
POLARITY: dict[str, str] = {t.value: info.polarity.value for t, info in REL_TYPES.items()}
_SPONSORS = RelType.sponsors.value


class NodeRow(NamedTuple):
    id: str
    name: str
    kind: str


class EdgeRow(NamedTuple):
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


class ModeIndex:
    """The edges of one walk mode by node: ``adj[node] = {relationship id: neighbour}``."""

    __slots__ = ("adj",)

    def __init__(self) -> None:
        self.adj: dict[str, dict[int, str]] = {}

    def add(self, u: str, v: str, rid: int) -> None:
        nbrs = self.adj.get(u)
        if nbrs is None:
            self.adj[u] = {rid: v}
        else:
            nbrs[rid] = v

    def discard(self, u: str, rid: int) -> None:
        nbrs = self.adj.get(u)
        if nbrs is not None:
            nbrs.pop(rid, None)
            if not nbrs:
                del self.adj[u]

    def has_edge(self, u: str, v: str) -> bool:
        """Whether some edge of this mode leads from ``u`` to ``v``."""
        return any(w == v for w in self.adj.get(u, {}).values())

    def __contains__(self, node: object) -> bool:
        return node in self.adj

    def number_of_edges(self) -> int:
        return sum(len(n) for n in self.adj.values())


class KG:
    """The live graph: ``G`` plus per-mode indexes, updated in place edge by edge.

    ``positive`` and ``negative`` hold their edges under both ends (walked either way);
    ``sponsors`` maps a sponsor to its proxies and ``patrons`` a proxy to its sponsors.
    """

    def __init__(self) -> None:
        self.G: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self.positive = ModeIndex()
        self.negative = ModeIndex()
        self.sponsors = ModeIndex()
        self.patrons = ModeIndex()
        self.ends: dict[int, tuple[str, str]] = {}
        # NetworkX's own adjacency dicts, read directly in hot loops: its public views cost an
        # object per access. Read-only outside this class.
        self.succ: Adjacency = self.G._succ  # type: ignore[attr-defined]
        self.pred: Adjacency = self.G._pred  # type: ignore[attr-defined]
        self._floats: dict[float, float] = {}

    # -- shared values
    def _node_key(self, node_id: str) -> str:
        """The string object ``G`` already keys this node by (added bare if missing)."""
        node_id = sys.intern(node_id)
        if node_id not in self.succ:
            self.G.add_node(node_id)
        return node_id

    def _data(self, row: EdgeRow) -> dict[str, Any]:
        conf = float(row.confidence)
        return {
            "type": sys.intern(row.type),
            "vf": None if row.valid_from is None else sys.intern(row.valid_from),
            "vt": None if row.valid_to is None else sys.intern(row.valid_to),
            "conf": self._floats.setdefault(conf, conf),
        }

    def _changed(self) -> None:
        # Drop any backend conversions NetworkX may have cached for G: edits bypass its API.
        cache = getattr(self.G, "__networkx_cache__", None)
        if cache:
            cache.clear()

    # -- nodes
    def upsert_node(self, row: NodeRow) -> None:
        node_id = sys.intern(row.id)
        attrs = self.G._node.get(node_id)  # type: ignore[attr-defined]
        if attrs is None:
            self.G.add_node(node_id, name=row.name, kind=row.kind)
        else:
            attrs["name"], attrs["kind"] = row.name, row.kind
        self._changed()

    def remove_node(self, node_id: str) -> None:
        if node_id not in self.succ:
            return
        rids = [rid for keyed in self.succ[node_id].values() for rid in keyed]
        rids += [rid for keyed in self.pred[node_id].values() for rid in keyed]
        for rid in rids:
            self.remove_edge(rid)
        self.G.remove_node(node_id)
        for index in (self.positive, self.negative, self.sponsors, self.patrons):
            index.adj.pop(node_id, None)
        self._changed()

    # -- edges
    def upsert_edge(self, row: EdgeRow) -> None:
        old = self.ends.get(row.id)
        if old is not None:
            data = self.succ[old[0]][old[1]][row.id]
            if old == (row.source, row.target) and data["type"] == row.type:
                data.update(self._data(row))
                self._changed()
                return
            self.remove_edge(row.id)
        self._add(row.id, self._node_key(row.source), self._node_key(row.target), self._data(row))
        self._changed()

    def _add(self, rid: int, u: str, v: str, data: dict[str, Any]) -> None:
        keyed = self.succ[u].get(v)
        if keyed is None:
            keyed = self.succ[u][v] = self.pred[v][u] = {}
        keyed[rid] = data
        self.ends[rid] = (u, v)
        rel_type = data["type"]
        sign = SIGN[rel_type]
        if sign:
            index = self.positive if sign > 0 else self.negative
            index.add(u, v, rid)
            index.add(v, u, rid)
        if rel_type == _SPONSORS:
            self.sponsors.add(u, v, rid)
            self.patrons.add(v, u, rid)

    def remove_edge(self, rid: int) -> None:
        ends = self.ends.pop(rid, None)
        if ends is None:
            return
        u, v = ends
        keyed = self.succ[u][v]
        data = keyed.pop(rid)
        if not keyed:
            del self.succ[u][v]
            del self.pred[v][u]
        rel_type = data["type"]
        sign = SIGN[rel_type]
        if sign:
            index = self.positive if sign > 0 else self.negative
            index.discard(u, rid)
            index.discard(v, rid)
        if rel_type == _SPONSORS:
            self.sponsors.discard(u, rid)
            self.patrons.discard(v, rid)
        self._changed()

    def edge(self, rid: int) -> tuple[str, str, dict[str, Any]]:
        u, v = self.ends[rid]
        return u, v, self.succ[u][v][rid]

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
        succ = self.succ
        if mode == "any":
            for adj in (succ, self.pred):
                for v, keyed in adj[node].items():
                    for rid, data in keyed.items():
                        yield v, rid, data
            return
        if mode == "proxy":
            if reverse:
                for rid, v in self.patrons.adj.get(node, {}).items():
                    yield v, rid, succ[v][node][rid]
            else:
                for rid, v in self.sponsors.adj.get(node, {}).items():
                    yield v, rid, succ[node][v][rid]
            return
        index = self.positive if mode == "alliance" else self.negative
        out = succ[node]
        for rid, v in index.adj.get(node, {}).items():
            forward = out.get(v)
            if forward is not None and rid in forward:
                yield v, rid, forward[rid]
            else:
                yield v, rid, succ[v][node][rid]


def build(nodes: Iterable[NodeRow], edges: Iterable[EdgeRow]) -> KG:
    """A KG holding ``nodes`` and ``edges`` (edge ids unique, as the database has them)."""
    kg = KG()
    # A million new containers would trigger the cyclic GC hundreds of times, each pass
    # rescanning everything built so far; none of them can form a cycle.
    enabled = gc.isenabled()
    gc.disable()
    try:
        add_node = kg.G.add_node
        for node_id, name, kind in nodes:
            add_node(sys.intern(node_id), name=name, kind=kind)
        # KG._add inlined: at a million edges the method calls alone cost seconds.
        intern, floats, succ, pred, ends = sys.intern, kg._floats, kg.succ, kg.pred, kg.ends
        pos, neg = kg.positive.adj, kg.negative.adj
        spons, pats = kg.sponsors.adj, kg.patrons.adj
        for rid, s, t, rel_type, vf, vt, conf in edges:
            u, v = intern(s), intern(t)
            if u not in succ:
                kg.G.add_node(u)
            if v not in succ:
                kg.G.add_node(v)
            if rid in ends:
                kg.remove_edge(rid)
            conf = float(conf)
            rel_type = intern(rel_type)
            data = {
                "type": rel_type,
                "vf": None if vf is None else intern(vf),
                "vt": None if vt is None else intern(vt),
                "conf": floats.setdefault(conf, conf),
            }
            keyed = succ[u].get(v)
            if keyed is None:
                keyed = succ[u][v] = pred[v][u] = {}
            keyed[rid] = data
            ends[rid] = (u, v)
            sign = SIGN[rel_type]
            if sign:
                index = pos if sign > 0 else neg
                nbrs = index.get(u)
                if nbrs is None:
                    index[u] = {rid: v}
                else:
                    nbrs[rid] = v
                nbrs = index.get(v)
                if nbrs is None:
                    index[v] = {rid: u}
                else:
                    nbrs[rid] = u
            if rel_type == _SPONSORS:
                nbrs = spons.get(u)
                if nbrs is None:
                    spons[u] = {rid: v}
                else:
                    nbrs[rid] = v
                nbrs = pats.get(v)
                if nbrs is None:
                    pats[v] = {rid: u}
                else:
                    nbrs[rid] = u
    finally:
        if enabled:
            gc.enable()
    return kg
