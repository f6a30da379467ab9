"""Export filters and the four streamed formats, read back with json / networkx."""

from __future__ import annotations

import io
import json
from typing import Any

import networkx as nx
import pytest

from app.graph.build import KG, EdgeRow, NodeRow, build
from app.graph.export import (
    FORMATS,
    export_graph,
    iter_cytoscape,
    iter_gexf,
    iter_graphml,
    iter_node_link,
)


def sample() -> KG:
    return build(
        [
            NodeRow("A", "Alpha", "state"),
            NodeRow("B", "Beta", "armed_group"),
            NodeRow("C", "Gamma", "person"),
            NodeRow("D", "Delta", "media"),  # no relationships
        ],
        [
            EdgeRow(3, "B", "C", "hostile_to", None, None, 0.7),
            EdgeRow(1, "A", "B", "allied_with", "2020", None, 0.9),
            EdgeRow(2, "A", "C", "supports", "2024-01", "2024-06", 0.5),
        ],
    )


EDGES: dict[int, tuple[str, str, dict[str, Any]]] = {
    1: (
        "A",
        "B",
        {
            "id": 1,
            "type": "allied_with",
            "polarity": "positive",
            "directed": False,
            "confidence": 0.9,
            "valid_from": "2020",
            "valid_to": "",
        },
    ),
    2: (
        "A",
        "C",
        {
            "id": 2,
            "type": "supports",
            "polarity": "positive",
            "directed": True,
            "confidence": 0.5,
            "valid_from": "2024-01",
            "valid_to": "2024-06",
        },
    ),
    3: (
        "B",
        "C",
        {
            "id": 3,
            "type": "hostile_to",
            "polarity": "negative",
            "directed": False,
            "confidence": 0.7,
            "valid_from": "",
            "valid_to": "",
        },
    ),
}
NODES = {
    "A": {"name": "Alpha", "kind": "state"},
    "B": {"name": "Beta", "kind": "armed_group"},
    "C": {"name": "Gamma", "kind": "person"},
    "D": {"name": "Delta", "kind": "media"},
}


def nodes_of(G: nx.Graph[str]) -> dict[str, Any]:
    return {n: d for n, d in G.nodes(data=True)}


def edges_of(H: nx.MultiDiGraph[str]) -> list[tuple[str, str, int, dict[str, Any]]]:
    return list(H.edges(keys=True, data=True))


# -- export_graph


def test_export_unfiltered_keeps_every_actor() -> None:
    H = export_graph(sample())
    assert isinstance(H, nx.MultiDiGraph)
    assert nodes_of(H) == NODES
    assert edges_of(H) == [(u, v, k, d) for k, (u, v, d) in sorted(EDGES.items())]


@pytest.mark.parametrize(
    ("options", "nodes", "keys"),
    [
        ({"as_of": "2025-01-01"}, ["A", "B", "C"], [1, 3]),
        ({"as_of": "2024-03-15"}, ["A", "B", "C"], [1, 2, 3]),
        ({"as_of": "2019-12-31"}, ["B", "C"], [3]),
        ({"types": {"supports"}}, ["A", "C"], [2]),
        ({"types": {"allied_with", "hostile_to"}}, ["A", "B", "C"], [1, 3]),
        ({"polarity": "negative"}, ["B", "C"], [3]),
        ({"polarity": "neutral"}, [], []),
        ({"polarity": "positive", "as_of": "2025-01-01"}, ["A", "B"], [1]),
        ({"types": set()}, [], []),
    ],
)
def test_export_filters(options: dict[str, Any], nodes: list[str], keys: list[int]) -> None:
    H = export_graph(sample(), **options)
    assert list(H) == nodes
    assert [k for _, _, k in H.edges(keys=True)] == keys
    for u, v, k, d in edges_of(H):
        assert (u, v, d) == EDGES[k]


@pytest.mark.parametrize(
    "options",
    [{"as_of": "2024"}, {"types": {"likes"}}, {"polarity": "mixed"}],
)
def test_export_checks_inputs(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        export_graph(sample(), **options)


# -- formats


def test_node_link_json() -> None:
    data = json.loads(b"".join(iter_node_link(export_graph(sample()))))
    assert data == {
        "directed": True,
        "multigraph": True,
        "graph": {},
        "nodes": [{"id": n, **attrs} for n, attrs in NODES.items()],
        "links": [
            {
                "source": u,
                "target": v,
                "key": k,
                **{a: (None if a.startswith("valid_") and x == "" else x) for a, x in d.items()},
            }
            for k, (u, v, d) in sorted(EDGES.items())
        ],
    }
    back = nx.node_link_graph(data, edges="links")
    assert sorted(back.edges) == [("A", "B", 1), ("A", "C", 2), ("B", "C", 3)]


def test_node_link_writes_none_as_null() -> None:
    H: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    H.add_node("A", name=None, kind="state")
    H.add_edge("A", "A", key=7, note=None)
    data = json.loads(b"".join(iter_node_link(H)))
    assert data["nodes"] == [{"id": "A", "name": None, "kind": "state"}]
    assert data["links"] == [{"source": "A", "target": "A", "key": 7, "note": None}]


def test_cytoscape_json() -> None:
    H = export_graph(sample(), polarity="negative")
    assert json.loads(b"".join(iter_cytoscape(H))) == {
        "elements": {
            "nodes": [
                {"data": {"id": "B", "name": "Beta", "kind": "armed_group"}},
                {"data": {"id": "C", "name": "Gamma", "kind": "person"}},
            ],
            "edges": [
                {
                    "data": {
                        "id": "r3",
                        "source": "B",
                        "target": "C",
                        "relationship": 3,
                        "type": "hostile_to",
                        "polarity": "negative",
                        "directed": False,
                        "confidence": 0.7,
                        "valid_from": None,
                        "valid_to": None,
                    }
                },
            ],
        }
    }


def test_cytoscape_empty_and_simple_graph() -> None:
    assert json.loads(b"".join(iter_cytoscape(nx.MultiDiGraph()))) == {
        "elements": {"nodes": [], "edges": []}
    }
    with pytest.raises(ValueError):
        iter_cytoscape(nx.DiGraph())  # type: ignore[arg-type]


def test_graphml_round_trip() -> None:
    H = export_graph(sample())
    R = nx.read_graphml(io.BytesIO(b"".join(iter_graphml(H))), force_multigraph=True)
    assert isinstance(R, nx.MultiDiGraph)
    assert nodes_of(R) == NODES
    assert sorted(edges_of(R), key=lambda e: e[2]) == edges_of(H)


def test_gexf_round_trip() -> None:
    H = export_graph(sample(), as_of="2024-03-01")
    R = nx.read_gexf(io.BytesIO(b"".join(iter_gexf(H))))
    assert nodes_of(R) == {
        n: {**attrs, "label": attrs["name"]} for n, attrs in NODES.items() if n != "D"
    }
    got = {int(d["id"]): (u, v, d) for u, v, d in R.edges(data=True)}
    assert sorted(got) == [1, 2, 3]
    for k, (u, v, d) in got.items():
        eu, ev, expected = EDGES[k]
        assert (u, v) == (eu, ev)
        rest = {a: x for a, x in d.items() if a not in ("id", "rel_type", "label")}
        assert rest == {a: x for a, x in expected.items() if a not in ("id", "type")}
        assert d["rel_type"] == d["label"] == expected["type"]
    assert H.edges["A", "B", 1]["type"] == "allied_with"  # the export itself is untouched


def test_streams_in_bounded_chunks() -> None:
    nodes = [NodeRow(f"n{i:05}", f"Actor {i}", "state") for i in range(5000)]
    edges = [
        EdgeRow(i, f"n{i:05}", f"n{i + 1:05}", "cooperates_with", None, None, 0.5)
        for i in range(4999)
    ]
    H = export_graph(build(nodes, edges))
    for name, (media_type, fn) in FORMATS.items():
        chunks = list(fn(H))
        assert all(isinstance(c, bytes) for c in chunks), name
        assert len(chunks) > 1, name
        assert max(len(c) for c in chunks) < 1 << 17, name
        assert media_type.startswith("application/")
    data = json.loads(b"".join(iter_node_link(H)))
    assert (len(data["nodes"]), len(data["links"])) == (5000, 4999)


def test_formats_table() -> None:
    assert {name: media for name, (media, _) in FORMATS.items()} == {
        "node-link": "application/json",
        "cytoscape": "application/json",
        "graphml": "application/graphml+xml",
        "gexf": "application/gexf+xml",
    }


def test_iterators_check_input_eagerly() -> None:
    for _, fn in FORMATS.values():
        with pytest.raises(TypeError):
            fn("not a graph")  # type: ignore[arg-type]
