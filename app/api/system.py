"""Service routes: health, the graph revision, the change log, and sources."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlmodel import col

from app.actors import get_source
from app.api.deps import SessionDep, SettingsDep, StoreDep, problems
from app.models import Change, Source
from app.schemas import Health, Page, Revision, SourceFull, SourceRead

# Revisions are a 32-bit INTEGER column on PostgreSQL: a larger `since` is no revision at all.
MAX_REVISION = 2**31 - 1

router = APIRouter()
# Liveness stays open even when reads need a key: load balancers probe it.
open_router = APIRouter()


@open_router.get(
    "/health",
    response_model=Health,
    tags=["service"],
    summary="Liveness and readiness",
    operation_id="health",
    responses=problems(503),
)
def health(session: SessionDep, store: StoreDep) -> dict[str, Any]:
    """`ok` when the database answers; also the graph revision this process serves."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "revision": store.revision, "database": session.get_bind().dialect.name}


@router.get(
    "/v1/revision",
    response_model=Revision,
    tags=["service"],
    summary="Current graph revision",
    operation_id="get_revision",
    responses=problems(304, 401),
)
def revision(store: StoreDep) -> dict[str, int]:
    """The revision of the graph: it grows by one with every committed write. Graph responses
    carry an `ETag` derived from it and answer `If-None-Match` with 304."""
    return {"revision": store.revision}


class ChangeRead(BaseModel):
    revision: int
    at: str
    key_id: str | None
    action: str
    actors: list[str]
    relationships: list[int]
    sources: list[str]
    summary: dict[str, Any]


class ChangePage(BaseModel):
    items: list[ChangeRead]
    total: int
    next_since: int


@router.get(
    "/v1/changes",
    response_model=ChangePage,
    tags=["service"],
    summary="Change log after a revision",
    operation_id="list_changes",
    responses=problems(401, 422),
)
def changes(
    session: SessionDep,
    settings: SettingsDep,
    since: Annotated[
        int,
        Query(ge=0, le=MAX_REVISION, description="Return changes after this revision."),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """What was written after `since`: the revision, when, by which key id (never the key),
    and the ids of the actors, relationships and sources touched. Poll with `since` set to the
    last `next_since` to follow the graph (replicas, audit, live frontends)."""
    rows = (
        session.execute(
            select(Change)
            .where(col(Change.revision) > since)
            .order_by(col(Change.revision))
            .limit(limit)
        )
        .scalars()
        .all()
    )
    # SQLite hands timestamps back naive; they were written in UTC, and the answer says so.
    items = [
        {**r.model_dump(), "at": (r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)).isoformat()}
        for r in rows
    ]
    return {
        "items": items,
        "total": len(items),
        "next_since": items[-1]["revision"] if items else since,
    }


@router.get(
    "/v1/sources",
    response_model=Page[SourceRead],
    tags=["sources"],
    summary="List sources",
    operation_id="list_sources",
    responses=problems(401, 422),
)
def list_sources(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """The documents evidence quotes, newest first (without their text)."""
    rows = (
        session.execute(
            select(Source)
            .order_by(col(Source.published).desc(), col(Source.id))
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )
    total = session.execute(select(func.count()).select_from(Source)).scalar_one()
    items = [
        SourceRead(**r.model_dump(exclude={"text"}), has_text=r.text is not None).model_dump()
        for r in rows
    ]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/v1/sources/{source_id}",
    response_model=SourceFull,
    tags=["sources"],
    summary="Get a source",
    operation_id="get_source",
    responses=problems(401, 404, 422),
)
def read_source(
    session: SessionDep,
    source_id: Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[a-z0-9][a-z0-9-]*$")],
) -> dict[str, Any]:
    """One source with its full text, where it was given."""
    s = get_source(session, source_id)
    return {**s.model_dump(), "has_text": s.text is not None}
