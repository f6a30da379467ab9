"""The fixed vocabulary: actor kinds and relationship types with direction and polarity."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    state = "state"
    government_body = "government_body"
    person = "person"
    armed_group = "armed_group"
    political_group = "political_group"
    organization = "organization"
    international_org = "international_org"
    think_tank = "think_tank"
    media = "media"


class RelType(StrEnum):
    allied_with = "allied_with"
    cooperates_with = "cooperates_with"
    supports = "supports"
    sponsors = "sponsors"
    member_of = "member_of"
    leads = "leads"
    affiliated_with = "affiliated_with"
    diplomatic_contact = "diplomatic_contact"
    rival_of = "rival_of"
    hostile_to = "hostile_to"


class Polarity(StrEnum):
    positive = "positive"
    negative = "negative"
    neutral = "neutral"


class EvidenceLevel(StrEnum):
    reported = "reported"
    confirmed = "confirmed"
    alleged = "alleged"
    assessed = "assessed"


class SupportKind(StrEnum):
    arms = "arms"
    funding = "funding"
    training = "training"
    troops = "troops"
    territory = "territory"
    intelligence = "intelligence"
    political = "political"


@dataclass(frozen=True, slots=True)
class TypeInfo:
    directed: bool
    polarity: Polarity
    sign: int


_P, _N, _Z = Polarity.positive, Polarity.negative, Polarity.neutral

REL_TYPES: dict[RelType, TypeInfo] = {
    RelType.allied_with: TypeInfo(False, _P, 1),
    RelType.cooperates_with: TypeInfo(False, _P, 1),
    RelType.supports: TypeInfo(True, _P, 1),
    RelType.sponsors: TypeInfo(True, _P, 1),
    RelType.member_of: TypeInfo(True, _P, 1),
    RelType.leads: TypeInfo(True, _P, 1),
    RelType.affiliated_with: TypeInfo(True, _P, 1),
    RelType.diplomatic_contact: TypeInfo(False, _Z, 0),
    RelType.rival_of: TypeInfo(False, _N, -1),
    RelType.hostile_to: TypeInfo(False, _N, -1),
}


def type_info(rel_type: str) -> TypeInfo:
    """The direction and polarity of a relationship type."""
    return REL_TYPES[RelType(rel_type)]


def normalise_ends(rel_type: str, source: str, target: str) -> tuple[str, str]:
    """Order the ends of an undirected type so A–B and B–A are one relationship."""
    # REL_TYPES is keyed by RelType, a str enum: plain strings find their member too.
    info = REL_TYPES.get(rel_type)  # type: ignore[call-overload]
    if info is None:
        raise ValueError(f"{rel_type!r} is not a relationship type")
    if target < source and not info.directed:
        return target, source
    return source, target
