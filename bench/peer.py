"""The peer: Kuzu (an embedded graph database) loaded with the same graph, asked the same path
and two-hop questions. Kuzu is optional (`pip install -e '.[bench]'`); without it the peer is
skipped and the report says so."""

from __future__ import annotations

import csv
import shutil
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.graph.build import SIGN

ALLIANCE_PATH = (
    "MATCH p = (a:Actor)-[e:Tie* SHORTEST 1..{hops} (r, n | WHERE r.sign = 1)]-(b:Actor) "
    "WHERE a.id = $a AND b.id = $b RETURN properties(nodes(p), 'id'), properties(rels(p), 'rid')"
)
PROXY_PATH = (
    "MATCH p = (a:Actor)-[e:Tie* SHORTEST 1..{hops} (r, n | WHERE r.type = 'sponsors')]->"
    "(b:Actor) WHERE a.id = $a AND b.id = $b RETURN properties(nodes(p), 'id')"
)
TWO_HOP = "MATCH (a:Actor)-[:Tie*1..2]-(b:Actor) WHERE a.id = $a RETURN DISTINCT b.id"
TIES = (
    "MATCH (a:Actor)-[r:Tie]-(b:Actor) WHERE a.id = $a "
    "RETURN r.rid, b.id, r.type ORDER BY r.type, b.id LIMIT 50"
)


def available() -> bool:
    try:
        import kuzu  # noqa: F401
    except ImportError:
        return False
    return True


def load(work: Path, actors: Sequence[str], ties: Sequence[tuple[Any, ...]]) -> tuple[Any, float]:
    """A Kuzu connection on a fresh database holding ``actors`` and ``ties``; load seconds."""
    import kuzu

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    nodes_csv, rels_csv = work / "actors.csv", work / "ties.csv"
    with nodes_csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id"])
        w.writerows([a] for a in actors)
    with rels_csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["from", "to", "rid", "type", "sign", "vf", "vt", "conf"])
        for rid, (s, t, rel_type, vf, vt, conf, *_) in enumerate(ties, 1):
            w.writerow([s, t, rid, rel_type, SIGN[rel_type], vf or "", vt or "", conf])
    started = time.perf_counter()
    db = kuzu.Database(str(work / "db"))
    conn = kuzu.Connection(db)
    conn.execute("CREATE NODE TABLE Actor(id STRING, PRIMARY KEY(id))")
    conn.execute(
        "CREATE REL TABLE Tie(FROM Actor TO Actor, rid INT64, type STRING, sign INT8, "
        "vf STRING, vt STRING, conf DOUBLE)"
    )
    conn.execute(f'COPY Actor FROM "{nodes_csv}" (header=true)')
    conn.execute(f'COPY Tie FROM "{rels_csv}" (header=true)')
    seconds = time.perf_counter() - started
    conn._keep_db = db  # the connection needs its database alive
    return conn, seconds


def timed(
    conn: Any, query: str, params: Sequence[dict[str, str]], budget_s: float
) -> dict[str, Any]:
    """p50/p99 milliseconds of ``query`` over ``params`` (stops once ``budget_s`` is spent)."""
    times: list[float] = []
    rows = 0
    deadline = time.perf_counter() + budget_s
    for p in params:
        started = time.perf_counter()
        result = conn.execute(query, p)
        while result.has_next():
            result.get_next()
            rows += 1
        times.append((time.perf_counter() - started) * 1000)
        if time.perf_counter() > deadline:
            break
    times.sort()
    return {
        "n": len(times),
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
        "rows": rows,
    }
