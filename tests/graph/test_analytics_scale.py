"""Analytics on graphs past their size limit: the bounded sample, exact degree, bounded PageRank.

Small literal graphs with tiny limits force the large-graph paths; speed itself is measured in
bench/, not here.
"""

from __future__ import annotations

import itertools
import random

import networkx as nx
import pytest

from app.graph.analytics import blocs, centrality, core_sample, signed_graph
from app.graph.build import KG, EdgeRow, NodeRow, build

TYPES = ["allied_with", "supports", "hostile_to", "rival_of", "diplomatic_contact", "sponsors"]


def random_edges(seed: int, nodes: str = "ABCDEFGHIJKL") -> list[EdgeRow]:
    rng = random.Random(seed)
    edges = []
    for u, v in itertools.product(nodes, repeat=2):
        if rng.random() < 0.25:
            vf = rng.choice([None, "2019", "2021-03", "2023-01-01"])
            vt = rng.choice([None, None, "2022", "2024-06"])
            if vf and vt and vt <= vf:
                vt = None
            rel_type = rng.choice(TYPES)
            conf = round(rng.uniform(0.1, 1.0), 2)
            edges.append(EdgeRow(len(edges) + 1, u, v, rel_type, vf, vt, conf))
    return edges


def kg_of(edges: list[EdgeRow]) -> KG:
    ids = sorted({n for e in edges for n in (e.source, e.target)})
    return build([NodeRow(n, f"Actor {n}", "state") for n in ids], edges)


def hub_and_ring() -> KG:
    """H is tied to everyone (4 ties to A), A-B-C-D a ring; E, F a loose pair."""
    edges = [("H", x, "allied_with") for x in "ABCDEF"]
    edges += [("A", "H", "hostile_to"), ("H", "A", "supports"), ("A", "H", "diplomatic_contact")]
    edges += [("A", "B", "allied_with"), ("B", "C", "rival_of"), ("C", "D", "allied_with")]
    edges += [("D", "A", "hostile_to"), ("E", "F", "allied_with")]
    return kg_of([EdgeRow(i, u, v, t, None, None, 0.9) for i, (u, v, t) in enumerate(edges, 1)])


def test_a_graph_within_the_limit_is_used_whole() -> None:
    kg = hub_and_ring()
    assert core_sample(kg, max_ties=len(kg.ends)) == (kg, None)


def test_the_sample_is_the_busiest_core_and_says_what_it_holds() -> None:
    kg = hub_and_ring()
    core, sample = core_sample(kg, max_ties=8)
    # Ranked by neighbours: H (7), A (4), then B, C, D (3 each). A brings its 4 ties to H, B 2,
    # C 2; D's 3 would take the core past 8.
    assert sample == {"actors": 4, "ties": 8, "of_actors": 7, "of_ties": 14}
    assert sorted(core.G) == ["A", "B", "C", "H"]
    assert sorted(core.ends) == [1, 2, 3, 7, 8, 9, 10, 11]
    assert core.G.nodes["A"] == {"name": "Actor A", "kind": "state"}


def test_a_signed_sample_keeps_signed_ties_holding_on_the_date() -> None:
    edges = [
        EdgeRow(1, "A", "B", "allied_with", None, None, 1.0),
        EdgeRow(2, "A", "B", "diplomatic_contact", None, None, 1.0),
        EdgeRow(3, "A", "C", "hostile_to", "2020", None, 1.0),
        EdgeRow(4, "B", "C", "rival_of", None, "2020", 1.0),
        EdgeRow(5, "C", "D", "diplomatic_contact", None, None, 1.0),
    ]
    core, sample = core_sample(kg_of(edges), max_ties=4, as_of="2021-01-01", signed=True)
    assert sorted(core.ends) == [1, 3]
    assert sample == {"actors": 3, "ties": 2, "of_actors": 4, "of_ties": 5}


@pytest.mark.parametrize("seed", range(6))
def test_the_sample_is_bounded_and_deterministic(seed: int) -> None:
    edges = random_edges(seed)
    kg = kg_of(edges)
    shuffled = edges[:]
    random.Random(seed).shuffle(shuffled)
    for signed in (False, True):
        core, sample = core_sample(kg, max_ties=12, as_of="2022-06-01", signed=signed)
        assert sample is not None and sample["ties"] <= 12
        again, same = core_sample(kg_of(shuffled), max_ties=12, as_of="2022-06-01", signed=signed)
        assert same == sample and sorted(again.ends) == sorted(core.ends)
        # Every tie among the sampled actors is in the sample: it is an induced subgraph.
        inside = set(core.G)
        for rid, (u, v) in kg.ends.items():
            data = kg.succ[u][v][rid]
            holding = data["vf"] is None or data["vf"] <= "2022-06-01"
            holding = holding and (data["vt"] is None or data["vt"] > "2022-06-01")
            signed_ok = not signed or data["type"] not in {"diplomatic_contact"}
            if u != v and u in inside and v in inside and holding and signed_ok:
                assert rid in core.ends
        assert blocs(core) == blocs(again)


def test_core_sample_checks_inputs() -> None:
    with pytest.raises(ValueError):
        core_sample(hub_and_ring(), max_ties=0)
    with pytest.raises(ValueError):
        core_sample(hub_and_ring(), max_ties=5, as_of="2024")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("as_of", [None, "2021-06-01", "2023-02-01"])
def test_degree_from_the_adjacency_matches_networkx(seed: int, as_of: str | None) -> None:
    kg = kg_of(random_edges(seed))
    U: nx.Graph[str] = nx.Graph()
    for u, v, data in kg.G.edges(data=True):
        vf, vt = data["vf"], data["vt"]
        if u != v and (
            as_of is None or ((vf is None or vf <= as_of) and (vt is None or as_of < vt))
        ):
            U.add_edge(u, v)
    expected = sorted(nx.degree_centrality(U).items(), key=lambda kv: (-kv[1], kv[0]))
    result = centrality(kg, metric="degree", top=100, as_of=as_of)
    assert result["nodes"] == U.number_of_nodes()
    assert [(i["actor"], i["score"]) for i in result["items"]] == expected


def test_pagerank_work_bound_cuts_iterations_and_says_so() -> None:
    kg = kg_of(random_edges(1))
    full = centrality(kg, metric="pagerank", top=100)
    assert full["converged"] is True and 1 < full["iterations"] <= 100
    # Fewer steps than one iteration takes: one iteration runs, not converged.
    cut = centrality(kg, metric="pagerank", top=100, pagerank_max_work=1)
    assert (cut["iterations"], cut["converged"]) == (1, False)
    assert sum(i["score"] for i in cut["items"]) == pytest.approx(1.0)
    assert cut == centrality(kg, metric="pagerank", top=100, pagerank_max_work=1)
    assert (full["sources"], cut["sources"]) == (None, None)


def test_betweenness_reports_its_sources() -> None:
    kg = kg_of(random_edges(2))
    whole = centrality(kg, metric="betweenness")
    assert (whole["sampled"], whole["sources"]) == (False, whole["nodes"])
    few = centrality(kg, metric="betweenness", sample_above=3)
    assert (few["sampled"], few["sources"], few["iterations"]) == (True, 3, None)


def test_signed_graph_of_a_sample_is_the_induced_part_of_the_whole() -> None:
    kg = kg_of(random_edges(3))
    core, _ = core_sample(kg, max_ties=10, signed=True)
    whole, part = signed_graph(kg), signed_graph(core)
    for u, v, d in part.edges(data=True):
        assert whole.adj[u][v] == d
