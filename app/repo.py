"""SQL reads shared by the use cases: the graph feed and turning ids into API records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from app.graph.build import EdgeRow, NodeRow
from app.graph.store import Delta
from app.models import Actor, Change, Relationship
from app.vocabulary import REL_TYPES, type_info

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


_NODES_SQL = "SELECT id, name, kind FROM actor"
# '' is the stored open start (it keeps the natural key unique); the graph says None.
_EDGES_SQL = (
    "SELECT id, source_id, target_id, type, NULLIF(valid_from, ''), valid_to, confidence "
    "FROM relationship"
)
_HEAD_SQL = "SELECT max(revision) FROM change"


@contextmanager
def dbapi_cursor(engine: Engine) -> Iterator[Any]:
    """A driver cursor on a pooled connection, for a read or a few.

    It skips SQLAlchemy's transaction layer (an explicit BEGIN, then a ROLLBACK: 60 µs against
    10 µs for the statement itself, PERF): a single SELECT is its own snapshot. Driver errors
    come out as SQLAlchemy's, which the error handlers map (a busy database is a 503).
    """
    dbapi = engine.dialect.loaded_dbapi
    try:
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            conn.close()
    except dbapi.Error as exc:
        raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc


class SqlFeed:
    """The graph store's view of the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def head(self) -> int:
        # Asked before every read: one indexed max() on a pooled connection, no ORM session.
        with dbapi_cursor(self._engine) as cursor:
            cursor.execute(_HEAD_SQL)
            return int(cursor.fetchone()[0] or 0)

    def snapshot(self) -> tuple[int, list[NodeRow], Iterator[EdgeRow]]:
        """The head revision, the actors, and the ties streamed from one read transaction
        (WAL / MVCC snapshot: the rows agree with the revision). The ties are read in batches
        while the graph is built: a million rows held at once cost ~300 MB of resident memory
        that the process keeps after they are freed."""
        conn = self._engine.connect()
        try:
            revision = int(conn.exec_driver_sql(_HEAD_SQL).scalar() or 0)
            # The driver's own cursor: plain tuples, not Row objects (the SQLAlchemy result
            # layer measured ~1.5 µs a row).
            cursor = conn.connection.cursor()
            cursor.execute(_NODES_SQL)
            nodes = list(map(NodeRow._make, cursor.fetchall()))
            cursor.execute(_EDGES_SQL)
        except BaseException:
            conn.close()
            raise

        def edges() -> Iterator[EdgeRow]:
            try:
                while batch := cursor.fetchmany(20_000):
                    yield from map(EdgeRow._make, batch)
            finally:
                cursor.close()
                conn.close()

        return revision, nodes, edges()

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


def relationship_records(db: Session | Engine, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """API records (with evidence) for relationship ids; ids no longer in the database are absent.

    Given the engine rather than a session, the read runs as single statements on a driver
    cursor (see ``dbapi_cursor``).
    """
    out: dict[int, dict[str, Any]] = {}
    if not ids:
        return out
    unique = list(dict.fromkeys(ids))
    if isinstance(db, Session):
        conn = db.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        for chunk in _chunks(unique):
            # One round trip of plain SQL: a tie page is ~50 ids, and building the statement
            # through the ORM cost more than running it (PERF: 2 ms of a 3 ms ties request).
            sql = _RECORDS_SQL.format(marks=", ".join([mark] * len(chunk)))
            _add_records(out, conn.exec_driver_sql(sql, tuple(chunk)))
        return out
    mark = "?" if db.dialect.paramstyle == "qmark" else "%s"
    chunks = list(_chunks(unique))
    # SQLite connections here run in autocommit: several statements share one snapshot only
    # inside an explicit read transaction. (psycopg opens one by itself.)
    snapshot = len(chunks) > 1 and db.dialect.name == "sqlite"
    with dbapi_cursor(db) as cursor:
        if snapshot:
            cursor.execute("BEGIN")
        try:
            for chunk in chunks:
                sql = _RECORDS_SQL.format(marks=", ".join([mark] * len(chunk)))
                cursor.execute(sql, tuple(chunk))
                _add_records(out, cursor.fetchall())
        finally:
            if snapshot:
                cursor.execute("COMMIT")
    return out


def _add_records(out: dict[int, dict[str, Any]], rows: Iterable[Any]) -> None:
    """Fold (relationship, evidence) join rows into ``out``, one record per relationship."""
    for rid, source, target, rel_type, vf, vt, conf, attributes, src, quote in rows:
        record = out.get(rid)
        if record is None:
            info = _INFO[rel_type]
            record = out[rid] = {
                "id": rid,
                "source": source,
                "target": target,
                "type": rel_type,
                "directed": info.directed,
                "polarity": info.polarity.value,
                "valid_from": vf or None,
                "valid_to": vt,
                "confidence": conf,
                # SQLite hands JSON back as text; PostgreSQL's driver decodes JSONB itself.
                "attributes": orjson.loads(attributes)
                if isinstance(attributes, str | bytes)
                else attributes,
                "evidence": [],
            }
        if src is not None:
            record["evidence"].append({"source": src, "quote": quote})


_RECORDS_SQL = (
    "SELECT r.id, r.source_id, r.target_id, r.type, r.valid_from, r.valid_to, r.confidence, "
    "r.attributes, e.source_id, e.quote FROM relationship r "
    "LEFT JOIN evidence e ON e.relationship_id = r.id "
    "WHERE r.id IN ({marks}) ORDER BY r.id, e.id"
)
_INFO = {t.value: info for t, info in REL_TYPES.items()}


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
