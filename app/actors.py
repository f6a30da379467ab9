"""Actor use cases: ranked search, read, and the keyed writes PUT, PATCH and DELETE."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.db import write_session
from app.errors import Conflict, NotFound
from app.graph.store import GraphStore
from app.ingest import Touched, apply_actor_fields, name_rows, record_change, replace_names
from app.models import Actor, ActorName, Evidence, Relationship, Source
from app.repo import actor_record
from app.schemas import ActorFields, ActorPatch
from app.text import fold


def _like_escape(text: str) -> str:
    # Search text is literal: LIKE's own metacharacters are escaped, never interpreted.
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_actors(
    session: Session, *, q: str | None, kind: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """Actors matching ``q`` by name or alias, best first: exact name, exact alias, prefix,
    substring; ties broken by name. Without ``q``, every actor by name."""
    if not q or not fold(q):
        stmt = select(Actor)
        count = select(func.count()).select_from(Actor)
        if kind:
            stmt = stmt.where(col(Actor.kind) == kind)
            count = count.where(col(Actor.kind) == kind)
        total = session.execute(count).scalar_one()
        rows = (
            session.execute(
                stmt.order_by(col(Actor.name_key), col(Actor.id)).limit(limit).offset(offset)
            )
            .scalars()
            .all()
        )
        return {
            "items": [actor_record(a) for a in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    key = fold(q)
    pattern = _like_escape(key)
    rank = case(
        ((col(ActorName.key) == key) & (col(ActorName.is_alias).is_(False)), 0),
        (col(ActorName.key) == key, 1),
        (col(ActorName.key).like(pattern + "%", escape="\\"), 2),
        else_=3,
    )
    best = (
        select(col(ActorName.actor_id), func.min(rank).label("rank"))
        .where(col(ActorName.key).like("%" + pattern + "%", escape="\\"))
        .group_by(col(ActorName.actor_id))
        .subquery()
    )
    stmt = select(Actor, best.c.rank).join(best, best.c.actor_id == col(Actor.id))
    if kind:
        stmt = stmt.where(col(Actor.kind) == kind)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(best.c.rank, col(Actor.name_key), col(Actor.id)).limit(limit).offset(offset)
    ).all()
    items = [{**actor_record(a), "rank": r} for a, r in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def get_actor(session: Session, actor_id: str) -> Actor:
    actor = session.get(Actor, actor_id)
    if actor is None:
        raise NotFound(f"No actor has the id {actor_id!r}.")
    return actor


def get_source(session: Session, source_id: str) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"No source has the id {source_id!r}.")
    return source


def put_actor(
    engine: Engine, store: GraphStore, actor_id: str, body: ActorFields, *, key_id: str | None
) -> tuple[dict[str, Any], bool]:
    """Create or wholly replace an actor; returns the record and whether it was created."""
    values = body.model_dump()
    with write_session(engine) as session:
        actor = session.get(Actor, actor_id)
        created = actor is None
        if actor is None:
            actor = Actor(id=actor_id, name_key=fold(body.name), **values)
            session.add(actor)
            session.add_all(name_rows(actor_id, actor.name, actor.aliases))
            changed = True
        else:
            changed = apply_actor_fields(actor, values, merge=False)
            if changed:
                replace_names(session, actor)
        if changed:
            session.flush()
            record_change(session, Touched(actors={actor_id}), action="actor.put", key_id=key_id)
        record = actor_record(actor)
    store.sync()
    return record, created


def patch_actor(
    engine: Engine, store: GraphStore, actor_id: str, body: ActorPatch, *, key_id: str | None
) -> dict[str, Any]:
    """Change the given fields of an actor."""
    values = body.model_dump(exclude_unset=True)
    for required in ("name", "kind", "aliases", "attributes"):
        if required in values and values[required] is None:
            values.pop(required)
    with write_session(engine) as session:
        actor = get_actor(session, actor_id)
        if apply_actor_fields(actor, values, merge=False):
            replace_names(session, actor)
            session.flush()
            record_change(session, Touched(actors={actor_id}), action="actor.patch", key_id=key_id)
        record = actor_record(actor)
    store.sync()
    return record


def delete_actor(
    engine: Engine, store: GraphStore, actor_id: str, *, cascade: bool, key_id: str | None
) -> None:
    """Delete an actor; with ``cascade`` its relationships go too, otherwise they forbid it."""
    with write_session(engine) as session:
        actor = get_actor(session, actor_id)
        rel_ids = list(
            session.execute(
                select(col(Relationship.id)).where(
                    (col(Relationship.source_id) == actor_id)
                    | (col(Relationship.target_id) == actor_id)
                )
            ).scalars()
        )
        if rel_ids and not cascade:
            raise Conflict(
                f"Actor {actor_id!r} still has {len(rel_ids)} relationship(s); "
                "delete them first or pass cascade=true."
            )
        if rel_ids:
            session.execute(delete(Evidence).where(col(Evidence.relationship_id).in_(rel_ids)))
            session.execute(delete(Relationship).where(col(Relationship.id).in_(rel_ids)))
        session.execute(delete(ActorName).where(col(ActorName.actor_id) == actor_id))
        session.delete(actor)
        session.flush()
        record_change(
            session,
            Touched(actors={actor_id}, relationships=set(rel_ids)),
            action="actor.delete",
            key_id=key_id,
        )
    store.sync()


def delete_relationship(
    engine: Engine, store: GraphStore, rel_id: int, *, key_id: str | None
) -> None:
    """Delete one relationship and its evidence."""
    with write_session(engine) as session:
        rel = session.get(Relationship, rel_id)
        if rel is None:
            raise NotFound(f"No relationship has the id {rel_id}.")
        session.execute(delete(Evidence).where(col(Evidence.relationship_id) == rel_id))
        session.delete(rel)
        session.flush()
        record_change(
            session, Touched(relationships={rel_id}), action="relationship.delete", key_id=key_id
        )
    store.sync()
