"""SQL reads shared by the use cases: the graph feed and turning ids into API records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.graph.build import EdgeRow, NodeRow
from app.graph.store import Delta
from app.models import Actor, Change, Evidence, Relationship
from app.vocabulary import type_info

_CHUNK = 500


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _edge_row(r: Any) -> EdgeRow:
    return EdgeRow(
        r.id, r.source_id, r.target_id, r.type, r.valid_from or None, r.valid_to, r.confidence
    )


_EDGE_COLS = (
    col(Relationship.id),
    col(Relationship.source_id),
    col(Relationship.target_id),
    col(Relationship.type),
    col(Relationship.valid_from),
    col(Relationship.valid_to),
    col(Relationship.confidence),
)


def head_revision(session: Session) -> int:
    return int(session.execute(select(func.max(col(Change.revision)))).scalar() or 0)


class SqlFeed:
    """The graph store's view of the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def head(self) -> int:
        with Session(self._engine) as s:
            return head_revision(s)

    def snapshot(self) -> tuple[int, list[NodeRow], list[EdgeRow]]:
        with Session(self._engine) as s:
            # One transaction: the revision and the rows agree (WAL / MVCC snapshot).
            s.connection()
            revision = head_revision(s)
            nodes = [
                NodeRow(*r)
                for r in s.execute(select(col(Actor.id), col(Actor.name), col(Actor.kind)))
            ]
            edges = [_edge_row(r) for r in s.execute(select(*_EDGE_COLS))]
            return revision, nodes, edges

    def delta(self, since: int, limit: int) -> Delta | None:
        with Session(self._engine) as s:
            s.connection()
            rows = s.execute(
                select(col(Change.revision), col(Change.actors), col(Change.relationships))
                .where(col(Change.revision) > since)
                .order_by(col(Change.revision))
            ).all()
            if not rows:
                return Delta(head=since)
            actor_ids: set[str] = set()
            rel_ids: set[int] = set()
            for _, actors, rels in rows:
                actor_ids.update(actors or ())
                rel_ids.update(rels or ())
            if len(actor_ids) + len(rel_ids) > limit:
                return None
            delta = Delta(head=rows[-1][0])
            found_nodes: set[str] = set()
            for chunk in _chunks(sorted(actor_ids)):
                for r in s.execute(
                    select(col(Actor.id), col(Actor.name), col(Actor.kind)).where(
                        col(Actor.id).in_(chunk)
                    )
                ):
                    delta.nodes.append(NodeRow(*r))
                    found_nodes.add(r[0])
            delta.removed_nodes = sorted(actor_ids - found_nodes)
            found_edges: set[int] = set()
            for chunk in _chunks(sorted(rel_ids)):
                for r in s.execute(select(*_EDGE_COLS).where(col(Relationship.id).in_(chunk))):
                    delta.edges.append(_edge_row(r))
                    found_edges.add(r[0])
            delta.removed_edges = sorted(rel_ids - found_edges)
            return delta


def relationship_records(session: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """API records (with evidence) for relationship ids; ids no longer in the database are absent."""
    out: dict[int, dict[str, Any]] = {}
    if not ids:
        return out
    evidence: dict[int, list[dict[str, str]]] = defaultdict(list)
    for chunk in _chunks(list(dict.fromkeys(ids))):
        for rel in session.execute(
            select(Relationship).where(col(Relationship.id).in_(chunk))
        ).scalars():
            out[rel.id] = relationship_record(rel, evidence[rel.id])
        for rid, src, quote in session.execute(
            select(col(Evidence.relationship_id), col(Evidence.source_id), col(Evidence.quote))
            .where(col(Evidence.relationship_id).in_(chunk))
            .order_by(col(Evidence.id))
        ):
            evidence[rid].append({"source": src, "quote": quote})
    return out


def relationship_record(rel: Relationship, evidence: list[dict[str, str]]) -> dict[str, Any]:
    info = type_info(rel.type)
    return {
        "id": rel.id,
        "source": rel.source_id,
        "target": rel.target_id,
        "type": rel.type,
        "directed": info.directed,
        "polarity": info.polarity.value,
        "valid_from": rel.valid_from or None,
        "valid_to": rel.valid_to,
        "confidence": rel.confidence,
        "attributes": rel.attributes,
        "evidence": evidence,
    }


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; they were stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def actor_record(actor: Actor) -> dict[str, Any]:
    return {
        "id": actor.id,
        "name": actor.name,
        "kind": actor.kind,
        "aliases": actor.aliases,
        "country": actor.country,
        "description": actor.description,
        "attributes": actor.attributes,
        "created_at": _utc(actor.created_at),
        "updated_at": _utc(actor.updated_at),
    }
