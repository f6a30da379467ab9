"""Signed-network analytics over the KG: blocs, structural balance and centrality.

Pure functions taking the KG first, NetworkX style: options are keyword-only and checked before
any work, and every traversal is bounded (a :class:`Budget`, a pass count, or the iteration limits
of the networkx routine used). Results are plain dicts, deterministic for a given graph.
Graphs too large for these are analysed through :func:`core_sample`, a bounded part of them.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

import networkx as nx

from app.graph.build import DIRECTED, KG, SIGN, EdgeRow, NodeRow, build, holds

__all__ = [
    "DEFAULT_EXPANSIONS",
    "DEFAULT_SECONDS",
    "METRICS",
    "RULES",
    "Budget",
    "BudgetExceeded",
    "Metric",
    "balance",
    "blocs",
    "centrality",
    "check_as_of",
    "core_sample",
    "signed_graph",
]

Metric = Literal["degree", "betweenness", "pagerank"]
METRICS: tuple[Metric, ...] = ("degree", "betweenness", "pagerank")

#: The bound :func:`balance` uses when no budget is given.
DEFAULT_EXPANSIONS = 2_000_000
DEFAULT_SECONDS = 10.0

#: The balance rule implied for the pair (me, other) by the signs (me–z, z–other).
RULES: dict[tuple[int, int], str] = {
    (1, 1): "the friend of my friend is my friend",
    (-1, -1): "the enemy of my enemy is my friend",
    (-1, 1): "the friend of my enemy is my enemy",
    (1, -1): "the enemy of my friend is my enemy",
}

_CLOCK_EVERY = 256
_ZERO = 1e-9  # net signed weights closer to zero than this cancel out


# -- bounds


class BudgetExceeded(Exception):
    """Raised by :meth:`Budget.spend` once the work or time bound is exceeded."""


class Budget:
    """A bound on the work and wall time of one search.

    Parameters
    ----------
    max_expansions : int
        Units of work allowed (>= 0); the spend that goes past it raises.
    seconds : float
        Wall time allowed from construction (>= 0, ``math.inf`` for none), read from
        ``time.monotonic`` once every 256 units spent.
    """

    __slots__ = ("_next_clock", "_truncated", "deadline", "max_expansions", "spent")

    def __init__(self, max_expansions: int, seconds: float) -> None:
        _check_int("max_expansions", max_expansions, minimum=0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"seconds must be a number, got {seconds!r}")
        if math.isnan(seconds) or seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self.max_expansions = max_expansions
        self.spent = 0
        self.deadline = time.monotonic() + seconds
        self._next_clock = _CLOCK_EVERY
        self._truncated = False

    @property
    def truncated(self) -> bool:
        """Whether the budget has been exceeded."""
        return self._truncated

    def spend(self, n: int = 1) -> None:
        """Spend ``n`` units of work.

        Raises
        ------
        BudgetExceeded
            When the expansion count or the deadline is exceeded (and on every spend after).
        """
        if self._truncated:
            raise BudgetExceeded("budget already exceeded")
        self.spent += n
        if self.spent > self.max_expansions:
            self._truncated = True
            raise BudgetExceeded(f"more than {self.max_expansions} expansions")
        if self.spent >= self._next_clock:
            self._next_clock = self.spent + _CLOCK_EVERY
            if time.monotonic() > self.deadline:
                self._truncated = True
                raise BudgetExceeded("time budget exceeded")


# -- checks


def _check_int(name: str, value: object, *, minimum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def check_as_of(as_of: str | None) -> None:
    """Raise ``ValueError`` unless ``as_of`` is None or a full ISO date (``YYYY-MM-DD``)."""
    if as_of is None:
        return
    if not isinstance(as_of, str) or len(as_of) != 10:
        raise ValueError(f"as_of must be an ISO date YYYY-MM-DD, got {as_of!r}")
    try:
        date.fromisoformat(as_of)
    except ValueError as err:
        raise ValueError(f"as_of must be an ISO date YYYY-MM-DD, got {as_of!r}") from err


# -- signed graph


def signed_graph(kg: KG, *, as_of: str | None = None) -> nx.Graph[str]:
    """The simple undirected signed graph of the relationships holding on ``as_of``.

    Parameters
    ----------
    kg : KG
    as_of : str or None
        Full ISO date; None counts every relationship.

    Returns
    -------
    networkx.Graph
        One edge per pair with a signed (non-neutral) relationship: ``weight`` is the sum of
        ``sign * conf`` (an exact sum), ``sign`` is +1/-1 by that sum and ``rels`` the sorted
        relationship ids. Pairs whose sum cancels to zero are dropped, and so are self-ties.
        Nodes are the actors with at least one edge, in sorted order.
    """
    check_as_of(as_of)
    parts: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for u, v, rid, data in kg.G.edges(keys=True, data=True):
        sign = SIGN[data["type"]]
        if sign == 0 or u == v or not holds(data, as_of):
            continue
        pair = (u, v) if u < v else (v, u)
        parts[pair].append((rid, sign * float(data["conf"])))
    kept: list[tuple[str, str, float, list[int]]] = []
    for (a, b), rels in sorted(parts.items()):
        weight = math.fsum(w for _, w in rels)
        if abs(weight) < _ZERO:
            continue
        kept.append((a, b, weight, sorted(rid for rid, _ in rels)))
    S: nx.Graph[str] = nx.Graph()
    S.add_nodes_from(sorted({n for a, b, _, _ in kept for n in (a, b)}))
    for a, b, weight, rids in kept:
        S.add_edge(a, b, weight=weight, sign=1 if weight > 0 else -1, rels=rids)
    return S


# -- sampling


def core_sample(
    kg: KG, *, max_ties: int, as_of: str | None = None, signed: bool = False
) -> tuple[KG, dict[str, int] | None]:
    """The KG itself when it has at most ``max_ties`` relationships, else its busiest core.

    The core is the subgraph induced by the actors with the most ties (signed ties when
    ``signed``; ties of any date, then by id): actors join in that order, bringing their
    relationships to the actors already in, until the next one would take the core past
    ``max_ties`` relationships. It holds only relationships that hold on ``as_of`` (and are
    signed when ``signed``), so it is a bounded, deterministic stand-in for the whole graph.

    Parameters
    ----------
    kg : KG
    max_ties : int
        Most relationships the answer may hold (>= 1); also the size above which it samples.
    as_of : str or None
        Full ISO date; None keeps every relationship.
    signed : bool
        Rank and keep by positive and negative relationships only (for blocs and balance).

    Returns
    -------
    tuple
        The graph to analyse and None, or the core and what it holds: ``{"actors", "ties",
        "of_actors", "of_ties"}`` (actors and relationships in the core, and in the whole
        graph, of every date and type).
    """
    _check_int("max_ties", max_ties, minimum=1)
    check_as_of(as_of)
    if len(kg.ends) <= max_ties:
        return kg, None
    succ, pred = kg.succ, kg.pred
    if signed:
        pos, neg = kg.positive.adj, kg.negative.adj
        ties = {u: len(pos.get(u, ())) + len(neg.get(u, ())) for u in pos.keys() | neg.keys()}
    else:
        ties = {
            u: sum(map(len, out.values())) + sum(map(len, pred[u].values()))
            for u, out in succ.items()
        }
    ranked = sorted(ties, key=lambda u: (-ties[u], u))

    def kept(keyed: dict[int, dict[str, Any]], u: str, v: str) -> list[EdgeRow]:
        return [
            EdgeRow(rid, u, v, d["type"], d["vf"], d["vt"], d["conf"])
            for rid, d in keyed.items()
            if (not signed or SIGN[d["type"]]) and holds(d, as_of)
        ]

    inside: set[str] = set()
    rows: list[EdgeRow] = []
    for u in ranked:
        # self-ties never join: u enters the core only after its ties are gathered
        joining = [r for v, keyed in succ[u].items() if v in inside for r in kept(keyed, u, v)]
        joining += [r for v, keyed in pred[u].items() if v in inside for r in kept(keyed, v, u)]
        if len(rows) + len(joining) > max_ties:
            break
        inside.add(u)
        rows += joining
    actors = sorted({n for r in rows for n in (r.source, r.target)})
    nodes = kg.G.nodes
    core = build(
        (NodeRow(n, nodes[n].get("name", n), nodes[n].get("kind", "")) for n in actors), rows
    )
    return core, {
        "actors": len(actors),
        "ties": len(rows),
        "of_actors": kg.G.number_of_nodes(),
        "of_ties": len(kg.ends),
    }


# -- blocs


def blocs(
    kg: KG, *, as_of: str | None = None, seed: int = 42, max_passes: int = 10
) -> dict[str, Any]:
    """Partition the signed graph into blocs that leave as few frustrated ties as possible.

    Louvain on the positive ties (seeded) gives the start; then single actors move, in sorted
    order, to the neighbouring bloc or a new singleton that most lowers the weight of their
    frustrated ties (a positive tie between blocs or a negative tie inside one), until a pass moves
    no one or ``max_passes`` passes ran.

    Parameters
    ----------
    kg : KG
    as_of : str or None
        Full ISO date; None counts every relationship.
    seed : int
        Louvain seed.
    max_passes : int
        Bound on the refinement passes (>= 0).

    Returns
    -------
    dict
        ``items`` (``{"id": "bloc-N", "members": [...]}``, largest first, then by first member),
        ``crossing`` (relationship ids of signed ties between blocs), ``frustrated``
        (relationship ids of frustrated ties) and ``frustration`` (number of frustrated pairs).
    """
    check_as_of(as_of)
    _check_int("seed", seed)
    _check_int("max_passes", max_passes, minimum=0)
    S = signed_graph(kg, as_of=as_of)

    P: nx.Graph[str] = nx.Graph()
    P.add_nodes_from(S)
    P.add_weighted_edges_from(
        (u, v, abs(d["weight"])) for u, v, d in S.edges(data=True) if d["sign"] > 0
    )
    found = nx.community.louvain_communities(P, weight="weight", seed=seed)
    start = sorted(sorted(c) for c in found)
    bloc_of: dict[str, int] = {n: i for i, members in enumerate(start) for n in members}
    fresh = len(start)

    for _ in range(max_passes):
        moved = False
        for n in S:
            pos_in: dict[int, float] = defaultdict(float)
            neg_in: dict[int, float] = defaultdict(float)
            pos_total = 0.0
            for m, d in S.adj[n].items():
                w = abs(d["weight"])
                if d["sign"] > 0:
                    pos_in[bloc_of[m]] += w
                    pos_total += w
                else:
                    neg_in[bloc_of[m]] += w
            # frustrated weight at n in bloc b: positive ties leaving b plus negative ties in b
            best = bloc_of[n]
            best_cost = pos_total - pos_in.get(best, 0.0) + neg_in.get(best, 0.0)
            for b in sorted(pos_in.keys() | neg_in.keys()):
                c = pos_total - pos_in.get(b, 0.0) + neg_in.get(b, 0.0)
                if c < best_cost - _ZERO:
                    best, best_cost = b, c
            if pos_total < best_cost - _ZERO:  # alone, every tie to it is between blocs
                best, fresh = fresh, fresh + 1
            if best != bloc_of[n]:
                bloc_of[n] = best
                moved = True
        if not moved:
            break

    groups: dict[int, list[str]] = defaultdict(list)
    for n, b in bloc_of.items():
        groups[b].append(n)
    ordered = sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))
    crossing: list[int] = []
    frustrated: list[int] = []
    frustration = 0
    for u, v, d in S.edges(data=True):
        same = bloc_of[u] == bloc_of[v]
        if not same:
            crossing.extend(d["rels"])
        if (d["sign"] > 0) != same:
            frustrated.extend(d["rels"])
            frustration += 1
    return {
        "items": [{"id": f"bloc-{i}", "members": g} for i, g in enumerate(ordered, 1)],
        "crossing": sorted(crossing),
        "frustrated": sorted(frustrated),
        "frustration": frustration,
    }


# -- balance

_Triad = tuple[tuple[str, str, str], str | None]  # sorted actors, centre of an open triad


def balance(
    kg: KG,
    *,
    as_of: str | None = None,
    include_open: bool = False,
    budget: Budget | None = None,
    limit: int = 200,
) -> dict[str, Any]:
    """Unbalanced closed triads of the signed graph and, optionally, open triads.

    A triangle is unbalanced when the product of its signs is negative; the implied tie flips its
    weakest pair (lowest absolute weight, then the sorted pair). An open triad a–b–c (a and c not
    tied) implies a tie a–c of sign ``sign(ab) * sign(bc)``. Rules are worded from the point of
    view of ``between[0]``.

    Parameters
    ----------
    kg : KG
    as_of : str or None
        Full ISO date; None counts every relationship.
    include_open : bool
        Also report open triads (kind ``"open"``).
    budget : Budget or None
        Spent once per neighbour pair examined; None means
        ``Budget(DEFAULT_EXPANSIONS, DEFAULT_SECONDS)``.
    limit : int
        Most items returned (>= 0); the first ``limit`` in order of their sorted actors.

    Returns
    -------
    dict
        ``items``, ``total`` (every triad found before the budget ran out) and ``truncated``.
    """
    check_as_of(as_of)
    _check_int("limit", limit, minimum=0)
    if budget is None:
        budget = Budget(DEFAULT_EXPANSIONS, DEFAULT_SECONDS)
    elif not isinstance(budget, Budget):
        raise TypeError(f"budget must be a Budget, got {budget!r}")
    S = signed_graph(kg, as_of=as_of)
    adj = S.adj
    found = 0

    def triads() -> Iterator[_Triad]:
        nonlocal found
        try:
            for x in S:
                # closed triads are found from their least actor; open ones from their centre
                nbrs = sorted(adj[x]) if include_open else sorted(m for m in adj[x] if m > x)
                for i, a in enumerate(nbrs):
                    adj_a = adj[a]
                    for c in nbrs[i + 1 :]:
                        budget.spend()
                        if c in adj_a:
                            signs = adj[x][a]["sign"] * adj[x][c]["sign"] * adj_a[c]["sign"]
                            if x < a and signs < 0:
                                found += 1
                                yield (x, a, c), None
                        elif include_open:
                            found += 1
                            first, second, third = sorted((a, x, c))
                            yield (first, second, third), x
        except BudgetExceeded:
            return

    gen = triads()
    kept = heapq.nsmallest(limit, gen, key=lambda t: t[0])
    deque(gen, maxlen=0)  # count the rest (nsmallest stops early when limit is 0)
    items = [
        _closed_item(S, actors) if centre is None else _open_item(S, actors, centre)
        for actors, centre in kept
    ]
    return {"items": items, "total": found, "truncated": budget.truncated}


def _implied(S: nx.Graph[str], x: str, z: str, y: str) -> dict[str, Any]:
    """The tie x–y that balance implies through z, worded from x's point of view."""
    s1, s2 = S.adj[x][z]["sign"], S.adj[z][y]["sign"]
    return {
        "between": [x, y],
        "polarity": "positive" if s1 * s2 > 0 else "negative",
        "rule": RULES[(s1, s2)],
    }


def _closed_item(S: nx.Graph[str], actors: tuple[str, str, str]) -> dict[str, Any]:
    a, b, c = actors
    pairs = [(a, b), (a, c), (b, c)]
    x, y = min(pairs, key=lambda p: (abs(S.adj[p[0]][p[1]]["weight"]), p))
    (z,) = set(actors) - {x, y}
    return {
        "kind": "unbalanced",
        "actors": list(actors),
        "relationships": sorted(r for u, v in pairs for r in S.adj[u][v]["rels"]),
        "implied": _implied(S, x, z, y),
    }


def _open_item(S: nx.Graph[str], actors: tuple[str, str, str], centre: str) -> dict[str, Any]:
    x, y = sorted(set(actors) - {centre})
    return {
        "kind": "open",
        "actors": list(actors),
        "relationships": sorted(S.adj[x][centre]["rels"] + S.adj[centre][y]["rels"]),
        "implied": _implied(S, x, centre, y),
    }


# -- centrality


def centrality(
    kg: KG,
    *,
    metric: Metric,
    top: int = 10,
    as_of: str | None = None,
    sample_above: int = 2000,
    max_work: int | None = None,
    pagerank_max_work: int | None = None,
    seed: int = 42,
) -> dict[str, Any]:
    """The most central actors over every relationship holding on ``as_of``.

    Parameters
    ----------
    kg : KG
    metric : {"degree", "betweenness", "pagerank"}
        Degree and betweenness use the simple undirected graph; PageRank the directed one, where
        undirected types count both ways and ``weight`` is the summed confidence. Degree is read
        straight from the KG's adjacency, without building a graph.
    top : int
        Items returned (>= 1).
    as_of : str or None
        Full ISO date; None counts every relationship.
    sample_above : int
        Betweenness samples ``sample_above`` sources (seeded) above this many nodes.
    max_work : int or None
        Bound on betweenness work: each sampled source costs one breadth-first search of about
        ``nodes + edges`` steps, so at most ``max_work // (nodes + edges)`` sources (at least
        one) are used. None: no bound beyond ``sample_above``.
    pagerank_max_work : int or None
        Bound on PageRank work: each power iteration costs about ``nodes + arcs`` steps, so at
        most ``pagerank_max_work // (nodes + arcs)`` iterations (at least one, at most 100)
        run. None: up to 100 iterations.
    seed : int
        Seed for the betweenness sample.

    Returns
    -------
    dict
        ``metric``, ``items`` (``{"actor", "score"}``, by score desc then id), ``sampled``
        (betweenness sampled its sources), ``nodes`` (actors with at least one relationship
        holding), ``sources`` (betweenness: the sources used, else None), ``iterations`` and
        ``converged`` (PageRank: power iterations run and whether they met the tolerance, else
        None).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    _check_int("top", top, minimum=1)
    check_as_of(as_of)
    _check_int("sample_above", sample_above, minimum=1)
    if max_work is not None:
        _check_int("max_work", max_work, minimum=1)
    if pagerank_max_work is not None:
        _check_int("pagerank_max_work", pagerank_max_work, minimum=1)
    _check_int("seed", seed)

    # what says how exact the scores are, filled in by the metric that has it
    result: dict[str, Any] = dict.fromkeys(("sources", "iterations", "converged"))
    result["sampled"] = False
    scores: dict[str, float]
    if metric == "degree":
        degrees = _degrees(kg, as_of)
        n = len(degrees)
        scale = 1.0 / (n - 1.0) if n > 1 else 1.0  # as nx.degree_centrality
        scores = {a: d * scale for a, d in degrees.items()}
    else:
        edges = sorted(
            (u, v, rid, data)
            for u, v, rid, data in kg.G.edges(keys=True, data=True)
            if u != v and holds(data, as_of)
        )
        if metric == "pagerank":
            D: nx.DiGraph[str] = nx.DiGraph()
            D.add_nodes_from(sorted({n for u, v, _, _ in edges for n in (u, v)}))
            for u, v, _, data in edges:
                ends = [(u, v)] if DIRECTED[data["type"]] else [(u, v), (v, u)]
                for a, b in ends:
                    prior = D.adj[a][b]["weight"] if D.has_edge(a, b) else 0.0
                    D.add_edge(a, b, weight=prior + float(data["conf"]))
            n = D.number_of_nodes()
            max_iter = _PAGERANK_MAX_ITER
            if pagerank_max_work is not None:
                steps = max(1, n + D.number_of_edges())
                max_iter = min(max_iter, max(1, pagerank_max_work // steps))
            scores, iterations, converged = _pagerank(D, max_iter=max_iter)
            result["iterations"], result["converged"] = iterations, converged
        else:
            U: nx.Graph[str] = nx.Graph()
            U.add_nodes_from(sorted({n for u, v, _, _ in edges for n in (u, v)}))
            U.add_edges_from((u, v) for u, v, _, _ in edges)
            n = U.number_of_nodes()
            k = min(n, sample_above) if n > sample_above else n
            if max_work is not None:
                k = min(k, max(1, max_work // max(1, n + U.number_of_edges())))
            sampled = k < n
            scores = nx.betweenness_centrality(U, k=k if sampled else None, seed=seed)
            result["sampled"], result["sources"] = sampled, k
    ranked = heapq.nsmallest(top, scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "metric": metric,
        "items": [{"actor": a, "score": float(s)} for a, s in ranked],
        **result,
        "nodes": n,
    }


def _degrees(kg: KG, as_of: str | None) -> dict[str, int]:
    """For each actor with a relationship holding on ``as_of``: how many others it is tied to.

    Read from the KG's adjacency: every actor pair is looked at once, with no graph built.
    """
    succ, pred = kg.succ, kg.pred
    degrees: dict[str, int] = {}
    if as_of is None:
        for u, out in succ.items():
            d = len(out.keys() | pred[u].keys()) - (u in out)
            if d:
                degrees[u] = d
        return degrees

    def live(keyed: dict[int, dict[str, Any]]) -> bool:
        return any(holds(data, as_of) for data in keyed.values())

    get = degrees.get
    for u, out in succ.items():
        for v, keyed in out.items():
            if v == u or not live(keyed):
                continue
            if v < u:
                back = succ[v].get(u)
                if back is not None and live(back):
                    continue  # the pair was counted from v
            degrees[u] = get(u, 0) + 1
            degrees[v] = get(v, 0) + 1
    return degrees


_PAGERANK_MAX_ITER = 100


def _pagerank(
    D: nx.DiGraph[str],
    *,
    alpha: float = 0.85,
    max_iter: int = _PAGERANK_MAX_ITER,
    tol: float = 1.0e-6,
) -> tuple[dict[str, float], int, bool]:
    """Weighted PageRank by at most ``max_iter`` power iterations, in pure Python.

    Returns the ranks, the iterations run and whether they converged. ``nx.pagerank`` needs
    NumPy and SciPy, which the service does not depend on. Dangling nodes (no out-weight)
    spread their rank evenly, as in networkx.
    """
    nodes = list(D)
    size = len(nodes)
    if not size:
        return {}, 0, True
    out = {u: math.fsum(d["weight"] for d in D.adj[u].values()) for u in nodes}
    x = dict.fromkeys(nodes, 1.0 / size)
    for i in range(1, max_iter + 1):
        last = x
        x = dict.fromkeys(nodes, 0.0)
        dangling = math.fsum(last[u] for u in nodes if out[u] <= 0)
        for u in nodes:
            if out[u] <= 0:
                continue
            share = alpha * last[u] / out[u]
            for v, d in D.adj[u].items():
                x[v] += share * d["weight"]
        base = (1.0 - alpha + alpha * dangling) / size
        for u in nodes:
            x[u] += base
        if math.fsum(abs(x[u] - last[u]) for u in nodes) < size * tol:
            return x, i, True
    return x, max_iter, False
