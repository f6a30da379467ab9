"""Validation and the atomic upsert of a batch. The use case owns the transaction and the commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.db import write_session
from app.errors import Invalid, TooLarge
from app.graph.store import GraphStore
from app.models import Actor, ActorName, Change, Evidence, Relationship, Source, utcnow
from app.repo import head_revision
from app.schemas import ActorIn, Batch, RelationshipIn, SourceIn
from app.text import fold, fold_quote, quote_hash, slugify
from app.vocabulary import normalise_ends

_CHUNK = 400


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class Touched:
    """What a write changed: becomes one change-log entry (one revision)."""

    actors: set[str] = field(default_factory=set)
    relationships: set[int] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.actors or self.relationships or self.sources)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def record_change(
    session: Session,
    touched: Touched,
    *,
    action: str,
    key_id: str | None,
    summary: dict[str, Any] | None = None,
) -> int:
    """Append the change-log entry for this transaction; its id is the new revision."""
    change = Change(
        key_id=key_id,
        action=action,
        actors=sorted(touched.actors),
        relationships=sorted(touched.relationships),
        sources=sorted(touched.sources),
        summary=summary or {},
    )
    session.add(change)
    session.flush()
    assert change.revision is not None
    return change.revision


def name_rows(actor_id: str, name: str, aliases: list[str]) -> list[ActorName]:
    keys = [ActorName(actor_id=actor_id, key=fold(name), is_alias=False)]
    seen = {keys[0].key}
    for alias in aliases:
        k = fold(alias)
        if k and k not in seen:
            seen.add(k)
            keys.append(ActorName(actor_id=actor_id, key=k, is_alias=True))
    return keys


def apply_actor_fields(actor: Actor, values: dict[str, Any], *, merge: bool) -> bool:
    """Set ``values`` on ``actor``; with ``merge`` aliases are united and attributes updated.

    Returns whether anything changed.
    """
    changed = False
    for name, value in values.items():
        if merge and name == "aliases":
            value = list(dict.fromkeys([*actor.aliases, *value]))
        elif merge and name == "attributes":
            value = {**actor.attributes, **value}
        if getattr(actor, name) != value:
            setattr(actor, name, value)
            changed = True
    if changed:
        actor.name_key = fold(actor.name)
        actor.updated_at = utcnow()
    return changed


def replace_names(session: Session, actor: Actor) -> None:
    session.execute(delete(ActorName).where(col(ActorName.actor_id) == actor.id))
    session.add_all(name_rows(actor.id, actor.name, actor.aliases))


class _Checker:
    """Collects every problem in a batch, each named by JSON pointer."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, pointer: str, message: str) -> None:
        self.errors.append({"pointer": pointer, "in": "body", "message": message})


def _same(a: Any, b: Any) -> bool:
    return bool(a.model_dump(exclude_unset=True) == b.model_dump(exclude_unset=True))


def ingest(
    engine: Engine,
    store: GraphStore | None,
    batch: Batch,
    *,
    key_id: str | None,
    max_items: int,
    action: str = "ingest",
) -> dict[str, Any]:
    """Validate and write ``batch`` in one transaction; returns counts and the new revision."""
    n_items = len(batch.sources) + len(batch.actors) + len(batch.relationships)
    if n_items > max_items:
        raise TooLarge(
            f"The batch has {n_items} items; the limit is {max_items} "
            "(KG_MAX_BATCH_ITEMS). Split it into smaller batches."
        )
    with write_session(engine) as session:
        result, touched = _ingest_in(session, batch, key_id=key_id, action=action)
    if touched and store is not None:
        store.sync()
    return result


@dataclass
class _Plan:
    """A checked batch: items by key, what the database holds, and every problem found."""

    errors: list[dict[str, str]]
    sources: dict[str, tuple[int, SourceIn]]
    actors: dict[str, tuple[int, ActorIn]]
    rels: dict[tuple[str, str, str, str], tuple[int, RelationshipIn, list[tuple[str, str]]]]
    db_actors: dict[str, Actor]
    db_sources: dict[str, Source]


def _ingest_in(
    session: Session, batch: Batch, *, key_id: str | None, action: str
) -> tuple[dict[str, Any], Touched]:
    plan = _plan(session, batch)
    if plan.errors:
        raise Invalid(
            f"{len(plan.errors)} invalid item(s); nothing was written", errors=plan.errors
        )
    return _write(session, plan, key_id=key_id, action=action)


def reference_errors(
    session: Session, batch: Batch, *, other_actors: set[str], other_sources: set[str]
) -> list[dict[str, str]]:
    """Problems of references and evidence in ``batch``; ids in ``other_*`` count as present
    (they name items that failed schema validation and are reported on their own)."""
    return _plan(session, batch, other_actors=other_actors, other_sources=other_sources).errors


def _plan(
    session: Session,
    batch: Batch,
    *,
    other_actors: set[str] | None = None,
    other_sources: set[str] | None = None,
) -> _Plan:
    check = _Checker()

    # -- sources: one per id in the batch
    sources: dict[str, tuple[int, SourceIn]] = {}
    for i, src in enumerate(batch.sources):
        if src.id in sources:
            j, other = sources[src.id]
            if not _same(src, other):
                check.add(f"/sources/{i}", f"source {src.id!r} conflicts with /sources/{j}")
            continue
        sources[src.id] = (i, src)

    # -- actors: ids given or derived from the name
    actors: dict[str, tuple[int, ActorIn]] = {}
    for i, act in enumerate(batch.actors):
        aid = act.id or slugify(act.name)
        if aid in actors:
            j, other_actor = actors[aid]
            if act.model_dump(exclude={"id"}, exclude_unset=True) != other_actor.model_dump(
                exclude={"id"}, exclude_unset=True
            ):
                check.add(f"/actors/{i}", f"actor {aid!r} conflicts with /actors/{j}")
            continue
        actors[aid] = (i, act)

    # -- what the database already holds
    wanted_actors = set(actors)
    wanted_sources = set(sources)
    for rel in batch.relationships:
        wanted_actors.update((rel.source, rel.target))
        wanted_sources.update(e.source for e in rel.evidence)
    db_actors = _by_id(session, Actor, sorted(wanted_actors))
    db_sources = _by_id(session, Source, sorted(wanted_sources))
    known_actors = set(actors) | set(db_actors) | (other_actors or set())
    known_sources = set(sources) | set(db_sources) | (other_sources or set())
    _check_text_changes(session, check, sources, db_sources)

    folded_text: dict[str, str | None] = {}

    def source_text(sid: str) -> str | None:
        if sid not in folded_text:
            text: str | None = None
            if sid in sources and "text" in sources[sid][1].model_fields_set:
                text = sources[sid][1].text
            elif sid in db_sources:
                text = db_sources[sid].text
            folded_text[sid] = fold_quote(text) if text is not None else None
        return folded_text[sid]

    # -- relationships: ends, evidence, natural keys
    rels: dict[tuple[str, str, str, str], tuple[int, RelationshipIn, list[tuple[str, str]]]] = {}
    for i, rel in enumerate(batch.relationships):
        base = f"/relationships/{i}"
        ok = True
        for end in ("source", "target"):
            aid = getattr(rel, end)
            if aid not in known_actors:
                check.add(f"{base}/{end}", f"actor {aid!r} is neither in the batch nor stored")
                ok = False
        if rel.source == rel.target:
            check.add(
                f"{base}/target", f"a {rel.type.value} relationship cannot link an actor to itself"
            )
            ok = False
        evidence: list[tuple[str, str]] = []
        for j, ev in enumerate(rel.evidence):
            if ev.source not in known_sources:
                check.add(
                    f"{base}/evidence/{j}/source",
                    f"source {ev.source!r} is neither in the batch nor stored",
                )
                ok = False
                continue
            text = source_text(ev.source)
            if text is not None and fold_quote(ev.quote) not in text:
                check.add(
                    f"{base}/evidence/{j}/quote",
                    f"the quote does not occur verbatim in source {ev.source!r}",
                )
                ok = False
                continue
            evidence.append((ev.source, ev.quote))
        if not ok:
            continue
        s, t = normalise_ends(rel.type, rel.source, rel.target)
        key = (s, t, rel.type.value, rel.valid_from or "")
        if key in rels:
            j, other_rel, other_ev = rels[key]
            if rel.model_dump(
                exclude={"evidence", "source", "target"}, exclude_unset=True
            ) != other_rel.model_dump(exclude={"evidence", "source", "target"}, exclude_unset=True):
                check.add(
                    base, f"relationship conflicts with /relationships/{j} (same natural key)"
                )
                continue
            other_ev.extend(e for e in evidence if e not in other_ev)
            continue
        rels[key] = (i, rel, evidence)

    return _Plan(check.errors, sources, actors, rels, db_actors, db_sources)


def _write(
    session: Session, plan: _Plan, *, key_id: str | None, action: str
) -> tuple[dict[str, Any], Touched]:
    sources, actors, rels = plan.sources, plan.actors, plan.rels
    db_sources, db_actors = plan.db_sources, plan.db_actors
    touched = Touched()
    counts = {"sources": Counts(), "actors": Counts(), "relationships": Counts()}

    # -- write sources
    for sid, (_, src) in sources.items():
        values = src.model_dump(exclude={"id"}, exclude_unset=True)
        existing = db_sources.get(sid)
        if existing is None:
            session.add(Source(id=sid, **values))
            counts["sources"].created += 1
            touched.sources.add(sid)
        elif any(getattr(existing, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(existing, k, v)
            existing.updated_at = utcnow()
            counts["sources"].updated += 1
            touched.sources.add(sid)
        else:
            counts["sources"].unchanged += 1

    # -- write actors
    for aid, (_, act) in actors.items():
        values = act.model_dump(exclude={"id"}, exclude_unset=True)
        existing_actor = db_actors.get(aid)
        if existing_actor is None:
            actor = Actor(id=aid, name_key=fold(act.name), **values)
            session.add(actor)
            session.add_all(name_rows(aid, actor.name, actor.aliases))
            counts["actors"].created += 1
            touched.actors.add(aid)
        elif apply_actor_fields(existing_actor, values, merge=True):
            replace_names(session, existing_actor)
            counts["actors"].updated += 1
            touched.actors.add(aid)
        else:
            counts["actors"].unchanged += 1
    session.flush()

    # -- write relationships and evidence
    existing_rels = _rels_by_key(session, list(rels))
    existing_ev = _evidence_hashes(session, [r.id for r in existing_rels.values() if r.id])
    evidence_added = 0
    new_rels: list[tuple[Relationship, list[tuple[str, str]]]] = []
    for key, (_, rel, evidence) in rels.items():
        found = existing_rels.get(key)
        if found is None:
            row = Relationship(
                source_id=key[0],
                target_id=key[1],
                type=key[2],
                valid_from=key[3],
                valid_to=rel.valid_to,
                confidence=float(rel.confidence),
                attributes=rel.attributes,
            )
            session.add(row)
            new_rels.append((row, evidence))
            counts["relationships"].created += 1
            continue
        changed = False
        if "confidence" in rel.model_fields_set and found.confidence != rel.confidence:
            found.confidence = float(rel.confidence)
            changed = True
        if "valid_to" in rel.model_fields_set and found.valid_to != rel.valid_to:
            found.valid_to = rel.valid_to
            changed = True
        merged = {**found.attributes, **rel.attributes}
        if merged != found.attributes:
            found.attributes = merged
            changed = True
        assert found.id is not None
        have = existing_ev.setdefault(found.id, set())
        for src_id, quote in evidence:
            h = quote_hash(quote)
            if (src_id, h) not in have:
                have.add((src_id, h))
                session.add(
                    Evidence(relationship_id=found.id, source_id=src_id, quote=quote, quote_hash=h)
                )
                evidence_added += 1
                changed = True
        if changed:
            found.updated_at = utcnow()
            counts["relationships"].updated += 1
            touched.relationships.add(found.id)
        else:
            counts["relationships"].unchanged += 1
    session.flush()
    for row, evidence in new_rels:
        assert row.id is not None
        touched.relationships.add(row.id)
        seen: set[tuple[str, str]] = set()
        for src_id, quote in evidence:
            h = quote_hash(quote)
            if (src_id, h) in seen:
                continue
            seen.add((src_id, h))
            session.add(
                Evidence(relationship_id=row.id, source_id=src_id, quote=quote, quote_hash=h)
            )
            evidence_added += 1

    result: dict[str, Any] = {k: v.as_dict() for k, v in counts.items()}
    result["evidence_added"] = evidence_added
    if touched:
        result["revision"] = record_change(
            session, touched, action=action, key_id=key_id, summary=result.copy()
        )
    else:
        result["revision"] = head_revision(session)
    return result, touched


def _check_text_changes(
    session: Session,
    check: _Checker,
    sources: dict[str, tuple[int, SourceIn]],
    db_sources: dict[str, Source],
) -> None:
    """A stored source's text may change only to one that still holds every stored quote."""
    for sid, (i, src) in sources.items():
        stored = db_sources.get(sid)
        if stored is None or "text" not in src.model_fields_set or stored.text == src.text:
            continue
        quotes = (
            session.execute(select(col(Evidence.quote)).where(col(Evidence.source_id) == sid))
            .scalars()
            .all()
        )
        if not quotes:
            continue
        if src.text is None:
            check.add(
                f"/sources/{i}/text",
                f"{len(quotes)} stored quote(s) cite source {sid!r}; its text cannot be removed",
            )
            continue
        text = fold_quote(src.text)
        missing = sum(1 for q in quotes if fold_quote(q) not in text)
        if missing:
            check.add(
                f"/sources/{i}/text",
                f"{missing} stored quote(s) citing source {sid!r} do not occur in the new text",
            )


def _by_id(session: Session, model: Any, ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in _chunks(ids):
        for row in session.execute(select(model).where(model.id.in_(chunk))).scalars():
            found[row.id] = row
    return found


def _rels_by_key(
    session: Session, keys: list[tuple[str, str, str, str]]
) -> dict[tuple[str, str, str, str], Relationship]:
    found: dict[tuple[str, str, str, str], Relationship] = {}
    cols = tuple_(
        col(Relationship.source_id),
        col(Relationship.target_id),
        col(Relationship.type),
        col(Relationship.valid_from),
    )
    for chunk in _chunks(keys):
        for row in session.execute(select(Relationship).where(cols.in_(chunk))).scalars():
            found[(row.source_id, row.target_id, row.type, row.valid_from)] = row
    return found


def _evidence_hashes(session: Session, rel_ids: list[int]) -> dict[int, set[tuple[str, str]]]:
    found: dict[int, set[tuple[str, str]]] = {}
    for chunk in _chunks(rel_ids):
        for rid, sid, h in session.execute(
            select(
                col(Evidence.relationship_id), col(Evidence.source_id), col(Evidence.quote_hash)
            ).where(col(Evidence.relationship_id).in_(chunk))
        ):
            found.setdefault(rid, set()).add((sid, h))
    return found
