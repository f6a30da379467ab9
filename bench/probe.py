"""Subprocess probes, each run in a fresh interpreter so its time and memory are its own.

``python -m bench.probe bare DB``: the floor: import NetworkX, read the ties from the SQLite
file with sqlite3 and build a bare ``MultiDiGraph`` (three attributes an edge, as a careful user
would); prints JSON with the seconds from interpreter start and the resident memory.

``python -m bench.probe kg DB``: the service's own graph built the way the server builds it
(``SqlFeed.snapshot`` + ``build``), same measurements, plus in-process query timings.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import psutil


def _since_start() -> float:
    return time.time() - psutil.Process(os.getpid()).create_time()


def bare(db: str) -> dict[str, float]:
    import sqlite3

    import networkx as nx

    base = psutil.Process().memory_info().rss
    conn = sqlite3.connect(db)
    G: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    G.add_nodes_from(r[0] for r in conn.execute("SELECT id FROM actor"))
    for rid, s, t, rel_type, vf, vt, conf in conn.execute(
        "SELECT id, source_id, target_id, type, valid_from, valid_to, confidence FROM relationship"
    ):
        G.add_edge(s, t, key=rid, type=rel_type, vf=vf or None, vt=vt, conf=conf)
    seconds = _since_start()
    return {
        "seconds": seconds,
        "rss_mb": psutil.Process().memory_info().rss / 2**20,
        "rss_base_mb": base / 2**20,
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(),
    }


def kg(db: str) -> dict[str, float]:
    from app.db import make_engine
    from app.graph.build import build
    from app.repo import SqlFeed
    from app.settings import Settings

    engine = make_engine(Settings(database_url=f"sqlite:///{db}"))
    base = psutil.Process().memory_info().rss
    started = time.perf_counter()
    _, nodes, edges = SqlFeed(engine).snapshot()  # the ties stream while the graph is built
    graph = build(nodes, edges)
    del nodes, edges
    return {
        "seconds": _since_start(),
        "load_s": time.perf_counter() - started,
        "rss_mb": psutil.Process().memory_info().rss / 2**20,
        "rss_base_mb": base / 2**20,
        "nodes": graph.G.number_of_nodes(),
        "edges": graph.G.number_of_edges(),
    }


def queries(db: str, qfile: str) -> dict[str, Any]:
    """In-process p50/p99 of the questions the peer is asked: alliance and proxy paths, 2-hop."""
    import statistics

    from app.db import make_engine
    from app.graph import queries as q
    from app.graph.analytics import Budget
    from app.graph.build import build
    from app.repo import SqlFeed
    from app.settings import Settings

    spec = json.loads(Path(qfile).read_text())
    settings = Settings(database_url=f"sqlite:///{db}")
    _, nodes, edges = SqlFeed(make_engine(settings)).snapshot()
    graph = build(nodes, edges)
    del nodes, edges

    def keep(_d: dict[str, Any]) -> bool:
        return True

    def budget() -> Budget:
        return Budget(settings.max_expansions, settings.query_time_budget_s)

    def timed(fn: Any, args: list[Any]) -> dict[str, Any]:
        times, found = [], 0
        for a in args:
            started = time.perf_counter()
            found += bool(fn(*a))
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        return {
            "n": len(times),
            "p50_ms": statistics.median(times),
            "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
            "answered": found,
        }

    def path(mode: Any) -> Any:
        def run(a: str, b: str) -> list[Any]:
            r = q.k_shortest_paths(
                graph,
                a,
                b,
                mode=mode,
                k=1,
                max_hops=4,
                keep=keep,
                budget=budget(),
                max_region=settings.max_nodes,
            )
            return r.paths

        return run

    def two_hop(a: str) -> set[str]:
        # The distinct actors within two hops, either direction: what Kuzu is asked.
        seen = {a}
        level = [a]
        for _ in range(2):
            nxt = []
            for u in level:
                for v, _rid, _data in graph.neighbours("any", u):
                    if v not in seen:
                        seen.add(v)
                        nxt.append(v)
            level = nxt
        seen.discard(a)
        return seen

    return {
        "alliance path": timed(path("alliance"), spec["pairs"]),
        "proxy path": timed(path("proxy"), spec["proxy_pairs"]),
        "2-hop": timed(two_hop, [[a] for a in spec["actors"]]),
    }


if __name__ == "__main__":
    what, db = sys.argv[1], sys.argv[2]
    if what == "queries":
        print(json.dumps(queries(db, sys.argv[3])))
    else:
        print(json.dumps({"bare": bare, "kg": kg}[what](db)))
