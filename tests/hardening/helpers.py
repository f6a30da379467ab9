"""Shared checks for the hardening tests: problem documents, and proof that nothing was written."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from tests.api.test_errors import assert_problem

__all__ = ["Snapshot", "assert_problem", "assert_strict_json", "snapshot"]

SEED_SOURCE = "the-national-2025-04-04-iraq-syria"
SEED_QUOTE = "good relations with Iran"


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("non-finite number")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} in a response")


def assert_strict_json(raw: bytes) -> Any:
    """The body is UTF-8 JSON with finite numbers only (what a strict client parser takes)."""
    text = raw.decode("utf-8")  # strict: a lone surrogate or invalid byte fails here
    return json.loads(text, parse_float=_finite, parse_constant=_no_constant)


@dataclass(frozen=True)
class Snapshot:
    """Row count and content digest of every table, the revision, and the served graph size."""

    tables: dict[str, tuple[int, str]]
    revision: int
    graph: tuple[int, int]

    def counts(self) -> dict[str, int]:
        return {name: n for name, (n, _) in self.tables.items()}


def table_digests(engine: Engine) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table.name] = (len(rows), digest[:16])
    return out


def snapshot(client: TestClient) -> Snapshot:
    """What a write could change: every table's rows, the revision, and the in-memory graph."""
    revision = client.get("/v1/revision").json()["revision"]
    graph = client.get("/v1/graph", params={"format": "node-link"}).json()
    return Snapshot(
        table_digests(client.app.state.engine),  # type: ignore[attr-defined]
        revision,
        (len(graph["nodes"]), len(graph.get("edges", graph.get("links", [])))),
    )
