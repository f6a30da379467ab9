"""Database tables (SQLModel). API shapes live in schemas.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)


class Actor(SQLModel, table=True):
    __tablename__ = "actor"

    id: str = Field(primary_key=True, max_length=200)
    name: str = Field(max_length=300)
    name_key: str = Field(max_length=300, index=True)
    kind: str = Field(max_length=40, index=True)
    aliases: list[str] = Field(default_factory=list, sa_type=JSONType)
    country: str | None = Field(default=None, max_length=2)
    description: str | None = Field(default=None, sa_type=Text)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ActorName(SQLModel, table=True):
    """Folded name and alias keys that search ranks on."""

    __tablename__ = "actor_name"
    # Named by hand: the default name would collide with actor.name_key's index.
    __table_args__ = (Index("ix_actor_name_search_key", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    actor_id: str = Field(
        sa_column=Column(
            String(200), ForeignKey("actor.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    key: str = Field(max_length=300)
    is_alias: bool = Field(default=False)


class Source(SQLModel, table=True):
    __tablename__ = "source"

    id: str = Field(primary_key=True, max_length=200)
    url: str | None = Field(default=None, max_length=2048)
    title: str | None = Field(default=None, max_length=500)
    publisher: str | None = Field(default=None, max_length=300)
    published: str | None = Field(default=None, max_length=10)
    text: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Relationship(SQLModel, table=True):
    __tablename__ = "relationship"
    __table_args__ = (
        UniqueConstraint(
            "source_id", "target_id", "type", "valid_from", name="uq_relationship_key"
        ),
        Index("ix_relationship_target", "target_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(
        sa_column=Column(String(200), ForeignKey("actor.id", ondelete="CASCADE"), nullable=False)
    )
    target_id: str = Field(
        sa_column=Column(String(200), ForeignKey("actor.id", ondelete="CASCADE"), nullable=False)
    )
    type: str = Field(max_length=40)
    # Partial ISO dates as given ("2024", "2024-12", "2024-12-08"); '' is an open start so that
    # the natural key stays unique (NULLs never collide in a unique index).
    valid_from: str = Field(default="", max_length=10)
    valid_to: str | None = Field(default=None, max_length=10)
    confidence: float = Field(default=0.8)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("relationship_id", "source_id", "quote_hash", name="uq_evidence"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: uq_evidence leads with it, and serves lookups by relationship.
    relationship_id: int = Field(
        sa_column=Column(ForeignKey("relationship.id", ondelete="CASCADE"), nullable=False)
    )
    source_id: str = Field(
        sa_column=Column(
            String(200), ForeignKey("source.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    quote: str = Field(sa_type=Text)
    quote_hash: str = Field(max_length=64)


class Change(SQLModel, table=True):
    """One committed write; its id is the graph revision."""

    __tablename__ = "change"

    revision: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    key_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=40)
    actors: list[str] = Field(default_factory=list, sa_type=JSONType)
    relationships: list[int] = Field(default_factory=list, sa_type=JSONType)
    sources: list[str] = Field(default_factory=list, sa_type=JSONType)
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
