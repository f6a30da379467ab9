"""Blocs, balance, centrality and the budget on tiny literal graphs with exact answers."""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Iterable

import pytest

from app.graph import analytics
from app.graph.analytics import (
    Budget,
    BudgetExceeded,
    balance,
    blocs,
    centrality,
    signed_graph,
)
from app.graph.build import KG, EdgeRow, NodeRow, build


def E(
    rid: int,
    source: str,
    target: str,
    rel_type: str,
    conf: float = 1.0,
    vf: str | None = None,
    vt: str | None = None,
) -> EdgeRow:
    return EdgeRow(rid, source, target, rel_type, vf, vt, conf)


def kg_of(edges: Iterable[EdgeRow], extra: str = "") -> KG:
    edges = list(edges)
    ids = sorted({n for e in edges for n in (e.source, e.target)} | set(extra))
    return build([NodeRow(n, f"Actor {n}", "state") for n in ids], edges)


def two_triangles() -> KG:
    return kg_of(
        [
            E(1, "A", "B", "allied_with"),
            E(2, "B", "C", "allied_with"),
            E(3, "A", "C", "allied_with"),
            E(4, "D", "E", "allied_with"),
            E(5, "E", "F", "allied_with"),
            E(6, "D", "F", "allied_with"),
            E(7, "C", "D", "hostile_to"),
        ]
    )


# -- budget


def test_budget_counts_expansions() -> None:
    b = Budget(3, 60)
    for _ in range(3):
        b.spend()
    assert not b.truncated
    with pytest.raises(BudgetExceeded):
        b.spend()
    assert b.truncated
    with pytest.raises(BudgetExceeded):
        b.spend()


def test_budget_spend_many() -> None:
    b = Budget(10, 60)
    b.spend(10)
    with pytest.raises(BudgetExceeded):
        b.spend(1)


def test_budget_reads_clock_every_256(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    b = Budget(10**9, 1.0)
    now[0] = 200.0  # past the deadline; not noticed until the 256th unit
    for _ in range(255):
        b.spend()
    assert not b.truncated
    with pytest.raises(BudgetExceeded):
        b.spend()
    assert b.truncated


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((-1, 1.0), ValueError),
        ((1, -1.0), ValueError),
        ((1.5, 1.0), TypeError),
        ((1, float("nan")), ValueError),
    ],
)
def test_budget_checks_inputs(args: tuple[object, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Budget(*args)  # type: ignore[arg-type]


# -- signed graph


def test_signed_graph_collapses_pairs() -> None:
    kg = kg_of(
        [
            E(1, "A", "B", "allied_with", 0.8),
            E(2, "B", "A", "hostile_to", 0.3),
            E(3, "A", "C", "allied_with", 0.5),
            E(4, "C", "A", "rival_of", 0.5),  # cancels out
            E(5, "B", "C", "supports", 0.4),
            E(6, "C", "D", "diplomatic_contact"),  # neutral
            E(7, "B", "E", "hostile_to", 0.9, vt="2020"),
        ]
    )
    S = signed_graph(kg)
    assert list(S) == ["A", "B", "C", "E"]
    assert S["A"]["B"]["weight"] == pytest.approx(0.5)
    assert (S["A"]["B"]["sign"], S["A"]["B"]["rels"]) == (1, [1, 2])
    assert not S.has_edge("A", "C")
    assert (S["B"]["C"]["sign"], S["B"]["C"]["rels"]) == (1, [5])
    assert (S["B"]["E"]["sign"], S["B"]["E"]["weight"]) == (-1, -0.9)
    assert "E" not in signed_graph(kg, as_of="2021-01-01")


def test_signed_graph_checks_as_of() -> None:
    for bad in ("2024", "2024-13-01", "yesterday"):
        with pytest.raises(ValueError):
            signed_graph(kg_of([]), as_of=bad)


# -- blocs


def test_blocs_two_triangles() -> None:
    assert blocs(two_triangles()) == {
        "items": [
            {"id": "bloc-1", "members": ["A", "B", "C"]},
            {"id": "bloc-2", "members": ["D", "E", "F"]},
        ],
        "crossing": [7],
        "frustrated": [],
        "frustration": 0,
    }


def test_blocs_moves_actor_out_of_frustrating_bloc() -> None:
    # A's tie to B is weak, its hostility to C strong: A is better alone.
    kg = kg_of(
        [
            E(1, "A", "B", "allied_with", 0.2),
            E(2, "B", "C", "allied_with", 0.9),
            E(3, "A", "C", "hostile_to", 0.9),
        ]
    )
    assert blocs(kg) == {
        "items": [{"id": "bloc-1", "members": ["B", "C"]}, {"id": "bloc-2", "members": ["A"]}],
        "crossing": [1, 3],
        "frustrated": [1],
        "frustration": 1,
    }


def test_blocs_unavoidable_frustration() -> None:
    # (+, +, -) with equal weights: any partition leaves exactly one frustrated tie.
    kg = kg_of(
        [
            E(1, "A", "B", "allied_with"),
            E(2, "B", "C", "allied_with"),
            E(3, "A", "C", "rival_of"),
        ]
    )
    result = blocs(kg)
    assert result["frustration"] == 1
    assert len(result["frustrated"]) == 1
    assert result == blocs(kg)  # deterministic
    _check_blocs(kg, result)


def _check_blocs(kg: KG, result: dict[str, object], *, local_optimum: bool = False) -> None:
    """Properties every answer has: a partition, consistent lists, no single move helps."""
    S = signed_graph(kg)
    items = result["items"]
    assert isinstance(items, list)
    bloc_of = {n: item["id"] for item in items for n in item["members"]}
    assert sorted(bloc_of) == sorted(S) == sorted(n for item in items for n in item["members"])
    sizes = [(-len(item["members"]), item["members"][0]) for item in items]
    assert sizes == sorted(sizes)
    crossing, frustrated, count = [], [], 0
    for u, v, d in S.edges(data=True):
        same = bloc_of[u] == bloc_of[v]
        if not same:
            crossing += d["rels"]
        if (d["sign"] > 0) != same:
            frustrated += d["rels"]
            count += 1
    assert result["crossing"] == sorted(crossing)
    assert result["frustrated"] == sorted(frustrated)
    assert result["frustration"] == count
    if not local_optimum:
        return

    def cost(n: str, bloc: str) -> float:
        return math.fsum(
            abs(d["weight"]) for m, d in S.adj[n].items() if (d["sign"] > 0) != (bloc_of[m] == bloc)
        )

    for n in S:
        here = cost(n, bloc_of[n])
        for b in {bloc_of[m] for m in S.adj[n]} | {"alone"}:
            assert cost(n, b) >= here - 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_blocs_properties_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    nodes = "ABCDEFGHIJ"
    edges = [
        E(
            i,
            u,
            v,
            rng.choice(["allied_with", "supports", "hostile_to", "rival_of"]),
            round(rng.uniform(0.1, 1.0), 2),
        )
        for i, (u, v) in enumerate(itertools.combinations(nodes, 2), 1)
        if rng.random() < 0.4
    ]
    kg = kg_of(edges)
    _check_blocs(kg, blocs(kg, max_passes=1000), local_optimum=True)


def test_blocs_respects_as_of_and_empty() -> None:
    kg = kg_of([E(1, "A", "B", "allied_with", vf="2025")])
    assert blocs(kg, as_of="2024-06-01") == {
        "items": [],
        "crossing": [],
        "frustrated": [],
        "frustration": 0,
    }
    with pytest.raises(ValueError):
        blocs(kg, max_passes=-1)


# -- balance


def _triangle(ab: tuple[str, float], bc: tuple[str, float], ac: tuple[str, float]) -> KG:
    return kg_of([E(1, "A", "B", *ab), E(2, "B", "C", *bc), E(3, "A", "C", *ac)])


@pytest.mark.parametrize(
    ("kg", "between", "polarity", "rule"),
    [
        # weakest is B–C (+); through A: B's friend A is hostile to C
        (
            _triangle(("allied_with", 0.9), ("allied_with", 0.5), ("hostile_to", 0.8)),
            ["B", "C"],
            "negative",
            "the enemy of my friend is my enemy",
        ),
        # weakest is A–C (-); through B both are friends
        (
            _triangle(("allied_with", 0.9), ("allied_with", 0.8), ("hostile_to", 0.3)),
            ["A", "C"],
            "positive",
            "the friend of my friend is my friend",
        ),
        # weakest is A–B (+); through C: A's enemy C is B's friend
        (
            _triangle(("allied_with", 0.3), ("allied_with", 0.8), ("hostile_to", 0.9)),
            ["A", "B"],
            "negative",
            "the friend of my enemy is my enemy",
        ),
        # all hostile and equally strong: the first pair flips
        (
            _triangle(("hostile_to", 1.0), ("rival_of", 1.0), ("hostile_to", 1.0)),
            ["A", "B"],
            "positive",
            "the enemy of my enemy is my friend",
        ),
    ],
)
def test_balance_unbalanced_triangle(kg: KG, between: list[str], polarity: str, rule: str) -> None:
    assert balance(kg) == {
        "items": [
            {
                "kind": "unbalanced",
                "actors": ["A", "B", "C"],
                "relationships": [1, 2, 3],
                "implied": {"between": between, "polarity": polarity, "rule": rule},
            }
        ],
        "total": 1,
        "truncated": False,
    }


def test_balance_balanced_triangles_are_not_reported() -> None:
    mixed = _triangle(("allied_with", 1.0), ("hostile_to", 1.0), ("rival_of", 1.0))  # + - -
    friends = _triangle(("allied_with", 1.0), ("supports", 1.0), ("allied_with", 1.0))
    for kg in (mixed, friends):
        assert balance(kg) == {"items": [], "total": 0, "truncated": False}


def test_balance_as_of_excludes_expired_edge() -> None:
    kg = kg_of(
        [
            E(1, "A", "B", "allied_with"),
            E(2, "B", "C", "allied_with"),
            E(3, "A", "C", "hostile_to", vf="2018", vt="2020-06"),
        ]
    )
    assert balance(kg, as_of="2021-01-01")["total"] == 0
    assert balance(kg, as_of="2019-01-01")["total"] == 1
    assert balance(kg, as_of="2017-12-31")["total"] == 0


def test_balance_open_triads() -> None:
    kg = kg_of(
        [
            E(1, "A", "B", "allied_with"),
            E(2, "B", "C", "hostile_to"),
            E(3, "C", "D", "rival_of"),
        ]
    )
    assert balance(kg)["items"] == []
    assert balance(kg, include_open=True) == {
        "items": [
            {
                "kind": "open",
                "actors": ["A", "B", "C"],
                "relationships": [1, 2],
                "implied": {
                    "between": ["A", "C"],
                    "polarity": "negative",
                    "rule": "the enemy of my friend is my enemy",
                },
            },
            {
                "kind": "open",
                "actors": ["B", "C", "D"],
                "relationships": [2, 3],
                "implied": {
                    "between": ["B", "D"],
                    "polarity": "positive",
                    "rule": "the enemy of my enemy is my friend",
                },
            },
        ],
        "total": 2,
        "truncated": False,
    }


def test_balance_open_and_closed_together() -> None:
    # Closed unbalanced A-B-C plus D hanging off C by a positive tie.
    kg = kg_of(
        [
            E(1, "A", "B", "allied_with"),
            E(2, "B", "C", "allied_with"),
            E(3, "A", "C", "hostile_to"),
            E(4, "C", "D", "allied_with", 0.5),
        ]
    )
    result = balance(kg, include_open=True)
    kinds = [(item["kind"], item["actors"]) for item in result["items"]]
    assert kinds == [
        ("unbalanced", ["A", "B", "C"]),
        ("open", ["A", "C", "D"]),
        ("open", ["B", "C", "D"]),
    ]
    assert result["items"][1]["implied"] == {
        "between": ["A", "D"],
        "polarity": "negative",
        "rule": "the friend of my enemy is my enemy",
    }
    assert result["total"] == 3


def _all_hostile_k4() -> KG:
    pairs = itertools.combinations("ABCD", 2)
    return kg_of(E(i, u, v, "hostile_to") for i, (u, v) in enumerate(pairs, 1))


def test_balance_budget_truncates() -> None:
    kg = _all_hostile_k4()  # four (-,-,-) triangles over four neighbour pairs
    full = balance(kg, budget=Budget(4, 60))
    assert (full["total"], full["truncated"]) == (4, False)
    cut = balance(kg, budget=Budget(2, 60))
    assert (cut["total"], cut["truncated"]) == (2, True)
    assert [item["actors"] for item in cut["items"]] == [["A", "B", "C"], ["A", "B", "D"]]


def test_balance_limit_caps_items_not_total() -> None:
    kg = _all_hostile_k4()
    result = balance(kg, limit=1)
    assert [item["actors"] for item in result["items"]] == [["A", "B", "C"]]
    assert result["total"] == 4
    assert balance(kg, limit=0) == {"items": [], "total": 4, "truncated": False}


def test_balance_checks_inputs() -> None:
    with pytest.raises(ValueError):
        balance(_all_hostile_k4(), limit=-1)
    with pytest.raises(TypeError):
        balance(_all_hostile_k4(), budget=10)  # type: ignore[arg-type]


# -- centrality


def star() -> KG:
    return kg_of(
        [
            E(1, "L1", "H", "supports", 0.9),
            E(2, "L2", "H", "member_of", 0.8),
            E(3, "H", "L3", "allied_with", 0.7),
            E(4, "L4", "H", "hostile_to", 0.6),
            E(5, "L5", "H", "diplomatic_contact", 0.5),
        ],
        extra="Z",
    )  # Z has no relationship: not counted


@pytest.mark.parametrize("metric", ["degree", "betweenness", "pagerank"])
def test_centrality_star_hub_first(metric: analytics.Metric) -> None:
    result = centrality(star(), metric=metric, top=3)
    assert result["metric"] == metric
    assert result["items"][0]["actor"] == "H"
    assert len(result["items"]) == 3
    assert result["items"][0]["score"] > result["items"][1]["score"]
    assert (result["sampled"], result["nodes"]) == (False, 6)


def test_centrality_exact_scores() -> None:
    degree = centrality(star(), metric="degree", top=2)
    assert degree["items"] == [{"actor": "H", "score": 1.0}, {"actor": "L1", "score": 0.2}]
    between = centrality(star(), metric="betweenness", top=2)
    assert between["items"] == [{"actor": "H", "score": 1.0}, {"actor": "L1", "score": 0.0}]
    ranks = centrality(star(), metric="pagerank", top=10)["items"]
    assert sum(item["score"] for item in ranks) == pytest.approx(1.0)


def test_centrality_samples_large_graphs() -> None:
    result = centrality(star(), metric="betweenness", sample_above=3)
    assert (result["sampled"], result["nodes"]) == (True, 6)
    assert result["items"][0]["actor"] == "H"
    assert result == centrality(star(), metric="betweenness", sample_above=3)


def test_betweenness_work_bound_caps_the_sources() -> None:
    # star(): 6 actors, 5 ties; 11 steps per source, so 22 steps of work allow 2 sources.
    bounded = centrality(star(), metric="betweenness", max_work=22)
    assert bounded["sampled"] is True
    assert centrality(star(), metric="betweenness", max_work=10_000)["sampled"] is False


def test_centrality_as_of_and_inputs() -> None:
    kg = kg_of([E(1, "A", "B", "allied_with", vt="2020"), E(2, "B", "C", "allied_with")])
    assert centrality(kg, metric="degree", as_of="2021-01-01")["nodes"] == 2
    assert centrality(kg_of([]), metric="pagerank") == {
        "metric": "pagerank",
        "items": [],
        "sampled": False,
        "sources": None,
        "iterations": 0,
        "converged": True,
        "nodes": 0,
    }
    with pytest.raises(ValueError):
        centrality(kg, metric="closeness")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        centrality(kg, metric="degree", top=0)
