"""The batch write route."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from app.api.deps import EngineDep, SettingsDep, StoreDep, WriterDep, problems
from app.ingest import ingest as ingest_batch
from app.schemas import Batch, IngestResult
from app.seed import example_batch

router = APIRouter(prefix="/v1", tags=["ingest"])


@router.post("/ingest", response_model=IngestResult, summary="Ingest a batch",
             operation_id="ingest_batch",
             responses=problems(401, 403, 413, 415, 422, 503))
def ingest(
    engine: EngineDep, store: StoreDep, settings: SettingsDep, caller: WriterDep,
    batch: Annotated[Batch, Body(openapi_examples={"seed": {
        "summary": "Part of the seed graph",
        "value": example_batch(),
    }})],
) -> dict[str, Any]:
    """Upsert sources, actors and relationships in one transaction.

    - Actors without an `id` get one derived from the name.
    - A relationship is keyed by (`source`, `target`, `type`, `valid_from`), ends of undirected
      types sorted; sending the same key again merges evidence and never duplicates.
    - Where a source has `text`, every quote citing it must occur in it (white space and
      typographic quote marks folded).
    - If any item is invalid nothing is written, and the 422 names every bad item by JSON
      pointer (e.g. `/relationships/3/target`). Re-sending a batch changes nothing.

    The reply counts what was created, updated or unchanged, and gives the new revision."""
    return ingest_batch(engine, store, batch, key_id=caller.key_id,
                        max_items=settings.max_batch_items)
