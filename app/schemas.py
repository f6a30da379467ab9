"""API models: what clients send and receive. Strict: unknown fields and lax types are refused."""

from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from app.text import check_text
from app.vocabulary import ActorKind, EvidenceLevel, Polarity, RelType, SupportKind

T = TypeVar("T")

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,198}[a-z0-9])?$"
DATE_PATTERN = r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"


def _line(value: str) -> str:
    value = check_text(value, single_line=True)
    # Full-width and other compatibility forms fold to one spelling so one name is one actor.
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def _para(value: str) -> str:
    return check_text(value, single_line=False)


def _partial_date(value: str) -> str:
    parts = [int(p) for p in value.split("-")]
    try:
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date") from None
    if parts[0] < 1:
        raise ValueError("year must be positive")
    return value


def _unique(values: list[str]) -> list[str]:
    # One alias once: folding happens in the search keys, the spellings are kept as given.
    return list(dict.fromkeys(values))


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Slug = Annotated[
    StrictStr, Field(min_length=1, max_length=200, pattern=SLUG_PATTERN, examples=["iraq"])
]
Name = Annotated[StrictStr, Field(min_length=1, max_length=300), AfterValidator(_line)]
ShortText = Annotated[StrictStr, Field(min_length=1, max_length=500), AfterValidator(_line)]
LongText = Annotated[StrictStr, Field(max_length=10_000), AfterValidator(_para)]
DocumentText = Annotated[StrictStr, Field(max_length=2_000_000), AfterValidator(_para)]
Quote = Annotated[StrictStr, Field(min_length=1, max_length=2_000), AfterValidator(_para)]
PartialDate = Annotated[
    StrictStr,
    Field(
        pattern=DATE_PATTERN,
        max_length=10,
        examples=["2024-12"],
        description="ISO date, or a partial one (`2024`, `2024-12`) that keeps its precision.",
    ),
    AfterValidator(_partial_date),
]
Confidence = Annotated[StrictFloat | StrictInt, Field(ge=0, le=1), AfterValidator(_finite)]
Aliases = Annotated[list[Name], Field(max_length=100), AfterValidator(_unique)]
Country = Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$", examples=["IQ"])]
HttpUrl = Annotated[StrictStr, Field(max_length=2048, pattern=r"^https?://[^\s]+$")]
AttrKey = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
AttrScalar = (
    Annotated[StrictStr, Field(max_length=2000), AfterValidator(_para)]
    | StrictBool
    | StrictInt
    | Annotated[StrictFloat, AfterValidator(_finite)]
    | None
)
AttrValue = AttrScalar | Annotated[list[AttrScalar], Field(max_length=100)]
Attributes = Annotated[dict[AttrKey, AttrValue], Field(max_length=50)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2_000_000)


# ---------------------------------------------------------------- input


class SourceIn(Strict):
    """A document that evidence quotes. Where `text` is given, every quote citing it must occur in it."""

    id: Slug
    url: HttpUrl | None = None
    title: ShortText | None = None
    publisher: ShortText | None = None
    published: PartialDate | None = None
    text: DocumentText | None = None


class ActorFields(Strict):
    name: Name
    kind: ActorKind
    aliases: Aliases = []
    country: Country | None = None
    description: LongText | None = None
    attributes: Attributes = {}


class ActorIn(ActorFields):
    """An actor in a batch; without `id` one is derived from the name."""

    id: Slug | None = None


class ActorPatch(Strict):
    """Fields to change on an actor; absent fields stay as they are."""

    name: Name | None = None
    kind: ActorKind | None = None
    aliases: Aliases | None = None
    country: Country | None = None
    description: LongText | None = None
    attributes: Attributes | None = None


class EvidenceIn(Strict):
    source: Slug = Field(description="Id of a source in this batch or in the database.")
    quote: Quote = Field(description="A verbatim excerpt of the source.")


class RelationshipAttributes(Strict):
    """Known attributes are checked; others pass through as plain JSON scalars."""

    model_config = ConfigDict(extra="allow")

    role: ShortText | None = None
    support: list[SupportKind] | None = None
    evidence_level: EvidenceLevel | None = None


class RelationshipIn(Strict):
    source: Slug
    target: Slug
    type: RelType
    valid_from: PartialDate | None = None
    valid_to: PartialDate | None = None
    confidence: Confidence = 0.8
    attributes: Attributes = {}
    evidence: Annotated[list[EvidenceIn], Field(min_length=1, max_length=100)]

    @field_validator("attributes")
    @classmethod
    def _known_attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        RelationshipAttributes.model_validate(value)
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> RelationshipIn:
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class Batch(Strict):
    """A batch of sources, actors and relationships written in one transaction."""

    sources: Annotated[list[SourceIn], Field(max_length=100_000)] = []
    actors: Annotated[list[ActorIn], Field(max_length=1_000_000)] = []
    relationships: Annotated[list[RelationshipIn], Field(max_length=1_000_000)] = []


# ---------------------------------------------------------------- output


class ActorRef(BaseModel):
    id: str
    name: str
    kind: str


class ActorRead(BaseModel):
    id: str
    name: str
    kind: str
    aliases: list[str]
    country: str | None
    description: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SourceRead(BaseModel):
    id: str
    url: str | None
    title: str | None
    publisher: str | None
    published: str | None
    has_text: bool


class SourceFull(SourceRead):
    text: str | None


class EvidenceRead(BaseModel):
    source: str
    quote: str


class RelationshipRead(BaseModel):
    id: int
    source: str
    target: str
    type: RelType
    directed: bool
    polarity: Polarity
    valid_from: str | None
    valid_to: str | None
    confidence: float
    attributes: dict[str, Any]
    evidence: list[EvidenceRead]


class TieRead(RelationshipRead):
    counterpart: ActorRef
    direction: Literal["out", "in", "both"] = Field(
        description="`out`: the actor is the source of a directed tie; `in`: the target; "
        "`both`: an undirected tie."
    )


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class KindCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class IngestResult(BaseModel):
    revision: int = Field(description="The graph revision after this batch.")
    sources: KindCounts
    actors: KindCounts
    relationships: KindCounts
    evidence_added: int


class Revision(BaseModel):
    revision: int


class Health(BaseModel):
    status: Literal["ok"]
    revision: int
    database: str


class ProblemError(BaseModel):
    pointer: str
    message: str
    in_: str | None = Field(default=None, alias="in")


class Problem(BaseModel):
    """An RFC 9457 problem document (media type application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None
