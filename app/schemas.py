"""API models: what clients send and receive. Strict: unknown fields and lax types are refused."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictFloat,
    StrictStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.text import check_text, fold
from app.vocabulary import ActorKind, EvidenceLevel, Polarity, RelType, SupportKind

T = TypeVar("T")

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,198}[a-z0-9])?$"
DATE_PATTERN = r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"


# What check_text refuses, stated in the schema too, so that clients and fuzzers generate text
# the server takes (tests/hardening checks the two agree).
_NOT_IN_LINE = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_NOT_IN_PARA = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
LINE_PATTERN = rf"^[^{_NOT_IN_LINE}]*[^\s{_NOT_IN_LINE}][^{_NOT_IN_LINE}]*$"
PARA_PATTERN = rf"^[^{_NOT_IN_PARA}]*$"
QUOTE_PATTERN = rf"^[^{_NOT_IN_PARA}]*[^\s{_NOT_IN_PARA}][^{_NOT_IN_PARA}]*$"


def _line(value: str) -> str:
    value = check_text(value, single_line=True)
    # Full-width and other compatibility forms fold to one spelling so one name is one actor.
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def _line_within(limit: int) -> Callable[[str], str]:
    """A single-line check that also bounds the normalised and the folded (search key) form:
    NFKC and case folding can lengthen text ("ﷺ" is 18 characters, "ß" folds to "ss")."""

    def check(value: str) -> str:
        value = _line(value)
        if len(value) > limit or len(fold(value)) > limit:
            raise ValueError(f"must be at most {limit} characters once normalised")
        return value

    return check


def _para(value: str) -> str:
    return check_text(value, single_line=False)


def _quote(value: str) -> str:
    value = _para(value)
    # A blank quote "occurs" in every text: it would be evidence of nothing.
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _partial_date(value: str) -> str:
    parts = [int(p) for p in value.split("-")]
    try:
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date") from None
    if parts[0] < 1:
        raise ValueError("year must be positive")
    return value


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    # Pydantic's lax dates also take Unix timestamps ("0" is 1970-01-01): only YYYY-MM-DD is.
    if not isinstance(value, date) and not (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        raise ValueError("expected an ISO date YYYY-MM-DD")
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


def _line_field(limit: int) -> Any:
    return Field(min_length=1, max_length=limit, json_schema_extra={"pattern": LINE_PATTERN})


# Each limit is its column's width, so no valid input can overflow a column on PostgreSQL.
Name = Annotated[StrictStr, _line_field(300), AfterValidator(_line_within(300))]
ShortText = Annotated[StrictStr, _line_field(500), AfterValidator(_line_within(500))]
Publisher = Annotated[StrictStr, _line_field(300), AfterValidator(_line_within(300))]
LongText = Annotated[
    StrictStr,
    Field(max_length=10_000, json_schema_extra={"pattern": PARA_PATTERN}),
    AfterValidator(_para),
]
DocumentText = Annotated[
    StrictStr,
    Field(max_length=2_000_000, json_schema_extra={"pattern": PARA_PATTERN}),
    AfterValidator(_para),
]
Quote = Annotated[
    StrictStr,
    Field(min_length=1, max_length=2_000, json_schema_extra={"pattern": QUOTE_PATTERN}),
    AfterValidator(_quote),
]
_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
PartialDate = Annotated[
    StrictStr,
    Field(
        pattern=DATE_PATTERN,
        max_length=10,
        examples=["2024-12"],
        description="ISO date, or a partial one (`2024`, `2024-12`) that keeps its precision.",
    ),
    AfterValidator(_partial_date),
    # The schema states what _partial_date admits: a real day, or a year with a real month.
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 10,
            "anyOf": [
                {"pattern": rf"^{_YEAR}(?:-(?:0[1-9]|1[0-2]))?$"},
                {"format": "date"},
            ],
            "examples": ["2024-12"],
            "description": "ISO date, or a partial one (`2024`, `2024-12`) that keeps "
            "its precision.",
        }
    ),
]
IsoDate = Annotated[date, BeforeValidator(_iso_day)]
# StrictFloat takes JSON integers (0, 1) but not "0.5" or true; one type, so one error message.
Confidence = Annotated[StrictFloat, Field(ge=0, le=1), AfterValidator(_finite)]
Aliases = Annotated[list[Name], Field(max_length=100), AfterValidator(_unique)]
Country = Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$", examples=["IQ"])]
HttpUrl = Annotated[
    StrictStr, Field(max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$")
]
ATTR_KEY_PATTERN = r"^[A-Za-z0-9_.-]+$"
AttrKey = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=ATTR_KEY_PATTERN)]
_INT64 = (-(2**63), 2**63 - 1)
_ATTR_SCALAR_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": 2000, "pattern": PARA_PATTERN},
        {"type": "boolean"},
        {"type": "integer", "minimum": _INT64[0], "maximum": _INT64[1]},
        {"type": "number"},
        {"type": "null"},
    ]
}


def _attr_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # Past 64 bits JSON tooling (orjson, many clients) loses it: kept as a number.
        return value if _INT64[0] <= value <= _INT64[1] else float(value)
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, str):
        if len(value) > 2000:
            raise ValueError("text values are at most 2000 characters")
        return _para(value)
    raise ValueError("must be text, a number, true/false, null, or a list of those")


def _attr_value(value: Any) -> Any:
    # One validator, not a union: a bad value gets one message at its own pointer.
    if isinstance(value, list):
        if len(value) > 100:
            raise ValueError("lists hold at most 100 values")
        return [_attr_scalar(v) for v in value]
    return _attr_scalar(value)


AttrValue = Annotated[
    Any,
    PlainValidator(_attr_value),
    WithJsonSchema(
        {
            "anyOf": [
                *_ATTR_SCALAR_SCHEMA["anyOf"],
                {"type": "array", "maxItems": 100, "items": _ATTR_SCALAR_SCHEMA},
            ]
        }
    ),
]
Attributes = Annotated[
    dict[AttrKey, AttrValue],
    Field(
        max_length=50,
        # pydantic states the key rule as patternProperties, which admits any other key.
        json_schema_extra={
            "propertyNames": {"minLength": 1, "maxLength": 64, "pattern": ATTR_KEY_PATTERN},
            "additionalProperties": False,
        },
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2_000_000)


# ---------------------------------------------------------------- input


class SourceIn(Strict):
    """A document that evidence quotes. Where `text` is given, every quote citing it must occur in it."""

    id: Slug
    url: HttpUrl | None = None
    title: ShortText | None = None
    publisher: Publisher | None = None
    published: PartialDate | None = None
    text: DocumentText | None = None


class ActorFields(Strict):
    name: Name
    kind: ActorKind
    # Factories, not literal defaults: pydantic deep-copies a mutable default for every item.
    aliases: Aliases = Field(default_factory=list, json_schema_extra={"default": []})
    country: Country | None = None
    description: LongText | None = None
    attributes: Attributes = Field(default_factory=dict, json_schema_extra={"default": {}})


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
    attributes: Attributes = Field(default_factory=dict, json_schema_extra={"default": {}})
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
