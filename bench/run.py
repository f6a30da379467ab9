"""`make bench`: the service at L (100k actors / 1M ties) against its floors and a peer, one run.

Every measurement is taken in this one run, side by side with its floor, so the ratios are
comparable even on a noisy machine:

- import: `kg import` of the NDJSON file vs raw sqlite3 executemany of the same tie rows into
  one table, then the indexes a store needs (unique natural key, target);
- cold start (process start to first answer) and resident memory vs a bare NetworkX
  MultiDiGraph built from the same rows in a fresh interpreter;
- p50/p99 over HTTP (uvicorn subprocesses on 127.0.0.1, keep-alive, 1 and 2 workers) of each
  query vs the service's cheapest route (GET /v1/revision), and throughput under concurrent
  clients;
- path and two-hop questions on Kuzu loaded with the same graph;
- a one-tie write at L vs at S.

Writes bench/results/latest.json and latest.md and prints the table. Bounded: every loop has a
request count and a deadline; the whole run takes ~10-15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import peer, synth

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".data"
RESULTS = Path(__file__).resolve().parent / "results"
KEY = "bench-write-key"
AS_OF = "2015-06-01"
DATA_VERSION = "1"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- data


def dataset(size: synth.Size) -> Path:
    """The NDJSON file of ``size``, generated once and kept in bench/.data."""
    path = DATA / f"{size.name}-{size.actors}-{size.ties}-v{DATA_VERSION}.ndjson"
    if not path.exists():
        log(f"generating {size.name}: {size.actors:,} actors, {size.ties:,} ties")
        tmp = path.with_suffix(".tmp")
        synth.write_ndjson(size, tmp)
        tmp.rename(path)
    return path


def fresh_db(name: str) -> Path:
    path = DATA / f"{name}.sqlite3"
    for ext in ("", "-wal", "-shm"):
        Path(str(path) + ext).unlink(missing_ok=True)
    return path


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def env_for(db: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KG_DATABASE_URL": sqlite_url(db),
        "KG_API_KEYS": KEY,
        "KG_SEED": "false",
        **extra,
    }


def kg_import(db: Path, file: Path) -> dict[str, Any]:
    """`kg import` in a subprocess: wall seconds (interpreter start to exit) and its report."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", "-q", str(file)],
        env=env_for(db),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"kg import failed: {proc.stderr[-2000:]}")
    return {"wall_s": wall, "report": json.loads(proc.stdout.strip().splitlines()[-1])}


def tie_rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT id, source_id, target_id, type, valid_from, valid_to, confidence "
            "FROM relationship ORDER BY id"
        ).fetchall()


def import_floor(rows: list[tuple[Any, ...]]) -> dict[str, float]:
    """Raw sqlite3: the same tie rows into one table in one transaction, then its indexes."""
    db = fresh_db("floor")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE relationship (id INTEGER PRIMARY KEY, source_id TEXT, target_id TEXT, "
        "type TEXT, valid_from TEXT, valid_to TEXT, confidence REAL)"
    )
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO relationship VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    inserted = time.perf_counter()
    conn.execute(
        "CREATE UNIQUE INDEX uq_key ON relationship (source_id, target_id, type, valid_from)"
    )
    conn.execute("CREATE INDEX ix_target ON relationship (target_id)")
    done = time.perf_counter()
    conn.close()
    return {"insert_s": inserted - started, "index_s": done - inserted, "total_s": done - started}


def schema_floor(src: Path) -> dict[str, float]:
    """Raw sqlite3 writing the rows `kg import` wrote (actors, their search keys, sources,
    relationships, evidence) into the service's own schema, in the same transactions and with
    the same pragmas: what the store's tables and indexes cost with no Python in between."""
    from app.bulk import DEFAULT_CHUNK

    read = sqlite3.connect(src)
    ddl = [
        sql
        for (sql,) in read.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type DESC, rowid"
        )
    ]
    tables = {
        t: read.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall()
        for t in ("source", "actor", "actor_name", "relationship", "evidence")
    }
    read.close()
    db = fresh_db("schema-floor")
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "cache_size=-262144"):
        conn.execute(f"PRAGMA {pragma}")
    for sql in ddl:
        conn.execute(sql)

    def insert(table: str, rows: list[Any]) -> None:
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)

    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for t in ("source", "actor", "actor_name"):
        insert(t, tables[t])
    conn.execute("COMMIT")
    rels, evidence = tables["relationship"], tables["evidence"]
    e = 0
    for i in range(0, len(rels), DEFAULT_CHUNK):
        part = rels[i : i + DEFAULT_CHUNK]
        top = part[-1][0]
        start = e
        while e < len(evidence) and evidence[e][1] <= top:
            e += 1
        conn.execute("BEGIN IMMEDIATE")
        insert("relationship", part)
        insert("evidence", evidence[start:e])
        conn.execute("COMMIT")
    total = time.perf_counter() - started
    conn.close()
    return {"total_s": total, "transactions": 1 + -(-len(rels) // DEFAULT_CHUNK)}


def probe(what: str, db: Path, queries: Path | None = None) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.probe", what, str(db)]
    if queries is not None:
        args.append(str(queries))
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"probe {what} failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- HTTP


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    proc: subprocess.Popen[bytes]
    cold_start_s: float
    statuses: dict[int, int] = field(default_factory=dict)

    def rss_mb(self) -> float:
        procs = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(True)]
        return sum(p.memory_info().rss for p in procs) / 2**20

    def worker_rss_mb(self) -> list[float]:
        kids = psutil.Process(self.proc.pid).children(True)
        return [p.memory_info().rss / 2**20 for p in kids] or [self.rss_mb()]


@contextmanager
def server(db: Path, *, workers: int, first: str, log_file: Path) -> Iterator[Server]:
    """A uvicorn subprocess on 127.0.0.1; cold start = Popen to the first 200 on ``first``."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    if workers > 1:
        args += ["--workers", str(workers)]
    out = log_file.open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env_for(db), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        with httpx.Client(timeout=120) as client:
            while True:
                try:
                    if client.get(base + first).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {log_file}")
                time.sleep(0.05)
        srv = Server(base, proc, time.perf_counter() - started)
        if workers > 1:
            _settle(proc)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


def _settle(proc: subprocess.Popen[bytes], limit_s: float = 240) -> None:
    """Wait until every worker has loaded its graph (their CPU falls quiet)."""
    deadline = time.monotonic() + limit_s
    kids = psutil.Process(proc.pid).children(True)
    while time.monotonic() < deadline:
        busy = sum(k.cpu_percent(interval=None) for k in kids)
        time.sleep(1.0)
        busy = sum(k.cpu_percent(interval=None) for k in kids)
        if busy < 15:
            return


def _pct(times: list[float], q: float) -> float:
    s = sorted(times)
    return s[min(len(s) - 1, int(len(s) * q))]


def latency(
    srv: Server,
    paths: list[str],
    *,
    n: int,
    budget_s: float,
    warm: int = 3,
    floor: str | None = None,
) -> dict[str, Any]:
    """p50/p99 ms of GETs cycling over ``paths`` on one keep-alive connection.

    With ``floor``, each request is preceded by one to the floor route, timed on its own: the
    query and its floor then share the machine's conditions of that moment (the machines are
    shared, and noisy), and ``floor_p50_ms`` is the floor to hold the query against.
    """
    times: list[float] = []
    floor_times: list[float] = []
    bad = 0

    def get(client: httpx.Client, path: str, into: list[float]) -> None:
        nonlocal bad
        started = time.perf_counter()
        r = client.get(path)
        into.append((time.perf_counter() - started) * 1000)
        srv.statuses[r.status_code] = srv.statuses.get(r.status_code, 0) + 1
        bad += r.status_code >= 500

    with httpx.Client(base_url=srv.base, timeout=120) as client:
        for p in paths[:warm]:
            client.get(p)
        deadline = time.perf_counter() + budget_s
        for i in range(n):
            if floor is not None:
                get(client, floor, floor_times)
            get(client, paths[i % len(paths)], times)
            if time.perf_counter() > deadline:
                break
    return {
        "n": len(times),
        "p50_ms": statistics.median(times),
        "p99_ms": _pct(times, 0.99),
        "max_ms": max(times),
        "floor_p50_ms": statistics.median(floor_times) if floor_times else None,
        "5xx": bad,
    }


def throughput(srv: Server, paths: list[str], *, clients: int, seconds: float) -> dict[str, Any]:
    """Requests per second with ``clients`` concurrent keep-alive clients over a query mix."""
    counts = [0] * clients
    errors = [0] * clients
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        rng = random.Random(i)
        with httpx.Client(base_url=srv.base, timeout=120) as client:
            while time.perf_counter() < stop:
                r = client.get(rng.choice(paths))
                counts[i] += 1
                errors[i] += r.status_code >= 500
                with lock:
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    for code, k in statuses.items():
        srv.statuses[code] = srv.statuses.get(code, 0) + k
    return {"clients": clients, "rps": sum(counts) / elapsed, "5xx": sum(errors)}


def writes(srv: Server, pairs: list[tuple[str, str]], tag: str) -> dict[str, Any]:
    """Latency of one-tie POST /v1/ingest writes, each then visible in the writer's ties."""
    times: list[float] = []
    bad = 0
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=srv.base, timeout=120) as client:
        for i, (a, b) in enumerate(pairs):
            body = {
                "relationships": [
                    {
                        "source": a,
                        "target": b,
                        "type": "diplomatic_contact",
                        "valid_from": f"2031-01-{1 + i % 28:02d}",
                        "confidence": 0.5,
                        "evidence": [{"source": "feed-0001", "quote": f"bench {tag} write {i}"}],
                    }
                ]
            }
            started = time.perf_counter()
            r = client.post("/v1/ingest", json=body, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            srv.statuses[r.status_code] = srv.statuses.get(r.status_code, 0) + 1
            bad += r.status_code != 200
        seen = client.get(f"/v1/actors/{pairs[-1][0]}/ties", params={"type": "diplomatic_contact"})
        visible = any(t["counterpart"]["id"] == pairs[-1][1] for t in seen.json()["items"])
    return {
        "n": len(times),
        "p50_ms": statistics.median(times),
        "p99_ms": _pct(times, 0.99),
        "failed": bad,
        "visible": visible,
    }


# -- queries


@dataclass
class Samples:
    actors: list[str]
    pairs: list[tuple[str, str]]
    sponsors: list[str]
    proxy_pairs: list[tuple[str, str]]
    write_pairs: list[tuple[str, str]]


def samples(db: Path, size: synth.Size, n: int = 200) -> Samples:
    """Deterministic query inputs: uniform actors and pairs, actors that sponsor someone."""
    rng = random.Random(2024)
    ids = [synth.actor_id(i) for i in range(size.actors)]
    actors = [rng.choice(ids) for _ in range(n)]
    pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(n)]
    with sqlite3.connect(db) as conn:
        edges = conn.execute(
            "SELECT source_id, target_id FROM relationship WHERE type = 'sponsors' ORDER BY id"
        ).fetchall()
    sponsors = sorted({s for s, _ in edges})
    proxies = sorted({t for _, t in edges})
    spons = [rng.choice(sponsors) for _ in range(n)]
    proxy_pairs = [(rng.choice(sponsors), rng.choice(proxies)) for _ in range(n)]
    leaves = ids[size.actors // 2 :]
    write_pairs = [(leaves[2 * i], leaves[2 * i + 1]) for i in range(100)]
    return Samples(actors, pairs, spons, proxy_pairs, write_pairs)


def query_paths(s: Samples) -> dict[str, list[str]]:
    return {
        "floor: GET /v1/revision": ["/v1/revision"],
        "floor: GET /health": ["/health"],
        "ties": [f"/v1/actors/{a}/ties" for a in s.actors],
        "ties as_of": [f"/v1/actors/{a}/ties?as_of={AS_OF}" for a in s.actors],
        "alliance path": [
            f"/v1/paths?from={a}&to={b}&mode=alliance&k=1&max_hops=4" for a, b in s.pairs
        ],
        "alliance path as_of": [
            f"/v1/paths?from={a}&to={b}&mode=alliance&k=1&max_hops=4&as_of={AS_OF}"
            for a, b in s.pairs
        ],
        "k=3 paths": [f"/v1/paths?from={a}&to={b}&mode=any&k=3&max_hops=4" for a, b in s.pairs],
        "proxy chains": [f"/v1/actors/{a}/proxies?depth=3" for a in s.sponsors],
        "proxy chains as_of": [f"/v1/actors/{a}/proxies?depth=3&as_of={AS_OF}" for a in s.sponsors],
        "neighbourhood depth 2": [f"/v1/actors/{a}/neighborhood?depth=2" for a in s.actors],
    }


#: The service's cheapest route: every HTTP latency is held against it.
FLOOR = "/v1/revision"

ANALYTICS = {
    "blocs": "/v1/analytics/blocs",
    f"blocs as_of {AS_OF}": f"/v1/analytics/blocs?as_of={AS_OF}",
    "centrality (degree)": "/v1/analytics/centrality?metric=degree",
    "centrality (betweenness)": "/v1/analytics/centrality?metric=betweenness",
    "centrality (pagerank)": "/v1/analytics/centrality?metric=pagerank",
    "balance": "/v1/analytics/balance",
}


def analytics(srv: Server, budget_s: float) -> dict[str, Any]:
    """First (cold, computed) and repeated (cached per revision) latency of each analytic."""
    out: dict[str, Any] = {}
    with httpx.Client(base_url=srv.base, timeout=budget_s) as client:
        for name, path in ANALYTICS.items():
            started = time.perf_counter()
            try:
                r = client.get(path)
                status = r.status_code
                body = r.json() if status == 200 else {}
            except httpx.TimeoutException:
                status, body = 0, {}
            cold = (time.perf_counter() - started) * 1000
            srv.statuses[status] = srv.statuses.get(status, 0) + 1
            warm: list[float] = []
            if status == 200:
                for _ in range(5):
                    started = time.perf_counter()
                    client.get(path)
                    warm.append((time.perf_counter() - started) * 1000)
            out[name] = {
                "status": status,
                "cold_ms": cold,
                "warm_p50_ms": statistics.median(warm) if warm else None,
                "sampled": body.get("sampled"),
                "sample": body.get("sample"),
                "truncated": body.get("truncated"),
                "items": len(body.get("items", [])),
            }
    return out


# -- the run


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(pkg: str) -> str | None:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpu": cpu,
        "cores": psutil.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        **{
            p: version(p)
            for p in ("networkx", "fastapi", "starlette", "pydantic", "uvicorn", "kuzu")
        },
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def run(sizes: tuple[synth.Size, synth.Size], *, quick: bool) -> dict[str, Any]:
    small, large = sizes
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    res: dict[str, Any] = {
        "machine": machine(),
        "sizes": {s.name: {"actors": s.actors, "ties": s.ties} for s in sizes},
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    files = {s.name: dataset(s) for s in sizes}
    dbs = {s.name: fresh_db(f"kg-{s.name}") for s in sizes}

    for s in sizes:
        log(f"kg import {s.name}")
        res[f"import_{s.name}"] = kg_import(dbs[s.name], files[s.name])
        log(f"  {res[f'import_{s.name}']['wall_s']:.1f} s")
    rows = tie_rows(dbs[large.name])
    log("import floor (raw sqlite3)")
    res["import_floor"] = import_floor(rows)
    log(f"  {res['import_floor']['total_s']:.1f} s")
    log("raw sqlite3 into the service's own schema")
    res["schema_floor"] = schema_floor(dbs[large.name])
    log(f"  {res['schema_floor']['total_s']:.1f} s")
    log("re-import L (idempotent)")
    res["reimport"] = kg_import(dbs[large.name], files[large.name])

    log("bare NetworkX floor and the KG, each in a fresh interpreter")
    res["bare"] = probe("bare", dbs[large.name])
    res["kg_build"] = probe("kg", dbs[large.name])
    log(
        f"  bare {res['bare']['seconds']:.1f} s {res['bare']['rss_mb']:.0f} MB; "
        f"kg {res['kg_build']['seconds']:.1f} s {res['kg_build']['rss_mb']:.0f} MB"
    )

    s_large = samples(dbs[large.name], large)
    paths = query_paths(s_large)
    n_req = 60 if quick else 200
    logs = DATA / "logs"
    logs.mkdir(exist_ok=True)
    first = f"/v1/actors/{s_large.actors[0]}/ties"
    http: dict[str, Any] = {}
    for workers in (1, 2):
        log(f"HTTP at {large.name}, {workers} worker(s)")
        with server(
            dbs[large.name], workers=workers, first=first, log_file=logs / f"w{workers}.log"
        ) as srv:
            one: dict[str, Any] = {"cold_start_s": srv.cold_start_s}
            if workers == 1:
                one["rss_mb"] = srv.rss_mb()
            else:
                one["worker_rss_mb"] = srv.worker_rss_mb()
            one["latency"] = {}
            for name, ps in paths.items():
                one["latency"][name] = latency(
                    srv,
                    ps,
                    n=n_req,
                    budget_s=8 if workers == 1 else 5,
                    floor=None if name.startswith("floor") else FLOOR,
                )
                log(f"  {name}: p50 {one['latency'][name]['p50_ms']:.2f} ms")
            mix = paths["ties"] + paths["alliance path"] + paths["proxy chains"]
            one["throughput"] = throughput(srv, mix, clients=4, seconds=5 if quick else 8)
            log(f"  throughput {one['throughput']['rps']:.0f} req/s")
            if workers == 1:
                one["write"] = writes(srv, s_large.write_pairs, "L")
                log(f"  one-tie write p50 {one['write']['p50_ms']:.1f} ms")
                # Last on this server: a first analytics call at L may run long.
                one["analytics"] = analytics(srv, budget_s=60)
                log(f"  analytics {one['analytics']}")
            one["statuses"] = srv.statuses
            http[f"w{workers}"] = one
    res["http"] = http

    log(f"HTTP at {small.name} (writes for comparison)")
    s_small = samples(dbs[small.name], small)
    with server(
        dbs[small.name],
        workers=1,
        first=f"/v1/actors/{s_small.actors[0]}/ties",
        log_file=logs / "small.log",
    ) as srv:
        res["http_small"] = {
            "cold_start_s": srv.cold_start_s,
            "rss_mb": srv.rss_mb(),
            "ties": latency(srv, query_paths(s_small)["ties"], n=n_req, budget_s=10),
            "write": writes(srv, s_small.write_pairs, "S"),
            "statuses": srv.statuses,
        }

    log("in-process queries on the KG (for the peer comparison)")
    qfile = DATA / "queries.json"
    qfile.write_text(
        json.dumps(
            {
                "pairs": s_large.pairs[:100],
                "proxy_pairs": s_large.proxy_pairs[:100],
                "actors": s_large.actors[:50],
            }
        )
    )
    res["kg_queries"] = probe("queries", dbs[large.name], qfile)

    if peer.available():
        log("Kuzu: load and query")
        conn, load_s = peer.load(
            DATA / "kuzu", [synth.actor_id(i) for i in range(large.actors)], [r[1:] for r in rows]
        )
        del rows
        k: dict[str, Any] = {"load_s": load_s}
        k["alliance path"] = peer.timed(
            conn,
            peer.ALLIANCE_PATH.format(hops=4),
            [{"a": a, "b": b} for a, b in s_large.pairs[:100]],
            budget_s=60,
        )
        k["proxy path"] = peer.timed(
            conn,
            peer.PROXY_PATH.format(hops=4),
            [{"a": a, "b": b} for a, b in s_large.proxy_pairs[:100]],
            budget_s=60,
        )
        k["2-hop"] = peer.timed(
            conn, peer.TWO_HOP, [{"a": a} for a in s_large.actors[:50]], budget_s=60
        )
        k["ties"] = peer.timed(conn, peer.TIES, [{"a": a} for a in s_large.actors], budget_s=30)
        res["kuzu"] = k
    else:
        res["kuzu"] = None
    res["elapsed_s"] = time.perf_counter() - started
    return res


# -- report


def _lat(res: dict[str, Any], name: str, w: str = "w1") -> float | None:
    v = res["http"][w]["latency"].get(name)
    return v["p50_ms"] if v else None


def _floor(res: dict[str, Any], name: str, w: str = "w1") -> float | None:
    """The floor measured alongside ``name`` (interleaved with it), else the floor's own run."""
    v = res["http"][w]["latency"].get(name)
    if v and v.get("floor_p50_ms") is not None:
        return float(v["floor_p50_ms"])
    return _lat(res, "floor: GET /v1/revision", w)


def rows_for(res: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(measure, service, floor or peer, ratio, target) rows of the report."""
    out: list[tuple[str, str, str, str, str]] = []

    def add(
        name: str,
        ours: float | None,
        base: float | None,
        unit: str,
        *,
        limit: float | None = None,
        vs: str = "",
        faster: bool = False,
    ) -> None:
        """A row; ``limit`` is the most ours/base may be, or with ``faster`` the least
        base/ours may be."""
        r = ratio(base, ours) if faster else ratio(ours, base)
        target, mark = "", ""
        if limit is not None:
            target = f"≥ {limit:g}× faster" if faster else f"≤ {limit:g}×"
            ok = r is not None and (r >= limit if faster else r <= limit)
            mark = " ✅" if ok else " ❌"

        def fmt(x: float | None) -> str:
            if x is None:
                return "–"
            return f"{x:,.2f} {unit}" if unit == "ms" else f"{x:,.1f} {unit}"

        shown = "–" if r is None else (f"{r:,.0f}× faster" if faster else f"{r:.2f}×")
        out.append((name, fmt(ours), fmt(base) + (f" ({vs})" if vs else ""), shown, target + mark))

    w1 = res["http"]["w1"]
    add(
        "import (`kg import` vs raw sqlite3 + indexes)",
        res["import_L"]["wall_s"],
        res["import_floor"]["total_s"],
        "s",
        limit=2,
    )
    add(
        "import (`kg import` vs raw sqlite3 of its rows into its own schema)",
        res["import_L"]["wall_s"],
        res["schema_floor"]["total_s"],
        "s",
    )
    bare = res["bare"]
    add(
        "cold start, database to first answer",
        w1["cold_start_s"],
        bare["seconds"],
        "s",
        limit=1.5,
        vs="bare NetworkX",
    )
    add(
        "resident memory, server process (1 worker)",
        w1["rss_mb"],
        bare["rss_mb"],
        "MB",
        limit=1.3,
        vs="bare NetworkX process",
    )
    add(
        "memory of the graph alone (RSS growth while loading)",
        res["kg_build"]["rss_mb"] - res["kg_build"]["rss_base_mb"],
        bare["rss_mb"] - bare["rss_base_mb"],
        "MB",
        limit=1.3,
        vs="bare NetworkX",
    )
    for name, limit in (("ties", 1.5), ("alliance path", 2.0), ("proxy chains", 3.0)):
        add(
            f"p50 {name}",
            _lat(res, name),
            _floor(res, name),
            "ms",
            limit=limit,
            vs="GET /v1/revision, interleaved",
        )
    for name in ("ties", "alliance path", "proxy chains"):
        # The strictest reading: the floor in a loop of its own, every cache warm for it.
        add(
            f"p50 {name}, vs the floor run on its own",
            _lat(res, name),
            _lat(res, "floor: GET /v1/revision"),
            "ms",
            vs="GET /v1/revision, alone",
        )
    for name in ("ties", "alliance path", "proxy chains"):
        add(
            f"p50 {name} as_of (vs plain form)",
            _lat(res, f"{name} as_of"),
            _lat(res, name),
            "ms",
            limit=2,
            vs=name,
        )
    for name in ("k=3 paths", "neighbourhood depth 2"):
        add(
            f"p50 {name}",
            _lat(res, name),
            _floor(res, name),
            "ms",
            vs="GET /v1/revision, interleaved",
        )
    kz, kq = res.get("kuzu"), res["kg_queries"]
    if kz:
        for name, key, limit in (
            ("alliance path (k=1), in-process", "alliance path", 10.0),
            ("proxy path, in-process", "proxy path", 10.0),
            ("2-hop set, in-process", "2-hop", None),
        ):
            add(
                f"p50 {name}",
                kq[key]["p50_ms"],
                kz[key]["p50_ms"],
                "ms",
                limit=limit,
                vs="Kuzu",
                faster=True,
            )
        add(
            "p50 alliance path over HTTP (vs Kuzu in-process)",
            _lat(res, "alliance path"),
            kz["alliance path"]["p50_ms"],
            "ms",
            vs="Kuzu",
            faster=True,
        )
    add(
        "p50 one-tie write at L (vs at S)",
        w1["write"]["p50_ms"],
        res["http_small"]["write"]["p50_ms"],
        "ms",
        limit=2,
        vs="at S",
    )
    bad = five_xx(res)
    out.append(("5xx responses, whole run", str(bad), "", "", "0" + (" ✅" if not bad else " ❌")))
    return out


def five_xx(res: dict[str, Any]) -> int:
    total = 0
    for part in (res["http"]["w1"], res["http"]["w2"], res["http_small"]):
        total += sum(n for code, n in part["statuses"].items() if int(code) >= 500)
    return total


def _scope(v: dict[str, Any]) -> str:
    """What an analytics answer says it covered."""
    sample = v.get("sample")
    if sample:
        return (
            f"sample: {sample['actors']:,} actors, {sample['ties']:,} of {sample['of_ties']:,} ties"
        )
    if v.get("truncated"):
        return "whole graph, cut at its work budget"
    return "whole graph" if v.get("status") == 200 else "–"


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        f"Run {res['started']} on {m['cpu']} ({m['cores']} cores, {m['ram_gb']} GB RAM), "
        f"{m['os']}; Python {m['python']}, SQLite {m['sqlite']}, NetworkX {m['networkx']}, "
        f"FastAPI {m['fastapi']}, uvicorn {m['uvicorn']}, Kuzu {m['kuzu']}. "
        f"L = {res['sizes']['L']['actors']:,} actors / {res['sizes']['L']['ties']:,} ties; "
        f"the whole run took {res['elapsed_s'] / 60:.1f} min.",
        "",
        "| measure (L) | service | floor / peer | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(r)} |" for r in rows_for(res)]
    w1, w2 = res["http"]["w1"], res["http"]["w2"]
    lines += [
        "",
        "| HTTP at L | p50 1 worker | p99 1 worker | floor p50 alongside | p50 2 workers "
        "| p99 2 workers |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in w1["latency"].items():
        v2 = w2["latency"][name]
        alongside = v.get("floor_p50_ms")
        lines.append(
            f"| {name} | {v['p50_ms']:.2f} ms | {v['p99_ms']:.2f} ms | "
            f"{'–' if alongside is None else f'{alongside:.2f} ms'} | "
            f"{v2['p50_ms']:.2f} ms | {v2['p99_ms']:.2f} ms |"
        )
    lines.append(
        f"| throughput, 4 clients (ties/path/proxy mix) | {w1['throughput']['rps']:.0f} req/s | "
        f"| | {w2['throughput']['rps']:.0f} req/s | |"
    )
    lines += [
        "",
        "| analytics at L (1 worker) | first call | again (same revision) | answered on |",
        "|---|---|---|---|",
    ]
    for name, v in w1["analytics"].items():
        warm = f"{v['warm_p50_ms']:.1f} ms" if v["warm_p50_ms"] is not None else "–"
        if v["status"] == 200:
            first = f"{v['cold_ms'] / 1000:.1f} s"
        elif v["status"] == 0:
            first = f"no answer within {v['cold_ms'] / 1000:.0f} s"
        else:
            first = f"status {v['status']}"
        lines.append(f"| {name} | {first} | {warm} | {_scope(v)} |")
    imp = res["import_L"]
    lines += [
        "",
        f"Import L: {imp['report']['relationships']['created']:,} ties, "
        f"{imp['report']['actors']['created']:,} actors in {imp['report']['transactions']} "
        f"transactions, {imp['report']['rejected']} rejected; re-import "
        f"{res['reimport']['wall_s']:.1f} s, {res['reimport']['report']['relationships']['unchanged']:,}"
        f" unchanged. Import S {res['import_S']['wall_s']:.1f} s. Floor: insert "
        f"{res['import_floor']['insert_s']:.1f} s + indexes {res['import_floor']['index_s']:.1f} s"
        f"; raw sqlite3 into the service's schema {res['schema_floor']['total_s']:.1f} s in "
        f"{res['schema_floor']['transactions']} transactions.",
        f"Graph alone (fresh interpreter): read + build {res['kg_build']['load_s']:.1f} s, "
        f"{res['kg_build']['seconds']:.1f} s from interpreter start; bare NetworkX "
        f"{res['bare']['seconds']:.1f} s "
        f"including its imports. Two workers: {', '.join(f'{x:.0f}' for x in w2['worker_rss_mb'])}"
        f" MB each, cold start {w2['cold_start_s']:.1f} s.",
        f"One-tie write: L {w1['write']['p50_ms']:.1f} ms, S {res['http_small']['write']['p50_ms']:.1f}"
        f" ms (visible on the next read: {w1['write']['visible']}).",
        f"5xx responses in the whole run: {five_xx(res)}.",
    ]
    if res.get("kuzu"):
        k = res["kuzu"]
        lines.append(
            f"Kuzu {m['kuzu']}: load {k['load_s']:.1f} s; p50 alliance path "
            f"{k['alliance path']['p50_ms']:.1f} ms, proxy path {k['proxy path']['p50_ms']:.1f} ms, "
            f"2-hop {k['2-hop']['p50_ms']:.1f} ms, ties {k['ties']['p50_ms']:.1f} ms."
        )
    return "\n".join(lines) + "\n"


def show_in_readme(md: str, readme: Path = ROOT / "README.md") -> None:
    """Put the table between the README's bench markers, so it shows the latest full run."""
    text = readme.read_text()
    start, end = "<!-- bench:start -->\n", "<!-- bench:end -->"
    head, sep, rest = text.partition(start)
    _, sep2, tail = rest.partition(end)
    if sep and sep2:
        readme.write_text(head + start + md + end + tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="S and a 3k-tie graph instead of L and S (smoke)"
    )
    args = parser.parse_args(argv)
    sizes = (synth.XS, synth.S) if args.quick else (synth.S, synth.L)
    if args.quick:
        sizes = (synth.Size("S", synth.XS.actors, synth.XS.ties), synth.Size("L", 10_000, 100_000))
    res = run(sizes, quick=args.quick)
    name = "quick" if args.quick else "latest"
    (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=2, default=str))
    md = markdown(res)
    (RESULTS / f"{name}.md").write_text(md)
    if not args.quick:
        show_in_readme(md)
    print()
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
