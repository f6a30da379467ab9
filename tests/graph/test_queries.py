"""Traversals on tiny literal graphs with exact answers."""

from __future__ import annotations

import itertools
import random

import pytest

from app.graph.analytics import Budget
from app.graph.build import EdgeRow, Mode, NodeRow, build
from app.graph.queries import (
    UnknownNode,
    diff,
    edge_filter,
    k_shortest_paths,
    neighbourhood,
    sponsor_chains,
    ties,
)

ALL = edge_filter()


def E(
    i: int, u: str, v: str, t: str, vf: str | None = None, vt: str | None = None, c: float = 0.9
) -> EdgeRow:
    return EdgeRow(i, u, v, t, vf, vt, c)


def kg_of(edges: list[EdgeRow], extra: str = ""):  # type: ignore[no-untyped-def]
    names = sorted({e.source for e in edges} | {e.target for e in edges} | set(extra))
    return build([NodeRow(n, n.upper(), "state") for n in names], edges)


def budget() -> Budget:
    return Budget(1_000_000, 5.0)


def test_alliance_path_walks_positive_ties_either_way_and_skips_negative() -> None:
    kg = kg_of(
        [E(1, "b", "a", "sponsors"), E(2, "b", "c", "allied_with"), E(3, "a", "c", "hostile_to")]
    )
    r = k_shortest_paths(kg, "a", "c", mode="alliance", k=3, max_hops=4, keep=ALL, budget=budget())
    assert [p.nodes for p in r.paths] == [["a", "b", "c"]]
    assert r.paths[0].rels == [1, 2]
    hostile = k_shortest_paths(
        kg, "a", "c", mode="hostile", k=3, max_hops=4, keep=ALL, budget=budget()
    )
    assert [p.nodes for p in hostile.paths] == [["a", "c"]]


def test_proxy_paths_follow_sponsor_direction_only() -> None:
    kg = kg_of([E(1, "a", "b", "sponsors"), E(2, "b", "c", "sponsors")])
    down = k_shortest_paths(kg, "a", "c", mode="proxy", k=2, max_hops=3, keep=ALL, budget=budget())
    up = k_shortest_paths(kg, "c", "a", mode="proxy", k=2, max_hops=3, keep=ALL, budget=budget())
    assert [p.nodes for p in down.paths] == [["a", "b", "c"]]
    assert up.paths == []


def test_k_paths_come_shortest_first_and_respect_max_hops() -> None:
    kg = kg_of(
        [
            E(1, "a", "d", "allied_with"),
            E(2, "a", "b", "allied_with"),
            E(3, "b", "d", "allied_with"),
            E(4, "b", "c", "allied_with"),
            E(5, "c", "d", "allied_with"),
        ]
    )
    r = k_shortest_paths(kg, "a", "d", mode="alliance", k=5, max_hops=3, keep=ALL, budget=budget())
    lengths = [len(p.rels) for p in r.paths]
    assert lengths == sorted(lengths)
    assert lengths == [1, 2, 3]
    assert all(len(set(p.nodes)) == len(p.nodes) for p in r.paths)
    r2 = k_shortest_paths(kg, "a", "d", mode="alliance", k=5, max_hops=2, keep=ALL, budget=budget())
    assert [len(p.rels) for p in r2.paths] == [1, 2]


def test_confidence_weight_prefers_better_attested_route() -> None:
    kg = kg_of(
        [
            E(1, "a", "d", "allied_with", c=0.1),
            E(2, "a", "b", "allied_with", c=0.95),
            E(3, "b", "d", "allied_with", c=0.95),
        ]
    )
    plain = k_shortest_paths(
        kg, "a", "d", mode="alliance", k=1, max_hops=3, keep=ALL, budget=budget()
    )
    weighted = k_shortest_paths(
        kg,
        "a",
        "d",
        mode="alliance",
        k=1,
        max_hops=3,
        keep=ALL,
        budget=budget(),
        weight="confidence",
    )
    assert plain.paths[0].nodes == ["a", "d"]
    assert weighted.paths[0].nodes == ["a", "b", "d"]


def test_as_of_hides_ties_outside_their_dates() -> None:
    kg = kg_of(
        [E(1, "a", "b", "allied_with", vf="2024-12"), E(2, "b", "c", "allied_with", vt="2025")]
    )
    on = edge_filter(as_of="2024-12-01")
    before = edge_filter(as_of="2024-11-30")
    after = edge_filter(as_of="2025-01-01")
    assert (
        len(
            k_shortest_paths(
                kg, "a", "c", mode="alliance", k=1, max_hops=3, keep=on, budget=budget()
            ).paths
        )
        == 1
    )
    assert (
        k_shortest_paths(
            kg, "a", "c", mode="alliance", k=1, max_hops=3, keep=before, budget=budget()
        ).paths
        == []
    )
    assert (
        k_shortest_paths(
            kg, "a", "c", mode="alliance", k=1, max_hops=3, keep=after, budget=budget()
        ).paths
        == []
    )


def _clique(n: int, start: int = 0) -> list[EdgeRow]:
    nodes = [f"n{i:02d}" for i in range(n)]
    return [
        E(start + i, u, v, "allied_with")
        for i, (u, v) in enumerate(itertools.combinations(nodes, 2))
    ]


def test_dense_cluster_with_target_out_of_reach_answers_at_once() -> None:
    kg = kg_of([*_clique(30), E(10_000, "x", "y", "allied_with")])
    spend = budget()
    r = k_shortest_paths(kg, "n00", "y", mode="alliance", k=20, max_hops=6, keep=ALL, budget=spend)
    assert r.paths == [] and not r.truncated
    # Work, not wall time: only the target's side (x-y) is walked, never the clique's 435 ties.
    assert spend.spent <= 4


def test_thousands_of_simple_paths_are_cut_by_k_and_budget() -> None:
    kg = kg_of(_clique(30))
    r = k_shortest_paths(
        kg, "n00", "n29", mode="alliance", k=20, max_hops=6, keep=ALL, budget=budget()
    )
    assert len(r.paths) == 20
    assert r.paths[0].nodes == ["n00", "n29"]
    tiny = k_shortest_paths(
        kg, "n00", "n29", mode="alliance", k=20, max_hops=6, keep=ALL, budget=Budget(50, 5.0)
    )
    assert tiny.truncated
    assert len(tiny.paths) < 20


def test_unknown_node_is_reported() -> None:
    kg = kg_of([E(1, "a", "b", "allied_with")])
    with pytest.raises(UnknownNode):
        k_shortest_paths(kg, "a", "zz", mode="any", k=1, max_hops=2, keep=ALL, budget=budget())


def test_sponsor_chains_down_and_up_with_depth_and_chain() -> None:
    kg = kg_of(
        [
            E(1, "iran", "houthis", "sponsors"),
            E(2, "houthis", "cell", "sponsors"),
            E(3, "iran", "hamas", "allied_with"),
        ]
    )
    down, cut = sponsor_chains(
        kg, "iran", upward=False, depth=3, keep=ALL, max_nodes=100, budget=budget()
    )
    assert [(r.node, r.depth, r.chain) for r in down] == [
        ("houthis", 1, ["iran", "houthis"]),
        ("cell", 2, ["iran", "houthis", "cell"]),
    ]
    assert not cut
    up, _ = sponsor_chains(
        kg, "cell", upward=True, depth=1, keep=ALL, max_nodes=100, budget=budget()
    )
    assert [(r.node, r.chain) for r in up] == [("houthis", ["cell", "houthis"])]


def test_ties_direction_filter() -> None:
    kg = kg_of(
        [E(1, "a", "b", "sponsors"), E(2, "c", "a", "sponsors"), E(3, "a", "d", "allied_with")]
    )
    assert {(r, c, d) for r, c, d in ties(kg, "a", keep=ALL)} == {
        (1, "b", "out"),
        (2, "c", "in"),
        (3, "d", "both"),
    }
    assert {r for r, _, _ in ties(kg, "a", keep=ALL, direction="out")} == {1, 3}
    assert {r for r, _, _ in ties(kg, "a", keep=ALL, direction="in")} == {2, 3}
    assert {r for r, _, _ in ties(kg, "a", keep=ALL, direction="both")} == {3}


def test_neighbourhood_is_capped_and_says_so() -> None:
    kg = kg_of([E(i, "hub", f"s{i:03d}", "cooperates_with") for i in range(50)])
    full = neighbourhood(kg, "hub", depth=1, keep=ALL, max_nodes=1000)
    assert len(full.nodes) == 51 and len(full.edges) == 50 and not full.truncated
    cut = neighbourhood(kg, "hub", depth=1, keep=ALL, max_nodes=10)
    assert len(cut.nodes) == 10 and cut.truncated
    assert all(kg.ends[r][1] in cut.nodes for r in cut.edges)


def test_diff_reports_began_ended_and_polarity_flip() -> None:
    kg = kg_of(
        [
            E(1, "a", "b", "allied_with", vt="2024-12"),
            E(2, "a", "b", "hostile_to", vf="2024-12"),
            E(3, "c", "d", "cooperates_with", vf="2023"),
        ]
    )
    d = diff(kg, "2024-06-01", "2025-04-04")
    assert d.began == [2] and d.ended == [1]
    assert [(u, v, b, a) for u, v, b, a, _ in d.polarity_changed] == [("a", "b", 1, -1)]


def test_sponsor_chains_filtered_by_date_in_both_directions() -> None:
    kg = kg_of(
        [
            E(1, "iran", "houthis", "sponsors", vf="2015"),
            E(2, "houthis", "cell", "sponsors", vf="2020", vt="2022"),
            E(3, "iran", "cell", "sponsors", vf="2023"),
        ]
    )
    on = edge_filter(as_of="2021-06-01")
    down, _ = sponsor_chains(
        kg, "iran", upward=False, depth=3, keep=on, max_nodes=100, budget=budget()
    )
    assert [(r.node, r.chain, r.rels) for r in down] == [
        ("houthis", ["iran", "houthis"], [1]),
        ("cell", ["iran", "houthis", "cell"], [1, 2]),
    ]
    up, _ = sponsor_chains(
        kg,
        "cell",
        upward=True,
        depth=3,
        keep=edge_filter(as_of="2024-01-01"),
        max_nodes=100,
        budget=budget(),
    )
    assert [(r.node, r.rels) for r in up] == [("iran", [3])]


def test_sponsor_chains_stop_at_the_node_cap_and_say_so() -> None:
    kg = kg_of([E(i, "hub", f"p{i:02d}", "sponsors") for i in range(20)])
    reached, cut = sponsor_chains(
        kg, "hub", upward=False, depth=2, keep=ALL, max_nodes=5, budget=budget()
    )
    assert len(reached) == 5 and cut


def test_an_empty_filter_admits_every_edge() -> None:
    assert edge_filter()({"type": "sponsors", "vf": "2030", "vt": None, "conf": 0.0})


def test_ties_come_by_type_then_counterpart_name_then_id() -> None:
    kg = kg_of(
        [
            E(5, "a", "c", "sponsors"),
            E(4, "a", "b", "sponsors"),
            E(3, "d", "a", "allied_with"),
            E(2, "a", "b", "allied_with"),
            E(1, "a", "b", "sponsors", vf="2020"),
        ]
    )
    assert [rid for rid, _, _ in ties(kg, "a", keep=ALL)] == [2, 3, 1, 4, 5]


@pytest.mark.parametrize("mode", ["alliance", "proxy", "hostile", "any"])
def test_one_shortest_path_reads_the_same_with_or_without_a_filter(mode: Mode) -> None:
    # keep_all walks the mode's index alone; any other filter reads edge data: same answers.
    types = ["allied_with", "sponsors", "hostile_to", "rival_of", "diplomatic_contact"]
    rng = random.Random(7)
    nodes = [f"n{i}" for i in range(25)]
    edges = [E(i, rng.choice(nodes), rng.choice(nodes), rng.choice(types)) for i in range(1, 60)]
    kg = kg_of([e for e in edges if e.source != e.target])
    for a, b in itertools.permutations(nodes[:10], 2):
        if a not in kg.G or b not in kg.G:
            continue
        fast, slow, full = (
            k_shortest_paths(kg, a, b, mode=mode, k=k, max_hops=4, keep=keep, budget=budget())
            for k, keep in ((1, ALL), (1, lambda _d: True), (3, ALL))
        )
        assert [p.nodes for p in fast.paths] == [p.nodes for p in slow.paths]
        assert [len(p.rels) for p in fast.paths] == [len(p.rels) for p in full.paths[:1]]
