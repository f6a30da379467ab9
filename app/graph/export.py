"""Export a filtered copy of the KG and stream it as node-link, Cytoscape, GraphML or GEXF.

:func:`export_graph` builds a ``MultiDiGraph`` whose attributes are all scalars, so every format
can hold it. The ``iter_*`` functions check their input, then return generators of ``bytes``
chunks (about 64 KiB each); the JSON ones serialise element by element with orjson.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import networkx as nx
import orjson

from app.graph.analytics import check_as_of
from app.graph.build import DIRECTED, KG, POLARITY, holds

__all__ = [
    "FORMATS",
    "POLARITIES",
    "export_graph",
    "iter_cytoscape",
    "iter_gexf",
    "iter_graphml",
    "iter_node_link",
]

POLARITIES = frozenset(POLARITY.values())

_CHUNK = 1 << 16
_DATES = ("valid_from", "valid_to")


def export_graph(
    kg: KG,
    *,
    as_of: str | None = None,
    types: set[str] | None = None,
    polarity: str | None = None,
) -> nx.MultiDiGraph[str]:
    """A copy of the relationships holding on ``as_of``, filtered by type and polarity.

    Parameters
    ----------
    kg : KG
    as_of : str or None
        Full ISO date; None keeps every relationship.
    types : set of str or None
        Relationship types to keep; None keeps all.
    polarity : {"positive", "negative", "neutral"} or None
        Polarity to keep; None keeps all.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes carry ``name`` and ``kind``; each edge is keyed by its relationship id and carries
        ``id``, ``type``, ``polarity``, ``directed``, ``confidence``, ``valid_from`` and
        ``valid_to`` ("" when open). With no filter every actor is kept, otherwise only those
        touching a kept edge. Nodes and edges are in sorted order.
    """
    check_as_of(as_of)
    if types is not None:
        if isinstance(types, str) or not isinstance(types, Iterable):
            raise TypeError(f"types must be a set of relationship types, got {types!r}")
        unknown = sorted(set(types) - POLARITY.keys())
        if unknown:
            raise ValueError(f"unknown relationship types: {', '.join(map(str, unknown))}")
    if polarity is not None and polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {', '.join(sorted(POLARITIES))}")

    G = kg.G
    kept: list[tuple[int, str, str, dict[str, Any]]] = []
    for u, v, rid, data in G.edges(keys=True, data=True):
        rel_type = data["type"]
        if types is not None and rel_type not in types:
            continue
        if polarity is not None and POLARITY[rel_type] != polarity:
            continue
        if holds(data, as_of):
            kept.append((rid, u, v, data))
    kept.sort(key=lambda e: e[0])

    unfiltered = as_of is None and types is None and polarity is None
    nodes = sorted(G) if unfiltered else sorted({n for _, u, v, _ in kept for n in (u, v)})
    H: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for n in nodes:
        attrs = G.nodes[n]
        H.add_node(n, name=attrs.get("name", n), kind=attrs.get("kind", ""))
    for rid, u, v, data in kept:
        rel_type = data["type"]
        H.add_edge(
            u,
            v,
            key=rid,
            id=rid,
            type=rel_type,
            polarity=POLARITY[rel_type],
            directed=DIRECTED[rel_type],
            confidence=float(data["conf"]),
            valid_from=data["vf"] or "",
            valid_to=data["vt"] or "",
        )
    return H


# -- streaming


def _check_graph(H: object) -> None:
    if not isinstance(H, nx.Graph):
        raise TypeError(f"expected a networkx graph, got {type(H).__name__}")


def _chunked(parts: Iterable[bytes]) -> Iterator[bytes]:
    """Join small parts into chunks of about ``_CHUNK`` bytes."""
    buf: list[bytes] = []
    size = 0
    for part in parts:
        buf.append(part)
        size += len(part)
        if size >= _CHUNK:
            yield b"".join(buf)
            buf.clear()
            size = 0
    if buf:
        yield b"".join(buf)


def _array(items: Iterable[Any]) -> Iterator[bytes]:
    """A JSON array written one element at a time."""
    yield b"["
    sep = b""
    for item in items:
        yield sep + orjson.dumps(item)
        sep = b","
    yield b"]"


def _json_attrs(attrs: dict[str, Any], *, skip: tuple[str, ...]) -> dict[str, Any]:
    """Attributes for JSON: open dates ("") become null, names in ``skip`` are dropped."""
    return {k: None if k in _DATES and v == "" else v for k, v in attrs.items() if k not in skip}


def _edges(H: nx.Graph[Any]) -> Iterator[tuple[Any, Any, Any, dict[str, Any]]]:
    """(u, v, key, data) for every edge; the key is None in a simple graph."""
    if isinstance(H, nx.MultiGraph):
        yield from H.edges(keys=True, data=True)
    else:
        for u, v, data in H.edges(data=True):
            yield u, v, None, data


def iter_node_link(H: nx.Graph[Any]) -> Iterator[bytes]:
    """Stream ``H`` as networkx node-link JSON (edges under ``"links"``).

    Parameters
    ----------
    H : networkx graph
        Usually from :func:`export_graph`.

    Returns
    -------
    iterator of bytes
        UTF-8 JSON; None attributes and open dates are written as null.
    """
    _check_graph(H)

    def parts() -> Iterator[bytes]:
        yield b'{"directed":' + orjson.dumps(H.is_directed())
        yield b',"multigraph":' + orjson.dumps(H.is_multigraph())
        yield b',"graph":' + orjson.dumps(H.graph, option=orjson.OPT_NON_STR_KEYS)
        yield b',"nodes":'
        yield from _array({"id": n, **_json_attrs(d, skip=("id",))} for n, d in H.nodes(data=True))
        yield b',"links":'
        skip = ("source", "target", "key")
        yield from _array(
            {
                "source": u,
                "target": v,
                **({} if k is None else {"key": k}),
                **_json_attrs(d, skip=skip),
            }
            for u, v, k, d in _edges(H)
        )
        yield b"}"

    return _chunked(parts())


def iter_cytoscape(H: nx.MultiDiGraph[Any]) -> Iterator[bytes]:
    """Stream ``H`` as Cytoscape.js elements JSON.

    Parameters
    ----------
    H : networkx.MultiDiGraph
        Keyed by relationship id, usually from :func:`export_graph`.

    Returns
    -------
    iterator of bytes
        ``{"elements": {"nodes": [{"data": ...}], "edges": [{"data": ...}]}}``; an edge's
        ``id`` is ``"r<relationship id>"`` and ``relationship`` the id itself. None attributes and
        open dates are written as null.
    """
    _check_graph(H)
    if not H.is_multigraph():
        raise ValueError("iter_cytoscape needs a multigraph keyed by relationship id")

    def parts() -> Iterator[bytes]:
        yield b'{"elements":{"nodes":'
        yield from _array(
            {"data": {"id": n, **_json_attrs(d, skip=("id",))}} for n, d in H.nodes(data=True)
        )
        yield b',"edges":'
        skip = ("id", "source", "target", "relationship")
        yield from _array(
            {
                "data": {
                    "id": f"r{k}",
                    "source": u,
                    "target": v,
                    "relationship": k,
                    **_json_attrs(d, skip=skip),
                }
            }
            for u, v, k, d in H.edges(keys=True, data=True)
        )
        yield b"}}"

    return _chunked(parts())


def _lines(lines: Iterable[str]) -> Iterator[bytes]:
    return _chunked((line + "\n").encode("utf-8") for line in lines)


def iter_graphml(H: nx.Graph[Any]) -> Iterator[bytes]:
    """Stream ``H`` as GraphML (``nx.generate_graphml``); attributes must be scalars, not None.

    Returns
    -------
    iterator of bytes
        UTF-8 XML; edge ids are the edge keys (relationship ids).
    """
    _check_graph(H)
    return _lines(nx.generate_graphml(H))


def _gexf_ready(H: nx.Graph[Any]) -> nx.Graph[Any]:
    """A copy GEXF can hold: GEXF reserves an edge's ``type`` for its direction, so the
    relationship type moves to ``rel_type`` (and the edge ``label``); nodes get ``label``=name."""
    X: nx.Graph[Any] = H.__class__()
    X.graph.update(H.graph)
    for n, d in H.nodes(data=True):
        X.add_node(n, **d)
        if "name" in d and "label" not in d:
            X.nodes[n]["label"] = d["name"]
    for u, v, k, d in _edges(H):
        data = dict(d)
        if "type" in data:
            data["rel_type"] = data.pop("type")
            data.setdefault("label", data["rel_type"])
        if k is None:
            X.add_edge(u, v, **data)
        else:
            X.add_edge(u, v, key=k, **data)
    return X


def iter_gexf(H: nx.Graph[Any]) -> Iterator[bytes]:
    """Stream ``H`` as GEXF 1.2 (``nx.generate_gexf``); attributes must be scalars, not None.

    Returns
    -------
    iterator of bytes
        UTF-8 XML; an edge's id is its ``id`` attribute, its relationship type is written as
        ``rel_type`` and as the edge label, and a node's label is its ``name``.
    """
    _check_graph(H)
    return _lines(nx.generate_gexf(_gexf_ready(H)))


FORMATS: dict[str, tuple[str, Callable[[nx.MultiDiGraph[str]], Iterator[bytes]]]] = {
    "node-link": ("application/json", iter_node_link),
    "cytoscape": ("application/json", iter_cytoscape),
    "graphml": ("application/graphml+xml", iter_graphml),
    "gexf": ("application/gexf+xml", iter_gexf),
}
