"""Graph routes: neighbourhoods, paths, proxy chains, time, and exports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app import reads
from app.api.actors import ActorId, AsOf
from app.api.deps import EngineDep, SessionDep, SettingsDep, StoreDep, json_reply, problems
from app.errors import Invalid
from app.graph.queries import edge_filter
from app.schemas import ActorRef, IsoDate, RelationshipRead, TieRead
from app.vocabulary import Polarity, RelType

router = APIRouter(prefix="/v1", tags=["graph"])

_ACTOR_ID = r"^[a-z0-9][a-z0-9-]*$"


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _bounded(name: str, value: int, cap: int, setting: str) -> int:
    if value > cap:
        raise Invalid(
            f"`{name}` may be at most {cap} on this server ({setting}).",
            errors=[{"pointer": f"/{name}", "in": "query", "message": f"must be <= {cap}"}],
        )
    return value


class Neighbourhood(BaseModel):
    center: str
    depth: int
    nodes: list[ActorRef]
    edges: list[RelationshipRead]
    truncated: bool = Field(description="True when the node cap (KG_MAX_NODES) cut the walk.")


@router.get(
    "/actors/{actor_id}/neighborhood",
    response_model=Neighbourhood,
    summary="Actors and ties around an actor",
    operation_id="get_neighborhood",
    tags=["actors"],
    responses=problems(304, 401, 404, 422),
)
def neighborhood(
    request: Request,
    engine: EngineDep,
    store: StoreDep,
    settings: SettingsDep,
    actor_id: ActorId,
    depth: Annotated[
        int, Query(ge=0, le=10, description="Hops from the actor (at most KG_MAX_DEPTH).")
    ] = 1,
    as_of: AsOf = None,
    polarity: Annotated[Polarity | None, Query()] = None,
    type: Annotated[list[RelType] | None, Query(max_length=len(RelType))] = None,
) -> Response:
    """Every actor within `depth` hops (ties walked in either direction) and the ties among
    them: what a frontend draws around a selected node. Nearest actors come first; the walk
    stops at KG_MAX_NODES and says `truncated`."""
    depth = _bounded("depth", depth, settings.max_depth, "KG_MAX_DEPTH")
    keep = edge_filter(
        as_of=_iso(as_of),
        polarity=polarity.value if polarity else None,
        types={t.value for t in type} if type else None,
    )
    hood = reads.actor_neighbourhood(store, engine, settings, actor_id, depth=depth, keep=keep)
    return json_reply(request, hood)


class Hop(BaseModel):
    from_: str = Field(alias="from")
    to: str
    relationship: RelationshipRead


class PathRead(BaseModel):
    length: int
    nodes: list[str]
    hops: list[Hop]


class PathList(BaseModel):
    items: list[PathRead]
    total: int
    truncated: bool = Field(
        description="True when the work or time budget ended the search "
        "before `k` paths were found or ruled out."
    )


@router.get(
    "/paths",
    response_model=PathList,
    summary="Paths between two actors",
    operation_id="find_paths",
    responses=problems(304, 401, 404, 422),
)
def paths(
    request: Request,
    engine: EngineDep,
    store: StoreDep,
    settings: SettingsDep,
    from_: Annotated[
        str, Query(alias="from", min_length=1, max_length=200, pattern=_ACTOR_ID, examples=["iran"])
    ],
    to: Annotated[str, Query(min_length=1, max_length=200, pattern=_ACTOR_ID, examples=["hamas"])],
    mode: Annotated[
        Literal["alliance", "proxy", "hostile", "any"],
        Query(
            description="`alliance`: positive ties either way; `proxy`: `sponsors` from sponsor to "
            "proxy; `hostile`: negative ties; `any`: every tie."
        ),
    ] = "any",
    k: Annotated[int, Query(ge=1, le=100, description="Most paths (at most KG_MAX_PATHS).")] = 3,
    max_hops: Annotated[int, Query(ge=1, le=20, description="At most KG_MAX_HOPS.")] = 4,
    as_of: AsOf = None,
    weight: Annotated[
        Literal["confidence"] | None,
        Query(description="`confidence`: prefer better attested paths over shorter ones."),
    ] = None,
) -> Response:
    """Up to `k` simple paths from one actor to another, shortest first, each hop with its
    relationship and evidence. No path is an empty list, not an error; an unknown actor is a
    404. The search is bounded by work and time, not only by result count."""
    k = _bounded("k", k, settings.max_paths, "KG_MAX_PATHS")
    max_hops = _bounded("max_hops", max_hops, settings.max_hops, "KG_MAX_HOPS")
    found = reads.find_paths(
        store,
        engine,
        settings,
        source=from_,
        target=to,
        mode=mode,
        k=k,
        max_hops=max_hops,
        keep=edge_filter(as_of=_iso(as_of)),
        weight=weight,
    )
    return json_reply(request, found)


class Chain(BaseModel):
    actor: ActorRef
    depth: int
    chain: list[str] = Field(description="Actor ids from the asked actor to this one.")
    relationships: list[int] = Field(description="The `sponsors` relationship ids along it.")


class ChainList(BaseModel):
    items: list[Chain]
    total: int
    truncated: bool


def _chains(
    request: Request,
    store: Any,
    settings: Any,
    actor_id: str,
    upward: bool,
    depth: int,
    as_of: date | None,
) -> Response:
    depth = _bounded("depth", depth, settings.max_depth, "KG_MAX_DEPTH")
    chains = reads.sponsor_chains(
        store, settings, actor_id, upward=upward, depth=depth, keep=edge_filter(as_of=_iso(as_of))
    )
    return json_reply(request, chains)


@router.get(
    "/actors/{actor_id}/proxies",
    response_model=ChainList,
    tags=["actors"],
    summary="An actor's proxies, and theirs",
    operation_id="list_proxies",
    responses=problems(304, 401, 404, 422),
)
def proxies(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    actor_id: ActorId,
    depth: Annotated[int, Query(ge=1, le=10)] = 3,
    as_of: AsOf = None,
) -> Response:
    """Actors reachable along `sponsors` edges from this one (its proxies, their proxies...),
    nearest first, each with its depth and chain."""
    return _chains(request, store, settings, actor_id, False, depth, as_of)


@router.get(
    "/actors/{actor_id}/patrons",
    response_model=ChainList,
    tags=["actors"],
    summary="An actor's patrons, and theirs",
    operation_id="list_patrons",
    responses=problems(304, 401, 404, 422),
)
def patrons(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    actor_id: ActorId,
    depth: Annotated[int, Query(ge=1, le=10)] = 3,
    as_of: AsOf = None,
) -> Response:
    """Actors that sponsor this one, and their sponsors, nearest first, each with its chain."""
    return _chains(request, store, settings, actor_id, True, depth, as_of)


class TimelineEvent(BaseModel):
    date: str | None = Field(description="The (possibly partial) date; null: start unknown.")
    event: Literal["began", "ended"]
    tie: TieRead


class Timeline(BaseModel):
    actor: ActorRef
    items: list[TimelineEvent]
    total: int
    limit: int
    offset: int


@router.get(
    "/actors/{actor_id}/timeline",
    response_model=Timeline,
    tags=["actors"],
    summary="An actor's ties in date order",
    operation_id="get_timeline",
    responses=problems(304, 401, 404, 422),
)
def timeline(
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    actor_id: ActorId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Each tie of the actor as a `began` event (and an `ended` one when it has `valid_to`),
    oldest first; ties with no known start come first. Paged: `total` counts every event."""
    return reads.timeline(
        store, session, actor_id, limit=min(limit, settings.max_page_size), offset=offset
    )


class PolarityChange(BaseModel):
    actors: list[str]
    before: Literal["positive", "negative"]
    after: Literal["positive", "negative"]
    relationships: list[RelationshipRead]


class Diff(BaseModel):
    from_: str = Field(alias="from")
    to: str
    began: list[RelationshipRead]
    ended: list[RelationshipRead]
    polarity_changed: list[PolarityChange]


@router.get(
    "/diff",
    response_model=Diff,
    summary="What changed between two dates",
    operation_id="get_diff",
    responses=problems(304, 401, 422),
)
def diff(
    session: SessionDep,
    store: StoreDep,
    from_: Annotated[IsoDate, Query(alias="from", examples=["2024-06-01"])],
    to: Annotated[IsoDate, Query(examples=["2025-04-04"])],
) -> dict[str, Any]:
    """Relationships that began (`from < valid_from <= to`) or ended
    (`from < valid_to <= to`), and pairs of actors whose net polarity flipped: what a
    time slider needs."""
    return reads.graph_diff(store, session, from_.isoformat(), to.isoformat())


@router.get(
    "/graph",
    summary="Export the graph",
    operation_id="export_graph",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The graph in the asked format.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/graphml+xml": {"schema": {"type": "string"}},
                "application/gexf+xml": {"schema": {"type": "string"}},
            },
        },
        **problems(304, 401, 422),
    },
)
def export(
    request: Request,
    store: StoreDep,
    format: Annotated[
        Literal["node-link", "cytoscape", "graphml", "gexf"],
        Query(
            description="`node-link` (NetworkX JSON), `cytoscape` (Cytoscape.js elements), "
            "`graphml`, `gexf` (Gephi)."
        ),
    ] = "node-link",
    as_of: AsOf = None,
    type: Annotated[list[RelType] | None, Query(max_length=len(RelType))] = None,
    polarity: Annotated[Polarity | None, Query()] = None,
) -> StreamingResponse:
    """The whole graph, or the part holding on `as_of` and matching `type`/`polarity`,
    streamed. Carries an `ETag` on the revision; `If-None-Match` answers 304."""
    media_type, chunks = reads.export_graph(
        store,
        fmt=format,
        as_of=_iso(as_of),
        types={t.value for t in type} if type else None,
        polarity=polarity.value if polarity else None,
    )
    ext = {"node-link": "json", "cytoscape": "json", "graphml": "graphml", "gexf": "gexf"}[format]
    return StreamingResponse(
        chunks,
        media_type=media_type,
        headers={
            "ETag": request.state.etag,
            "Content-Disposition": f'inline; filename="graph.{ext}"',
        },
    )
