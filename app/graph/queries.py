"""Traversals over the KG: ties, neighbourhoods, paths, proxy chains, and change over time.

Every function takes the KG first, checks its inputs before work and is bounded: by depth, node
count, and a ``Budget`` of expansions and seconds that the search itself spends, so that a dense
cluster cannot hold a worker however the results fall.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import networkx as nx

from app.graph.analytics import Budget, BudgetExceeded
from app.graph.build import DIRECTED, KG, POLARITY, SIGN, Mode, holds

Direction = Literal["out", "in", "both"]
EdgeFilter = Callable[[dict[str, Any]], bool]


class UnknownNode(KeyError):
    """An actor id the graph does not hold."""


def _need(kg: KG, *nodes: str) -> None:
    for n in nodes:
        if n not in kg.G:
            raise UnknownNode(n)


def edge_filter(
    *,
    as_of: str | None = None,
    types: set[str] | None = None,
    polarity: str | None = None,
    min_confidence: float | None = None,
) -> EdgeFilter:
    """A predicate on edge data combining the usual query filters (``keep_all`` for none)."""
    if as_of is None and types is None and polarity is None and min_confidence is None:
        return keep_all

    def keep(data: dict[str, Any]) -> bool:
        return (
            (types is None or data["type"] in types)
            and (polarity is None or POLARITY[data["type"]] == polarity)
            and (min_confidence is None or data["conf"] >= min_confidence)
            and holds(data, as_of)
        )

    return keep


def keep_all(data: dict[str, Any]) -> bool:
    """The filter that admits every edge; walks that see it skip reading edge data."""
    return True


def ties(
    kg: KG, node: str, *, keep: EdgeFilter, direction: Direction | None = None
) -> list[tuple[int, str, Direction]]:
    """(relationship id, counterpart, direction) for each tie of ``node`` that ``keep`` admits,
    ordered by type, then counterpart name, then id (a stable order to page through).

    With ``direction`` "out" or "in", directed ties leaving or entering the node are kept, and
    undirected ties too, since they read the same from both ends; "both" keeps only undirected.
    """
    _need(kg, node)
    nodes = kg.G._node  # type: ignore[attr-defined]
    # Sorted as plain tuples: a key function called per tie cost more than the sort (a hub
    # has thousands of ties).
    keyed: list[tuple[str, str, int, str, Direction]] = []
    for u, v, rid, data in kg.incident(node):
        if not keep(data):
            continue
        rel_type = data["type"]
        d: Direction = ("out" if u == node else "in") if DIRECTED[rel_type] else "both"
        if direction is not None and d != direction and d != "both":
            continue
        if direction == "both" and d != "both":
            continue
        counterpart = v if u == node else u
        keyed.append((rel_type, nodes[counterpart]["name"], rid, counterpart, d))
    keyed.sort()
    return [(rid, counterpart, d) for _, _, rid, counterpart, d in keyed]


@dataclass
class Neighbourhood:
    nodes: list[str]
    edges: list[int]
    truncated: bool


def neighbourhood(
    kg: KG,
    node: str,
    *,
    depth: int,
    keep: EdgeFilter,
    max_nodes: int,
    max_edges: int | None = None,
) -> Neighbourhood:
    """Actors within ``depth`` hops of ``node`` (either direction) and the edges among them.

    Breadth-first, nearest first; stops at ``max_nodes`` actors or ``max_edges`` edges (those
    of the nearest actors first) and says so.
    """
    _need(kg, node)
    if depth < 0 or max_nodes < 1:
        raise ValueError("depth must be >= 0 and max_nodes >= 1")
    seen = {node: 0}
    order = [node]
    frontier = deque([node])
    truncated = False
    while frontier and not truncated:
        u = frontier.popleft()
        if seen[u] >= depth:
            continue
        for v, _rid, data in kg.neighbours("any", u):
            if v in seen or not keep(data):
                continue
            if len(order) >= max_nodes:
                truncated = True
                break
            seen[v] = seen[u] + 1
            order.append(v)
            frontier.append(v)
    # Induced edges by a dict loop: G.subgraph() measured 5x slower (PERF_NOTES).
    edges: list[int] = []
    cap = max_edges if max_edges is not None else float("inf")
    for u in order:
        for v, keyed in kg.succ[u].items():
            if v in seen:
                edges.extend(rid for rid, data in keyed.items() if keep(data))
        if len(edges) >= cap:
            del edges[int(cap) :]
            truncated = True
            break
    return Neighbourhood(order, edges, truncated)


@dataclass
class Path:
    nodes: list[str]
    rels: list[int]


@dataclass
class PathResult:
    paths: list[Path] = field(default_factory=list)
    truncated: bool = False


def _edge_keep(keep: EdgeFilter | None, data: dict[str, Any]) -> bool:
    return keep is None or keep(data)


def _bfs_distances(
    kg: KG, start: str, mode: Mode, *, reverse: bool, cutoff: int, keep: EdgeFilter, budget: Budget
) -> dict[str, int]:
    dist = {start: 0}
    frontier = deque([start])
    while frontier:
        u = frontier.popleft()
        if dist[u] >= cutoff:
            continue
        for v, _rid, data in kg.neighbours(mode, u, reverse=reverse):
            budget.spend()
            if v not in dist and keep(data):
                dist[v] = dist[u] + 1
                frontier.append(v)
    return dist


def _shortest_path(
    kg: KG,
    source: str,
    target: str,
    *,
    mode: Mode,
    max_hops: int,
    keep: EdgeFilter,
    budget: Budget,
) -> Path | None:
    """A shortest path of at most ``max_hops`` hops, or None: level-synchronous bidirectional
    BFS that always grows the smaller frontier (raises BudgetExceeded past the budget)."""
    # node -> (previous node, relationship id) on the way from the source / to the target
    fwd: dict[str, tuple[str, int] | None] = {source: None}
    bwd: dict[str, tuple[str, int] | None] = {target: None}
    fwd_level, bwd_level = [source], [target]
    hops = 0
    unfiltered = keep is keep_all
    while fwd_level and bwd_level and hops < max_hops:
        forward = len(fwd_level) <= len(bwd_level)
        level, seen, other = (fwd_level, fwd, bwd) if forward else (bwd_level, bwd, fwd)
        nxt: list[str] = []
        index = _mode_index(kg, mode, reverse=not forward) if unfiltered else None
        for u in level:
            if index is not None:
                # Unfiltered: the mode's own index alone, never the edge data (a cache miss
                # or three per edge on a graph of a million).
                steps = index.get(u)
                if not steps:
                    continue
                budget.spend(len(steps))
                for rid, v in steps.items():
                    if v in seen:
                        continue
                    seen[v] = (u, rid)
                    if v in other:
                        return _joined(fwd, bwd, v)
                    nxt.append(v)
                continue
            for v, rid, data in kg.neighbours(mode, u, reverse=not forward):
                budget.spend()
                if v in seen or not keep(data):
                    continue
                seen[v] = (u, rid)
                if v in other:
                    return _joined(fwd, bwd, v)
                nxt.append(v)
        if forward:
            fwd_level = nxt
        else:
            bwd_level = nxt
        hops += 1
    return None


def _mode_index(kg: KG, mode: Mode, *, reverse: bool) -> dict[str, dict[int, str]] | None:
    """The prebuilt ``{node: {relationship id: neighbour}}`` a walk in ``mode`` takes, or None
    for "any" (which walks ``G`` itself)."""
    if mode == "alliance":
        return kg.positive.adj
    if mode == "hostile":
        return kg.negative.adj
    if mode == "proxy":
        return (kg.patrons if reverse else kg.sponsors).adj
    return None


def _joined(
    fwd: dict[str, tuple[str, int] | None], bwd: dict[str, tuple[str, int] | None], meet: str
) -> Path:
    nodes, rels = [meet], []
    step = fwd[meet]
    while step is not None:
        nodes.append(step[0])
        rels.append(step[1])
        step = fwd[step[0]]
    nodes.reverse()
    rels.reverse()
    step = bwd[meet]
    while step is not None:
        nodes.append(step[0])
        rels.append(step[1])
        step = bwd[step[0]]
    return Path(nodes, rels)


def k_shortest_paths(
    kg: KG,
    source: str,
    target: str,
    *,
    mode: Mode,
    k: int,
    max_hops: int,
    keep: EdgeFilter,
    budget: Budget,
    weight: Literal["confidence"] | None = None,
    max_region: int = 5_000,
) -> PathResult:
    """Up to ``k`` simple paths from ``source`` to ``target`` in ``mode``, shortest first.

    The search is bounded by work, not by results:

    1. a breadth-first distance map from the target (reversed for the directed proxy mode),
       cut at ``max_hops``; when the source is not in it there is no path and the answer is
       immediate, however dense the graph;
    2. a distance map from the source; only nodes with ``d(s, n) + d(n, t) <= max_hops`` can lie
       on an admissible path, and only edges between them that keep that bound are kept;
    3. Yen's algorithm (``nx.shortest_simple_paths``) over that pruned region, which yields
       paths in order, so the loop stops at ``k`` paths, at the first path longer than
       ``max_hops``, or when ``budget`` runs out (then ``truncated`` is set).

    With ``weight="confidence"`` a hop costs ``-log(confidence)``, so better attested paths come
    first; paths over ``max_hops`` are skipped rather than ending the search.

    Examples
    --------
    >>> from app.graph.build import build, NodeRow, EdgeRow
    >>> from app.graph.analytics import Budget
    >>> kg = build([NodeRow(n, n, "state") for n in "abc"],
    ...            [EdgeRow(1, "a", "b", "allied_with", None, None, 0.9),
    ...             EdgeRow(2, "b", "c", "cooperates_with", None, None, 0.9)])
    >>> r = k_shortest_paths(kg, "a", "c", mode="alliance", k=3, max_hops=4,
    ...                      keep=lambda d: True, budget=Budget(10_000, 1.0))
    >>> r.paths[0].nodes
    ['a', 'b', 'c']
    """
    _need(kg, source, target)
    if k < 1 or max_hops < 1:
        raise ValueError("k and max_hops must be >= 1")
    result = PathResult()
    if source == target:
        return result
    if k == 1 and weight is None:
        # One unweighted path: a bidirectional breadth-first search meets in the middle and
        # touches a few hundred edges where the distance maps below may touch the whole graph.
        try:
            found = _shortest_path(
                kg, source, target, mode=mode, max_hops=max_hops, keep=keep, budget=budget
            )
        except BudgetExceeded:
            result.truncated = True
            return result
        if found is not None:
            result.paths.append(found)
        return result
    directed = mode == "proxy"
    try:
        to_target = _bfs_distances(
            kg, target, mode, reverse=True, cutoff=max_hops, keep=keep, budget=budget
        )
        if source not in to_target:
            return result
        from_source = _bfs_distances(
            kg, source, mode, reverse=False, cutoff=max_hops - 1, keep=keep, budget=budget
        )
        # The walk above stops one hop short; the target may lie exactly max_hops away.
        from_source.setdefault(target, to_target[source])
        region = [
            n for n, d in from_source.items() if n in to_target and d + to_target[n] <= max_hops
        ]
        if len(region) > max_region:
            # Keep the nodes closest to a shortest path; the answer says it is partial.
            region.sort(key=lambda n: (from_source[n] + to_target[n], n))
            region = region[:max_region]
            result.truncated = True
        inside = set(region)
        H: nx.Graph[str] = nx.DiGraph() if directed else nx.Graph()
        H.add_nodes_from(region)
        for u in region:
            for v, rid, data in kg.neighbours(mode, u):
                budget.spend()
                if v not in inside or not keep(data):
                    continue
                if from_source[u] + 1 + to_target[v] > max_hops:
                    continue
                conf = data["conf"]
                cur = H.get_edge_data(u, v)
                if cur is None or conf > cur["conf"]:
                    H.add_edge(u, v, rid=rid, conf=conf, cost=-math.log(max(conf, 1e-9)) + 1e-9)
        paths = nx.shortest_simple_paths(
            H, source, target, weight="cost" if weight == "confidence" else None
        )
        for nodes in paths:
            budget.spend(len(H))
            if len(nodes) - 1 > max_hops:
                if weight is None:
                    break
                continue
            rels = [H.edges[u, v]["rid"] for u, v in pairwise(nodes)]
            result.paths.append(Path(list(nodes), rels))
            if len(result.paths) >= k:
                break
    except BudgetExceeded:
        result.truncated = True
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        # NodeNotFound: a truncated region lost an end; the answer is empty and says truncated.
        pass
    return result


@dataclass
class Reached:
    node: str
    depth: int
    chain: list[str]
    rels: list[int]


def sponsor_chains(
    kg: KG, node: str, *, upward: bool, depth: int, keep: EdgeFilter, max_nodes: int, budget: Budget
) -> tuple[list[Reached], bool]:
    """Actors reachable along ``sponsors`` edges: proxies (downward) or patrons (upward).

    Breadth-first, so each actor comes with its shortest chain from ``node``. Returns the
    reached actors and whether the walk was cut by ``max_nodes`` or the budget.
    """
    _need(kg, node)
    # Each actor's chain extends its parent's, built as it is reached (BFS: the shortest one).
    reached = {node: Reached(node, 0, [node], [])}
    frontier = deque(reached.values())
    out: list[Reached] = []
    truncated = False
    index = kg.patrons.adj if upward else kg.sponsors.adj
    succ = kg.succ
    try:
        while frontier:
            here = frontier.popleft()
            u = here.node
            nbrs = index.get(u)
            if here.depth >= depth or not nbrs:
                continue
            budget.spend(len(nbrs))
            for rid, v in nbrs.items():
                if v in reached:
                    continue
                # Unfiltered walks never read edge data (the common case).
                if keep is not keep_all and not keep(
                    succ[v][u][rid] if upward else succ[u][v][rid]
                ):
                    continue
                if len(out) >= max_nodes:
                    raise BudgetExceeded
                there = reached[v] = Reached(v, here.depth + 1, [*here.chain, v], [*here.rels, rid])
                out.append(there)
                frontier.append(there)
    except BudgetExceeded:
        truncated = True
    return out, truncated


def net_sign(kg: KG, u: str, v: str, as_of: str | None) -> int:
    """The sign of the pair u–v at ``as_of``: the confidence-weighted sum of its signed ties."""
    total = 0.0
    for a, b in ((u, v), (v, u)):
        for data in kg.succ.get(a, {}).get(b, {}).values():
            if holds(data, as_of):
                total += SIGN[data["type"]] * data["conf"]
    return (total > 0) - (total < 0)


@dataclass
class Diff:
    began: list[int]
    ended: list[int]
    polarity_changed: list[tuple[str, str, int, int, list[int]]]


def diff(kg: KG, start: str, end: str) -> Diff:
    """Relationships that began or ended in (start, end], and pairs whose net sign flipped.

    ``start`` and ``end`` are full ISO dates; partial edge dates count as their first day.
    """
    if end < start:
        raise ValueError("the end date is before the start date")
    began: list[int] = []
    ended: list[int] = []
    pairs: set[tuple[str, str]] = set()
    for u, v, rid, data in kg.G.edges(keys=True, data=True):
        vf, vt = data["vf"], data["vt"]
        changed = False
        if vf is not None and start < vf <= end:
            began.append(rid)
            changed = True
        if vt is not None and start < vt <= end:
            ended.append(rid)
            changed = True
        if changed and SIGN[data["type"]]:
            pairs.add((min(u, v), max(u, v)))
    flips = []
    for u, v in sorted(pairs):
        before, after = net_sign(kg, u, v, start), net_sign(kg, u, v, end)
        if before and after and before != after:
            rels = sorted(rid for a, b in ((u, v), (v, u)) for rid in kg.succ.get(a, {}).get(b, {}))
            flips.append((u, v, before, after, rels))
    return Diff(sorted(began), sorted(ended), flips)
