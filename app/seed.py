"""The seed graph: batches in seed_data/, loaded into an empty database at start-up."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.ingest import ingest
from app.models import Actor
from app.schemas import Batch

SEED_DIR = Path(__file__).resolve().parent.parent / "seed_data"


def seed_files(seed_dir: Path = SEED_DIR) -> list[Path]:
    return sorted(seed_dir.glob("*.json"))


def load_seed(engine: Engine, seed_dir: Path = SEED_DIR, *, max_items: int = 1_000_000) -> int:
    """Ingest every seed batch if the database holds no actor yet; returns batches loaded."""
    with Session(engine) as s:
        if s.execute(select(func.count()).select_from(Actor)).scalar_one():
            return 0
    files = seed_files(seed_dir)
    for path in files:
        batch = Batch.model_validate_json(path.read_bytes())
        ingest(engine, None, batch, key_id="seed", max_items=max_items, action="seed")
    return len(files)


@functools.cache
def example_batch() -> dict[str, Any]:
    """A small, valid slice of the seed graph for the OpenAPI request example."""
    files = seed_files()
    if not files:
        return {"sources": [], "actors": [], "relationships": []}
    data = json.loads(files[0].read_text(encoding="utf-8"))
    rel = next(r for r in data["relationships"] if r["type"] == "sponsors")
    ids = {rel["source"], rel["target"]}
    return {
        "sources": data["sources"],
        "actors": [a for a in data["actors"] if a["id"] in ids],
        "relationships": [rel],
    }
