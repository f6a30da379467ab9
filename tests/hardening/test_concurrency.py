"""Many writers and readers at once, on one worker and on two.

Eight writers each send a run of batches; every batch adds one actor with two ties to Iran and
merges an alias into one shared actor. Four readers poll meanwhile. Whatever the interleaving:

* no 5xx reaches a client except a 503 with Retry-After (then the writer retries), and no body
  says "database is locked";
* no acknowledged write is lost: every batch's ties are there and the shared actor holds every
  acknowledged alias (no lost update);
* readers never see half a batch (always both of its ties or neither), and a reader's revision
  never goes backwards.

A write lock held past the busy timeout becomes a 503 with Retry-After, and the write goes
through once the lock is released.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.main import create_app
from tests.conftest import AUTH, USING_PG, make_settings
from tests.hardening.helpers import SEED_QUOTE, SEED_SOURCE, assert_problem
from tests.support.server import running_server

pytestmark = pytest.mark.slow

WRITERS = 8
BATCHES = 6
READERS = 4


def _batch(writer: int, seq: int) -> dict[str, Any]:
    me = f"conc-{writer}-{seq}"
    ev = [{"source": SEED_SOURCE, "quote": SEED_QUOTE}]
    return {
        "actors": [
            {"id": me, "name": f"Concurrent {writer} {seq}", "kind": "organization"},
            {
                "id": "shared-council",
                "name": "Shared Council",
                "kind": "organization",
                "aliases": [me],
            },
        ],
        "relationships": [
            {"source": me, "target": "iran", "type": "cooperates_with", "evidence": ev},
            {"source": me, "target": "iran", "type": "diplomatic_contact", "evidence": ev},
        ],
    }


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: list[str] = []
        self.retries = 0
        self.bad: list[str] = []
        self.partial: list[dict[str, int]] = []
        self.backwards: list[tuple[int, int]] = []
        self.reads = 0

    def problem(self, what: str, r: httpx.Response) -> None:
        with self.lock:
            self.bad.append(f"{what}: {r.status_code} {r.text[:200]}")


def _writer(base: str, writer: int, tally: Tally) -> None:
    with httpx.Client(timeout=60) as client:
        for seq in range(BATCHES):
            for _attempt in range(20):
                r = client.post(base + "/v1/ingest", json=_batch(writer, seq), headers=AUTH)
                if "locked" in r.text.lower():
                    tally.problem("lock text", r)
                if r.status_code == 503 and "retry-after" in r.headers:
                    with tally.lock:
                        tally.retries += 1
                    time.sleep(float(r.headers["retry-after"]) / 4)
                    continue
                if r.status_code != 200:
                    tally.problem("write", r)
                else:
                    with tally.lock:
                        tally.acked.append(f"conc-{writer}-{seq}")
                break


def _reader(base: str, stop: threading.Event, tally: Tally) -> None:
    last = 0
    while not stop.is_set():
        # A fresh connection per request spreads the reads over the workers.
        with httpx.Client(timeout=60) as client:
            r = client.get(base + "/v1/actors/iran/ties", params={"limit": 500})
            if r.status_code != 200:
                tally.problem("read", r)
                continue
            per_batch = Counter(
                t["counterpart"]["id"]
                for t in r.json()["items"]
                if t["counterpart"]["id"].startswith("conc-")
            )
            halves = {k: n for k, n in per_batch.items() if n != 2}
            rev = client.get(base + "/v1/revision").json()["revision"]
        with tally.lock:
            tally.reads += 1
            if halves:
                tally.partial.append(halves)
            if rev < last:
                tally.backwards.append((last, rev))
        last = rev


@pytest.mark.parametrize("workers", [1, 2])
def test_writers_and_readers_at_once(db_url: str, tmp_path: Path, workers: int) -> None:
    tally = Tally()
    with running_server(db_url, workers=workers, log=tmp_path / "server.log") as base:
        stop = threading.Event()
        readers = [
            threading.Thread(target=_reader, args=(base, stop, tally)) for _ in range(READERS)
        ]
        writers = [threading.Thread(target=_writer, args=(base, w, tally)) for w in range(WRITERS)]
        for t in readers + writers:
            t.start()
        for t in writers:
            t.join()
        stop.set()
        for t in readers:
            t.join()

        assert tally.bad == [], tally.bad[:5]
        assert tally.partial == [], tally.partial[:5]
        assert tally.backwards == []
        assert len(tally.acked) == WRITERS * BATCHES
        # Nothing acknowledged is lost: on any worker, every batch and every merged alias.
        for _ in range(2 * workers):
            with httpx.Client(timeout=60) as client:
                ties = client.get(base + "/v1/actors/iran/ties", params={"limit": 500}).json()
                seen = Counter(
                    t["counterpart"]["id"]
                    for t in ties["items"]
                    if t["counterpart"]["id"].startswith("conc-")
                )
                assert seen == dict.fromkeys(tally.acked, 2)
                shared = client.get(base + "/v1/actors/shared-council").json()
                assert set(shared["aliases"]) == set(tally.acked)
                changes = client.get(base + "/v1/changes", params={"limit": 1000}).json()
                mine = [c for c in changes["items"] if c["key_id"] != "seed"]
                assert len(mine) == WRITERS * BATCHES
    print(
        f"\nconcurrency ({workers} worker(s)): {WRITERS} writers, {len(tally.acked)} batches "
        f"acknowledged, {tally.retries} retried after 503, {READERS} readers, {tally.reads} reads"
    )


# ---------------------------------------------------------------- a lock held too long


@pytest.fixture
def impatient(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(db_url, seed=True, busy_timeout_ms=300))) as c:
        yield c


def _hold_write_lock(db_url: str) -> tuple[Callable[[], None], Any]:
    """Take the database's write lock from outside the service; returns a release function."""
    if USING_PG:
        engine = create_engine(db_url)
        conn = engine.connect()
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": 0x6B67})

        def release() -> None:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": 0x6B67})
            conn.close()
            engine.dispose()

        return release, conn
    import sqlite3

    raw = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")  # the RESERVED lock: what every writer takes first

    def release_sqlite() -> None:
        raw.execute("ROLLBACK")
        raw.close()

    return release_sqlite, raw


def test_a_lock_held_past_the_busy_timeout_is_503_with_retry_after(
    impatient: TestClient, db_url: str
) -> None:
    batch = _batch(0, 0)
    release, _ = _hold_write_lock(db_url)
    try:
        start = time.monotonic()
        r = impatient.post("/v1/ingest", json=batch, headers=AUTH)
        waited = time.monotonic() - start
        body = assert_problem(r, 503)
        assert int(r.headers["retry-after"]) >= 1
        assert "locked" not in r.text.lower() and "busy" in body["detail"]
        assert 0.25 <= waited < 5, waited
        # Reads go on while a writer holds the lock.
        assert impatient.get("/v1/actors/iran/ties").status_code == 200
        put = impatient.put("/v1/actors/oman", json={"name": "Oman", "kind": "state"}, headers=AUTH)
        assert_problem(put, 503)
    finally:
        release()
    assert impatient.get("/v1/actors/conc-0-0").status_code == 404
    r = impatient.post("/v1/ingest", json=batch, headers=AUTH)
    assert r.status_code == 200, r.text
    assert impatient.get("/v1/actors/conc-0-0").status_code == 200
