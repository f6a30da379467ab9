"""Several worker processes on one database stay consistent: read-your-writes on any worker."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import AUTH

SOURCE = "the-national-2025-04-04-iraq-syria"


def _batch(i: int) -> dict[str, Any]:
    """Two ties per batch: readers must never see an odd number of them."""
    return {
        "actors": [{"id": f"probe-{i}", "name": f"Probe {i}", "kind": "organization"}],
        "relationships": [
            {
                "source": f"probe-{i}",
                "target": "iran",
                "type": "cooperates_with",
                "evidence": [{"source": SOURCE, "quote": "good relations with Iran"}],
            },
            {
                "source": f"probe-{i}",
                "target": "iran",
                "type": "diplomatic_contact",
                "evidence": [{"source": SOURCE, "quote": "good relations with Iran"}],
            },
        ],
    }


def _probe_ties(client: httpx.Client, base: str) -> int:
    items = client.get(base + "/v1/actors/iran/ties", params={"limit": 500}).json()["items"]
    return sum(1 for t in items if t["counterpart"]["id"].startswith("probe-"))


def test_two_workers_read_their_writes_and_never_a_partial_batch(
    server: Callable[..., Any],
) -> None:
    with server(workers=2) as base:
        stop = threading.Event()
        odd: list[int] = []
        errors: list[int] = []

        def reader() -> None:
            # A fresh connection per request spreads requests over both workers.
            while not stop.is_set():
                with httpx.Client(timeout=10) as c:
                    r = c.get(base + "/v1/actors/iran/ties", params={"limit": 500})
                    if r.status_code != 200:
                        errors.append(r.status_code)
                        continue
                    n = sum(
                        1 for t in r.json()["items"] if t["counterpart"]["id"].startswith("probe-")
                    )
                    if n % 2:
                        odd.append(n)

        readers = [threading.Thread(target=reader) for _ in range(3)]
        for t in readers:
            t.start()
        try:
            for i in range(25):
                with httpx.Client(timeout=10) as c:
                    r = c.post(base + "/v1/ingest", json=_batch(i), headers=AUTH)
                    assert r.status_code == 200, r.text
                revision = r.json()["revision"]
                # The very next reads, on new connections (any worker), see the write.
                for _ in range(4):
                    with httpx.Client(timeout=10) as c:
                        assert _probe_ties(c, base) == 2 * (i + 1)
                        assert c.get(base + "/v1/revision").json()["revision"] >= revision
        finally:
            stop.set()
            for t in readers:
                t.join()
        assert errors == []
        assert odd == []
