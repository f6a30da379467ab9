"""Analytics routes: blocs, structural balance, centrality."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app import reads
from app.api.actors import AsOf
from app.api.deps import CacheDep, SessionDep, SettingsDep, StoreDep, problems
from app.schemas import ActorRef, RelationshipRead

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


class Sample(BaseModel):
    """The part of the graph an answer was computed on, when the graph was too large."""

    actors: int = Field(description="Actors in the sample.")
    ties: int = Field(
        description="Relationships in the sample: those holding on `as_of`, if given, and for "
        "blocs and balance only positive and negative ones."
    )
    of_actors: int = Field(description="Actors in the whole graph.")
    of_ties: int = Field(description="Relationships in the whole graph, of every date and type.")


_SAMPLED = (
    "True when the answer was computed on a sample of the graph (see `sample`): graphs with "
    "more relationships than KG_ANALYTICS_SAMPLE_EDGES are cut to the ties among the actors "
    "with the most ties, at most that many."
)
_SAMPLE = "What the sample held, or null when the whole graph was used."


class Bloc(BaseModel):
    id: str
    members: list[str]


class Blocs(BaseModel):
    items: list[Bloc]
    crossing: list[RelationshipRead] = Field(description="Signed ties between different blocs.")
    frustrated: list[int] = Field(
        description="Ids of ties that contradict the partition: "
        "positive between blocs or negative inside one."
    )
    frustration: int
    sampled: bool = Field(description=_SAMPLED + " Actors outside it are in no bloc.")
    sample: Sample | None = Field(description=_SAMPLE)
    revision: int


@router.get(
    "/blocs",
    response_model=Blocs,
    summary="Alliance blocs",
    operation_id="get_blocs",
    responses=problems(304, 401, 422),
)
def blocs(
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    cache: CacheDep,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """Groups of actors held together by positive ties and set apart by negative ones:
    Louvain communities of the positive ties, refined node by node to lower the number of
    frustrated ties. Computed once per graph revision and date, never stored as fact.
    Graphs over KG_ANALYTICS_SAMPLE_EDGES relationships are sampled (their busiest core), and
    the answer says so in `sampled` and `sample`."""
    return reads.blocs(store, session, settings, cache, as_of.isoformat() if as_of else None)


class Implied(BaseModel):
    between: list[str]
    polarity: Literal["positive", "negative"]
    rule: str


class Triad(BaseModel):
    kind: Literal["unbalanced", "open"]
    actors: list[str]
    relationships: list[RelationshipRead]
    implied: Implied


class Triads(BaseModel):
    items: list[Triad]
    total: int
    truncated: bool
    sampled: bool = Field(description=_SAMPLED)
    sample: Sample | None = Field(description=_SAMPLE)


@router.get(
    "/balance",
    response_model=Triads,
    summary="Structural balance",
    operation_id="get_balance",
    responses=problems(304, 401, 422),
)
def balance(
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    cache: CacheDep,
    as_of: AsOf = None,
    include_open: Annotated[
        bool,
        Query(
            description="Also list open triads (a–b–c with no "
            "a–c tie) and the tie balance implies for them."
        ),
    ] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Triads whose signs break structural balance ("the enemy of my enemy is my friend"),
    each with its relationships and the tie balance theory implies: derived, never stored.
    The search stops at the query budget (`truncated`); a complete answer is cached per graph
    revision. Graphs over KG_ANALYTICS_SAMPLE_EDGES relationships are sampled (`sampled`,
    `sample`)."""
    return reads.balance(
        store,
        session,
        settings,
        cache,
        as_of=as_of.isoformat() if as_of else None,
        include_open=include_open,
        limit=limit,
    )


class Score(BaseModel):
    actor: ActorRef
    score: float


class Centrality(BaseModel):
    metric: str
    items: list[Score]
    sampled: bool = Field(
        description="True when the scores are estimates: betweenness sampled its sources "
        "(above KG_BETWEENNESS_SAMPLE_ABOVE nodes or KG_BETWEENNESS_MAX_WORK; see `sources`), "
        "or betweenness or PageRank ran on a sample of a graph with more relationships than "
        "KG_ANALYTICS_SAMPLE_EDGES (see `sample`). Degree is always exact."
    )
    sample: Sample | None = Field(description=_SAMPLE)
    sources: int | None = Field(
        description="Betweenness: the actors its shortest paths were counted from "
        "(all of `nodes` unless sampled). Null for other metrics."
    )
    iterations: int | None = Field(
        description="PageRank: the power iterations run. Null for other metrics."
    )
    converged: bool | None = Field(
        description="PageRank: whether the iterations met the tolerance; false when "
        "KG_PAGERANK_MAX_WORK cut them short. Null for other metrics."
    )
    nodes: int = Field(
        description="Actors scored: those with a relationship holding on `as_of` "
        "(within the sample, when sampled)."
    )
    revision: int


@router.get(
    "/centrality",
    response_model=Centrality,
    summary="Brokers and hubs",
    operation_id="get_centrality",
    responses=problems(304, 401, 422),
)
def centrality(
    store: StoreDep,
    settings: SettingsDep,
    cache: CacheDep,
    metric: Annotated[Literal["degree", "betweenness", "pagerank"], Query()] = "degree",
    top: Annotated[int, Query(ge=1, le=500)] = 10,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """The `top` actors by degree, betweenness (brokers) or PageRank (hubs), highest first.
    Computed once per graph revision and date. Degree is exact at any size; betweenness and
    PageRank are bounded (KG_BETWEENNESS_MAX_WORK, KG_PAGERANK_MAX_WORK) and, past
    KG_ANALYTICS_SAMPLE_EDGES relationships, run on a sample: see `sampled`."""
    return reads.centrality(
        store, settings, cache, metric=metric, top=top, as_of=as_of.isoformat() if as_of else None
    )
