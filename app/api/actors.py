"""Actor routes: search, read, ties and the keyed writes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from app import actors as use
from app import reads
from app.api.deps import (
    EngineDep,
    SessionDep,
    SettingsDep,
    StoreDep,
    WriterDep,
    json_reply,
    problems,
)
from app.graph.queries import edge_filter
from app.repo import actor_record
from app.schemas import ActorFields, ActorPatch, ActorRead, IsoDate, Page, TieRead
from app.vocabulary import ActorKind, Polarity, RelType

router = APIRouter(prefix="/v1/actors", tags=["actors"])

ActorId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="The actor's slug id.",
        examples=["iraq"],
    ),
]
AsOf = Annotated[
    IsoDate | None,
    Query(
        description="Only relationships holding on this date (`valid_from <= as_of < valid_to`; "
        "partial dates count as their first day).",
        examples=["2025-04-04"],
    ),
]


class ActorHit(ActorRead):
    rank: int | None = None


@router.get(
    "",
    response_model=Page[ActorHit],
    summary="Search actors",
    operation_id="search_actors",
    responses=problems(401, 422),
)
def search(
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="Name or alias; case- and accent-insensitive, taken literally.",
            examples=["sudani"],
        ),
    ] = None,
    kind: Annotated[ActorKind | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Actors whose name or alias contains `q`, best first: exact name (rank 0), exact alias
    (1), prefix (2), substring (3). Without `q`, every actor by name."""
    return use.search_actors(
        session,
        q=q,
        kind=kind.value if kind else None,
        limit=min(limit, settings.max_page_size),
        offset=offset,
    )


@router.get(
    "/{actor_id}",
    response_model=ActorRead,
    summary="Get an actor",
    operation_id="get_actor",
    responses=problems(401, 404, 422),
)
def get(session: SessionDep, actor_id: ActorId) -> dict[str, Any]:
    """One actor with its aliases, country, description and attributes."""
    return actor_record(use.get_actor(session, actor_id))


@router.put(
    "/{actor_id}",
    response_model=ActorRead,
    summary="Create or replace an actor",
    operation_id="put_actor",
    status_code=200,
    responses={
        201: {"description": "Created", "model": ActorRead},
        **problems(401, 403, 413, 415, 422, 503),
    },
)
def put(
    engine: EngineDep,
    store: StoreDep,
    caller: WriterDep,
    actor_id: ActorId,
    body: ActorFields,
    response: Response,
) -> dict[str, Any]:
    """Create the actor with this id, or replace every field of the existing one (201 when
    created). Relationships are untouched."""
    record, created = use.put_actor(engine, store, actor_id, body, key_id=caller.key_id)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return record


@router.patch(
    "/{actor_id}",
    response_model=ActorRead,
    summary="Change some fields of an actor",
    operation_id="patch_actor",
    responses=problems(401, 403, 404, 413, 415, 422, 503),
)
def patch(
    engine: EngineDep, store: StoreDep, caller: WriterDep, actor_id: ActorId, body: ActorPatch
) -> dict[str, Any]:
    """Set the fields given; absent fields keep their values."""
    return use.patch_actor(engine, store, actor_id, body, key_id=caller.key_id)


@router.delete(
    "/{actor_id}",
    status_code=204,
    summary="Delete an actor",
    operation_id="delete_actor",
    responses=problems(401, 403, 404, 409, 422, 503),
)
def delete(
    engine: EngineDep,
    store: StoreDep,
    caller: WriterDep,
    actor_id: ActorId,
    cascade: Annotated[bool, Query(description="Also delete its relationships.")] = False,
) -> Response:
    """Delete the actor. With relationships still attached this is a 409 unless
    `cascade=true`, which deletes them (and their evidence) too."""
    use.delete_actor(engine, store, actor_id, cascade=cascade, key_id=caller.key_id)
    return Response(status_code=204)


@router.get(
    "/{actor_id}/ties",
    response_model=Page[TieRead],
    summary="An actor's ties",
    operation_id="list_ties",
    responses=problems(304, 401, 404, 422),
)
def ties(
    request: Request,
    engine: EngineDep,
    store: StoreDep,
    settings: SettingsDep,
    actor_id: ActorId,
    type: Annotated[
        list[RelType] | None,
        Query(max_length=len(RelType), description="Keep these types (repeatable)."),
    ] = None,
    polarity: Annotated[Polarity | None, Query()] = None,
    direction: Annotated[
        Literal["out", "in", "both"] | None,
        Query(
            description="`out`/`in`: directed ties leaving/entering the actor, plus undirected ones; "
            "`both`: undirected ties only."
        ),
    ] = None,
    as_of: AsOf = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The actor's relationships, each with its counterpart `{id, name, kind}`, its direction
    from this actor's point of view, and its evidence."""
    keep = edge_filter(
        as_of=as_of.isoformat() if as_of else None,
        types={t.value for t in type} if type else None,
        polarity=polarity.value if polarity else None,
        min_confidence=min_confidence,
    )
    page = reads.actor_ties(
        store,
        engine,
        actor_id,
        keep=keep,
        direction=direction,
        limit=min(limit, settings.max_page_size),
        offset=offset,
    )
    return json_reply(request, page)
