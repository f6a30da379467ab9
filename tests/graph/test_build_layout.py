"""The KG's memory layout: per-mode indexes follow every edit, values are shared, and the whole
graph stays within 1.3x a bare NetworkX graph of the same rows."""

from __future__ import annotations

import random
import tracemalloc

import networkx as nx

from app.graph.build import KG, EdgeRow, NodeRow, build
from app.vocabulary import RelType

TYPES = [t.value for t in RelType]


def _rows(n_nodes: int, n_edges: int, seed: int = 1) -> tuple[list[NodeRow], list[EdgeRow]]:
    rng = random.Random(seed)
    nodes = [NodeRow(f"n{i}", f"Node {i}", "state") for i in range(n_nodes)]
    edges = []
    for rid in range(1, n_edges + 1):
        a, b = rng.sample(range(n_nodes), 2)
        vf = rng.choice([None, "2020", "2021-05", "2022-01-03"])
        vt = rng.choice([None, None, "2024"])
        edges.append(
            EdgeRow(rid, f"n{a}", f"n{b}", rng.choice(TYPES), vf, vt, rng.choice([0.5, 0.8]))
        )
    return nodes, edges


def _walks(kg: KG) -> dict[tuple[str, str, bool], set[tuple[str, int]]]:
    out = {}
    for node in kg.G:
        for mode in ("alliance", "hostile", "proxy", "any"):
            for reverse in (False, True):
                out[(mode, node, reverse)] = {
                    (v, rid) for v, rid, _ in kg.neighbours(mode, node, reverse=reverse)
                }
    return out


def _expected(edges: list[EdgeRow]) -> dict[tuple[str, str, bool], set[tuple[str, int]]]:
    from app.graph.build import SIGN

    out: dict[tuple[str, str, bool], set[tuple[str, int]]] = {}

    def add(key: tuple[str, str, bool], v: str, rid: int) -> None:
        out.setdefault(key, set()).add((v, rid))

    for e in edges:
        for reverse in (False, True):
            add(("any", e.source, reverse), e.target, e.id)
            add(("any", e.target, reverse), e.source, e.id)
            if SIGN[e.type]:
                mode = "alliance" if SIGN[e.type] > 0 else "hostile"
                add((mode, e.source, reverse), e.target, e.id)
                add((mode, e.target, reverse), e.source, e.id)
        if e.type == "sponsors":
            add(("proxy", e.source, False), e.target, e.id)
            add(("proxy", e.target, True), e.source, e.id)
    return out


def _same(kg: KG, edges: list[EdgeRow]) -> None:
    got = {k: v for k, v in _walks(kg).items() if v}
    assert got == _expected(edges)
    for e in edges:
        u, v, data = kg.edge(e.id)
        assert (u, v) == (e.source, e.target)
        assert (data["type"], data["vf"], data["vt"], data["conf"]) == e[3:]


def test_each_mode_walks_exactly_its_own_edges() -> None:
    nodes, edges = _rows(30, 400)
    _same(build(nodes, edges), edges)


def test_edits_keep_the_indexes_equal_to_a_fresh_build() -> None:
    nodes, edges = _rows(30, 300)
    kg = build(nodes, edges[:200])
    rng = random.Random(5)
    live = {e.id: e for e in edges[:200]}
    for e in edges[200:]:
        kg.upsert_edge(e)
        live[e.id] = e
    for rid in rng.sample(sorted(live), 60):  # retype, move or re-date some edges
        old = live[rid]
        new = old._replace(type=rng.choice(TYPES), valid_to="2030")
        if rng.random() < 0.3:
            new = new._replace(source=old.target, target=old.source)
        kg.upsert_edge(new)
        live[rid] = new
    for rid in rng.sample(sorted(live), 50):
        kg.remove_edge(rid)
        del live[rid]
    kg.remove_node("n3")
    live = {r: e for r, e in live.items() if "n3" not in (e.source, e.target)}
    assert "n3" not in kg.G and all("n3" not in i for i in (kg.positive, kg.negative))
    _same(kg, list(live.values()))
    fresh = build([n for n in nodes if n.id != "n3"], list(live.values()))
    assert _walks(kg) == {k: v for k, v in _walks(fresh).items()}
    assert kg.G.number_of_edges() == len(live) == len(kg.ends)


def test_edges_share_their_values_and_end_ids() -> None:
    nodes, edges = _rows(10, 200)
    # rows as a database hands them over: fresh string and float objects every time
    copies = [
        EdgeRow(
            e.id,
            "".join(e.source),
            "".join(e.target),
            "".join(e.type),
            None if e.valid_from is None else "".join(e.valid_from),
            e.valid_to,
            float(str(e.confidence)),
        )
        for e in edges
    ]
    kg = build(nodes, copies)
    dated = [kg.edge(e.id)[2] for e in edges if e.valid_from == "2020"]
    assert len(dated) > 1 and all(d["vf"] is dated[0]["vf"] for d in dated)
    assert all(
        d["type"] is kg.edge(edges[0].id)[2]["type"]
        for d in (kg.edge(e.id)[2] for e in edges if e.type == edges[0].type)
    )
    keys = {id(n) for n in kg.G}
    assert all(id(u) in keys and id(v) in keys for u, v in kg.ends.values())


def test_mode_indexes_answer_has_edge() -> None:
    kg = build(
        [NodeRow(n, n, "state") for n in "abc"],
        [
            EdgeRow(1, "a", "b", "allied_with", None, None, 0.9),
            EdgeRow(2, "b", "c", "sponsors", None, None, 0.9),
            EdgeRow(3, "a", "c", "hostile_to", None, None, 0.9),
        ],
    )
    assert kg.positive.has_edge("a", "b") and kg.positive.has_edge("b", "a")
    assert kg.sponsors.has_edge("b", "c") and not kg.sponsors.has_edge("c", "b")
    assert kg.patrons.has_edge("c", "b")
    assert kg.negative.has_edge("c", "a") and not kg.negative.has_edge("a", "b")
    assert kg.positive.number_of_edges() == 4  # both sponsors and allied, each end


def _traced(fn):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = fn()
        return tracemalloc.get_traced_memory()[0] - before, kept
    finally:
        tracemalloc.stop()


def test_memory_stays_within_1_3x_a_bare_multidigraph() -> None:
    def rows() -> tuple[list[tuple], list[tuple]]:  # type: ignore[type-arg]
        nodes, edges = _rows(2_000, 20_000, seed=3)
        # fresh objects per row, as a database cursor returns them
        return (
            [tuple("".join(x) for x in n) for n in nodes],
            [
                (
                    e.id,
                    "".join(e.source),
                    "".join(e.target),
                    "".join(e.type),
                    None if e.valid_from is None else "".join(e.valid_from),
                    None if e.valid_to is None else "".join(e.valid_to),
                    float(str(e.confidence)),
                )
                for e in edges
            ],
        )

    def bare() -> object:
        nodes, edges = rows()
        G: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        G.add_nodes_from((n, {"name": name, "kind": kind}) for n, name, kind in nodes)
        for rid, s, t, ty, vf, vt, conf in edges:
            G.add_edge(s, t, key=rid, type=ty, vf=vf, vt=vt, conf=conf)
        return G

    def ours() -> object:
        nodes, edges = rows()
        return build(map(NodeRow._make, nodes), map(EdgeRow._make, edges))

    bare_bytes, _ = _traced(bare)
    our_bytes, _ = _traced(ours)
    assert our_bytes <= 1.3 * bare_bytes, (our_bytes, bare_bytes)
