"""Crash safety: SIGKILL the server at random moments during large batch ingests.

Each round starts the server on the same database, first re-sends the batches whose fate the
last kill left unknown (a client retrying after a timeout), then has two writers send large
batches until the server is killed with SIGKILL at a random moment. With the server dead, the
database is read directly:

* every acknowledged batch is there, whole;
* no batch is partial: each batch's actors, relationships, evidence and source are all there
  or none is, and each stored batch has exactly one change-log entry;
* SQLite's ``PRAGMA integrity_check`` says ``ok`` and no foreign key dangles.

The next start must serve the revision the change log ends at. 20 rounds on SQLite; on
PostgreSQL (which stays up while the app server is killed) 4 rounds.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import AUTH, USING_PG
from tests.hardening.live import Server, migrate

pytestmark = pytest.mark.slow

ROUNDS = 4 if USING_PG else 20
ACTORS = 1000  # per batch; with ACTORS - 1 relationships, one evidence each, and a source
WRITERS = 2


def batch_key(round_no: int, seq: int, writer: int) -> str:
    return f"r{round_no:02d}w{writer}b{seq:03d}"


def make_batch(key: str) -> dict[str, Any]:
    text_ = f"Batch {key} says each of its actors co-operates with the next one."
    ids = [f"{key}-a{j:04d}" for j in range(ACTORS)]
    return {
        "sources": [{"id": f"{key}-src", "title": f"Batch {key}", "text": text_}],
        "actors": [{"id": a, "name": f"Actor {a}", "kind": "organization"} for a in ids],
        "relationships": [
            {
                "source": a,
                "target": b,
                "type": "cooperates_with",
                "evidence": [{"source": f"{key}-src", "quote": "co-operates with the next one"}],
            }
            for a, b in itertools.pairwise(ids)
        ],
    }


class Writers:
    """Two clients sending batches back to back; they record what the server acknowledged."""

    def __init__(self, base: str, round_no: int) -> None:
        self.base = base
        self.round_no = round_no
        self.acked: list[str] = []
        self.unknown: list[str] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(w,)) for w in range(WRITERS)]

    def _run(self, writer: int) -> None:
        seq = 0
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                key = batch_key(self.round_no, seq, writer)
                seq += 1
                try:
                    r = client.post(self.base + "/v1/ingest", json=make_batch(key), headers=AUTH)
                except httpx.HTTPError:
                    self.unknown.append(key)  # killed mid-request: committed or not
                    return
                if r.status_code == 200:
                    self.acked.append(key)
                elif r.status_code == 503 and "retry-after" in r.headers:
                    self.unknown.append(key)
                else:
                    self.errors.append(f"{key}: {r.status_code} {r.text[:200]}")

    def __enter__(self) -> Writers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)


def stored_batches(db_url: str) -> dict[str, Counter[str]]:
    """Per batch key: how many actors, relationships, evidence rows, sources and changes."""
    engine = create_engine(db_url)
    found: dict[str, Counter[str]] = {}
    queries = {
        "actors": "SELECT substr(id, 1, 9), count(*) FROM actor GROUP BY 1",
        "relationships": "SELECT substr(source_id, 1, 9), count(*) FROM relationship GROUP BY 1",
        "evidence": "SELECT substr(source_id, 1, 9), count(*) FROM evidence GROUP BY 1",
        "sources": "SELECT substr(id, 1, 9), count(*) FROM source GROUP BY 1",
    }
    try:
        with engine.connect() as conn:
            for kind, sql in queries.items():
                for key, n in conn.execute(text(sql)):
                    found.setdefault(key, Counter())[kind] += n
            for (sources,) in conn.execute(text("SELECT sources FROM change")):
                for sid in _json_list(sources):
                    found.setdefault(sid[:9], Counter())["changes"] += 1
    finally:
        engine.dispose()
    return found


def _json_list(value: Any) -> list[str]:
    import json

    return list(json.loads(value) if isinstance(value, str) else value or [])


WHOLE = Counter(
    {
        "actors": ACTORS,
        "relationships": ACTORS - 1,
        "evidence": ACTORS - 1,
        "sources": 1,
        "changes": 1,
    }
)


def sqlite_integrity(db_url: str) -> tuple[str, list[Any]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            ok = conn.execute(text("PRAGMA integrity_check")).scalar_one()
            dangling = list(conn.execute(text("PRAGMA foreign_key_check")))
    finally:
        engine.dispose()
    return str(ok), dangling


def head_revision(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT coalesce(max(revision), 0) FROM change")).scalar_one()
            )
    finally:
        engine.dispose()


def test_sigkill_during_large_ingests_loses_nothing_acknowledged(
    db_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("KG_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    migrate(db_url)
    server = Server(db_url, log=tmp_path / "server.log")
    acked: set[str] = set()
    pending: list[str] = []  # fate unknown after a kill; re-sent at the next start
    survived = 0
    try:
        for round_no in range(ROUNDS):
            server.start()
            assert httpx.get(server.base + "/v1/revision").json()["revision"] == head_revision(
                db_url
            ), f"seed {seed}: the restarted server does not serve the stored revision"
            with httpx.Client(timeout=60) as client:
                for key in pending:
                    r = client.post(server.base + "/v1/ingest", json=make_batch(key), headers=AUTH)
                    assert r.status_code == 200, r.text
                    acked.add(key)
            pending = []
            with Writers(server.base, round_no) as writers:
                # Kill somewhere inside the stream of batches, often mid-commit.
                time.sleep(rng.uniform(0.05, 1.5))
                server.kill()
            assert writers.errors == [], f"seed {seed}: {writers.errors}"
            acked.update(writers.acked)
            pending = writers.unknown

            stored = stored_batches(db_url)
            partial = {k: dict(c) for k, c in stored.items() if c != WHOLE}
            assert partial == {}, f"seed {seed}, round {round_no}: partial batches {partial}"
            missing = acked - set(stored)
            assert missing == set(), f"seed {seed}, round {round_no}: lost {sorted(missing)}"
            if not USING_PG:
                ok, dangling = sqlite_integrity(db_url)
                assert ok == "ok" and dangling == [], (seed, ok, dangling)
            survived += 1
        # One last start: the recovered database serves, and re-sent batches made no duplicates.
        server.start()
        stored = stored_batches(db_url)
        assert all(c == WHOLE for c in stored.values())
        assert httpx.get(server.base + "/health").status_code == 200
    finally:
        server.stop()
    print(
        f"\ncrash safety: {survived} SIGKILL rounds survived, {len(acked)} acknowledged batches "
        f"of {ACTORS * 2} rows each, {len(stored)} stored, seed {seed}"
    )
    assert survived == ROUNDS
    assert acked, "no batch was acknowledged: the rounds proved nothing"
