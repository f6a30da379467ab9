"""Read use cases: the graph answers the question, the database fills in the records."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.errors import Invalid, NotFound
from app.graph import analytics, export, queries
from app.graph.analytics import Budget
from app.graph.build import KG, Mode
from app.graph.store import GraphStore
from app.repo import relationship_records
from app.settings import Settings


def _ref(kg: KG, node: str) -> dict[str, str]:
    # G's node dict itself: the G.nodes view costs a Python call per lookup, and a chain
    # reply looks up hundreds of actors.
    data = kg.G._node[node]  # type: ignore[attr-defined]
    return {"id": node, "name": data["name"], "kind": data["kind"]}


def _need_actor(kg: KG, actor_id: str) -> None:
    if actor_id not in kg.G:
        raise NotFound(f"No actor has the id {actor_id!r}.")


def _sampled(
    kg: KG, settings: Settings, as_of: str | None, *, signed: bool
) -> tuple[KG, dict[str, Any]]:
    # Louvain, triads, betweenness and PageRank have no incremental form here: past
    # KG_ANALYTICS_SAMPLE_EDGES they run on the graph's busiest core, and the answer says so.
    core, sample = analytics.core_sample(
        kg, max_ties=settings.analytics_sample_edges, as_of=as_of, signed=signed
    )
    return core, {"sampled": sample is not None, "sample": sample}


def _budget(settings: Settings) -> Budget:
    return Budget(settings.max_expansions, settings.query_time_budget_s)


def actor_ties(
    store: GraphStore,
    db: Session | Engine,
    actor_id: str,
    *,
    keep: queries.EdgeFilter,
    direction: queries.Direction | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The actor's ties, each with its counterpart and evidence, in a stable order."""
    with store.read() as kg:
        _need_actor(kg, actor_id)
        found = queries.ties(kg, actor_id, keep=keep, direction=direction)
        page = found[offset : offset + limit]
        refs = {c: _ref(kg, c) for _, c, _ in page}
    records = relationship_records(db, [rid for rid, _, _ in page])
    items = [
        {**records[rid], "counterpart": refs[c], "direction": d}
        for rid, c, d in page
        if rid in records
    ]
    return {"items": items, "total": len(found), "limit": limit, "offset": offset}


def actor_neighbourhood(
    store: GraphStore,
    db: Session | Engine,
    settings: Settings,
    actor_id: str,
    *,
    depth: int,
    keep: queries.EdgeFilter,
) -> dict[str, Any]:
    """Actors and relationships within ``depth`` hops, capped at the node limit."""
    with store.read() as kg:
        _need_actor(kg, actor_id)
        hood = queries.neighbourhood(
            kg,
            actor_id,
            depth=depth,
            keep=keep,
            max_nodes=settings.max_nodes,
            max_edges=settings.max_edges,
        )
        nodes = [_ref(kg, n) for n in hood.nodes]
    records = relationship_records(db, hood.edges)
    return {
        "center": actor_id,
        "depth": depth,
        "nodes": nodes,
        "edges": [records[r] for r in hood.edges if r in records],
        "truncated": hood.truncated,
    }


def find_paths(
    store: GraphStore,
    db: Session | Engine,
    settings: Settings,
    *,
    source: str,
    target: str,
    mode: Mode,
    k: int,
    max_hops: int,
    keep: queries.EdgeFilter,
    weight: str | None,
) -> dict[str, Any]:
    """Up to ``k`` shortest paths, each hop with its relationship and evidence."""
    with store.read() as kg:
        _need_actor(kg, source)
        _need_actor(kg, target)
        result = queries.k_shortest_paths(
            kg,
            source,
            target,
            mode=mode,
            k=k,
            max_hops=max_hops,
            keep=keep,
            budget=_budget(settings),
            weight="confidence" if weight else None,
            max_region=settings.max_nodes,
        )
    records = relationship_records(db, [r for p in result.paths for r in p.rels])
    items = []
    for p in result.paths:
        if any(r not in records for r in p.rels):
            continue
        hops = [
            {"from": a, "to": b, "relationship": records[r]}
            for (a, b), r in zip(pairwise(p.nodes), p.rels, strict=True)
        ]
        items.append({"length": len(p.rels), "nodes": p.nodes, "hops": hops})
    return {"items": items, "total": len(items), "truncated": result.truncated}


def sponsor_chains(
    store: GraphStore,
    settings: Settings,
    actor_id: str,
    *,
    upward: bool,
    depth: int,
    keep: queries.EdgeFilter,
) -> dict[str, Any]:
    """Proxies (or patrons) of an actor along ``sponsors`` edges, with depth and chain."""
    with store.read() as kg:
        _need_actor(kg, actor_id)
        reached, truncated = queries.sponsor_chains(
            kg,
            actor_id,
            upward=upward,
            depth=depth,
            keep=keep,
            max_nodes=settings.max_nodes,
            budget=_budget(settings),
        )
        nodes = kg.G._node  # type: ignore[attr-defined]
        items = [
            {
                "actor": {"id": r.node, "name": data["name"], "kind": data["kind"]},
                "depth": r.depth,
                "chain": r.chain,
                "relationships": r.rels,
            }
            for r in reached
            for data in (nodes[r.node],)
        ]
    return {"items": items, "total": len(items), "truncated": truncated}


def timeline(
    store: GraphStore, session: Session, actor_id: str, *, limit: int, offset: int
) -> dict[str, Any]:
    """The actor's ties as dated events (began / ended), oldest first; undated starts first.

    Events are ordered from the graph's dates; only the page is read from the database.
    """
    with store.read() as kg:
        _need_actor(kg, actor_id)
        found = queries.ties(kg, actor_id, keep=lambda _d: True)
        events: list[tuple[str, bool, int, str, str, queries.Direction]] = []
        for rid, c, d in found:
            _, _, data = kg.edge(rid)
            events.append((data["vf"] or "", True, rid, "began", c, d))
            if data["vt"]:
                events.append((data["vt"], False, rid, "ended", c, d))
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        page = events[offset : offset + limit]
        refs = {e[4]: _ref(kg, e[4]) for e in page}
        actor = _ref(kg, actor_id)
    records = relationship_records(session, [e[2] for e in page])
    items = [
        {
            "date": date or None,
            "event": event,
            "tie": {**records[rid], "counterpart": refs[c], "direction": d},
        }
        for date, _, rid, event, c, d in page
        if rid in records
    ]
    return {"actor": actor, "items": items, "total": len(events), "limit": limit, "offset": offset}


def graph_diff(store: GraphStore, session: Session, start: str, end: str) -> dict[str, Any]:
    """What began, ended, or flipped polarity between two dates."""
    if end < start:
        raise Invalid(
            "`to` is before `from`.",
            errors=[{"pointer": "/to", "in": "query", "message": "must not be before `from`"}],
        )
    with store.read() as kg:
        d = queries.diff(kg, start, end)
    records = relationship_records(
        session, d.began + d.ended + [r for *_, rels in d.polarity_changed for r in rels]
    )
    sign = {1: "positive", -1: "negative"}
    return {
        "from": start,
        "to": end,
        "began": [records[r] for r in d.began if r in records],
        "ended": [records[r] for r in d.ended if r in records],
        "polarity_changed": [
            {
                "actors": [u, v],
                "before": sign[b],
                "after": sign[a],
                "relationships": [records[r] for r in rels if r in records],
            }
            for u, v, b, a, rels in d.polarity_changed
        ],
    }


class AnalyticsCache:
    """Analytics per (revision, question): recomputed only after the graph changes."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._data: dict[tuple[Any, ...], dict[str, Any]] = {}

    def get_or_compute(
        self, key: tuple[Any, ...], compute: Any, *, keep: Any = None
    ) -> dict[str, Any]:
        """The cached answer to ``key``, else ``compute()``; kept unless ``keep(answer)`` is
        false (an answer cut short by a time budget depends on the moment, not the graph)."""
        with self._lock:
            if key in self._data:
                return self._data[key]
        value: dict[str, Any] = compute()
        if keep is not None and not keep(value):
            return value
        with self._lock:
            if len(self._data) >= self._size:
                self._data.pop(next(iter(self._data)))
            self._data[key] = value
        return value


def blocs(
    store: GraphStore,
    session: Session,
    settings: Settings,
    cache: AnalyticsCache,
    as_of: str | None,
) -> dict[str, Any]:
    """Alliance blocs of the signed graph with the ties that cross them."""

    def compute(kg: KG) -> dict[str, Any]:
        core, sample = _sampled(kg, settings, as_of, signed=True)
        return {**analytics.blocs(core, as_of=as_of), **sample}

    with store.read() as kg:
        revision = store.revision
        result = cache.get_or_compute(("blocs", revision, as_of), lambda: compute(kg))
    records = relationship_records(session, result["crossing"])
    return {
        "items": result["items"],
        "crossing": [records[r] for r in result["crossing"] if r in records],
        "frustrated": result["frustrated"],
        "frustration": result["frustration"],
        "sampled": result["sampled"],
        "sample": result["sample"],
        "revision": revision,
    }


def balance(
    store: GraphStore,
    session: Session,
    settings: Settings,
    cache: AnalyticsCache,
    *,
    as_of: str | None,
    include_open: bool,
    limit: int,
) -> dict[str, Any]:
    """Triads that break structural balance, with the tie balance theory implies. A complete
    answer is cached per revision; one cut short by the budget is computed again next time."""
    budget = _budget(settings)  # the sampling counts against the time budget too

    def compute(kg: KG) -> dict[str, Any]:
        core, sample = _sampled(kg, settings, as_of, signed=True)
        found = analytics.balance(
            core, as_of=as_of, include_open=include_open, budget=budget, limit=limit
        )
        return {**found, **sample}

    with store.read() as kg:
        result = cache.get_or_compute(
            ("balance", store.revision, as_of, include_open, limit),
            lambda: compute(kg),
            keep=lambda r: not r["truncated"],
        )
    records = relationship_records(
        session, [r for t in result["items"] for r in t["relationships"]]
    )
    items = [
        {**t, "relationships": [records[r] for r in t["relationships"] if r in records]}
        for t in result["items"]
    ]
    return {
        "items": items,
        "total": result["total"],
        "truncated": result["truncated"],
        "sampled": result["sampled"],
        "sample": result["sample"],
    }


def centrality(
    store: GraphStore,
    settings: Settings,
    cache: AnalyticsCache,
    *,
    metric: analytics.Metric,
    top: int,
    as_of: str | None,
) -> dict[str, Any]:
    """The top actors by degree, betweenness or PageRank."""

    def compute(kg: KG) -> dict[str, Any]:
        # Degree is read from the adjacency in one pass: exact at any size.
        core, sample = (
            (kg, {"sampled": False, "sample": None})
            if metric == "degree"
            else _sampled(kg, settings, as_of, signed=False)
        )
        result = analytics.centrality(
            core,
            metric=metric,
            top=settings.max_page_size,
            as_of=as_of,
            sample_above=settings.betweenness_sample_above,
            max_work=settings.betweenness_max_work,
            pagerank_max_work=settings.pagerank_max_work,
        )
        return {**result, **sample, "sampled": result["sampled"] or sample["sampled"]}

    with store.read() as kg:
        revision = store.revision
        result = cache.get_or_compute(("centrality", revision, metric, as_of), lambda: compute(kg))
        items = [
            {"actor": _ref(kg, i["actor"]), "score": i["score"]}
            for i in result["items"][:top]
            if i["actor"] in kg.G
        ]
    return {**result, "items": items, "revision": revision}


def export_graph(
    store: GraphStore, *, fmt: str, as_of: str | None, types: set[str] | None, polarity: str | None
) -> tuple[str, Iterator[bytes]]:
    """A media type and a byte stream of the (filtered) graph in ``fmt``."""
    media_type, writer = export.FORMATS[fmt]
    with store.read() as kg:
        H = export.export_graph(kg, as_of=as_of, types=types, polarity=polarity)
    return media_type, writer(H)
