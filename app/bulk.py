"""Bulk import and export for the command line.

``import_files`` streams JSON batches (the body of POST /v1/ingest) and NDJSON files (one
``{"source": {...}}``, ``{"actor": {...}}`` or ``{"relationship": {...}}`` object per line) into
the database in chunks, one transaction and one revision per chunk. Every item is validated as
the API validates it: the same pydantic models, then the same reference and evidence checks
(``ingest._plan``) against what the database and the chunk hold. Items that fail are rejected
with the file, line (or JSON pointer) and reason, and the rest of the chunk is written; an item
may refer to actors and sources stored before or given earlier in the stream. Importing the same
file twice changes nothing the second time.

One process does the work: parsing and validating in a second process was measured (1M ties)
to save less than shipping the validated models back costs, and a second thread contends with
the writer for the GIL.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine

from app.db import write_session
from app.graph import export
from app.graph.store import GraphStore
from app.ingest import Counts, _plan, _write
from app.repo import SqlFeed
from app.schemas import ActorIn, Batch, RelationshipIn, SourceIn

#: NDJSON line key -> (batch field, model)
LINE_KINDS: dict[str, tuple[str, type[BaseModel]]] = {
    "source": ("sources", SourceIn),
    "actor": ("actors", ActorIn),
    "relationship": ("relationships", RelationshipIn),
}
MODELS: dict[str, type[BaseModel]] = {kind: model for kind, model in LINE_KINDS.values()}
BATCH_FIELDS = ("sources", "actors", "relationships")
DEFAULT_CHUNK = 100_000
_POINTER = re.compile(r"^/(sources|actors|relationships)/(\d+)(.*)$")
# Rejections rarely cascade more than once (an actor refused, then the ties naming it).
_MAX_PLAN_ROUNDS = 20


@dataclass(slots=True)
class Reject:
    where: str
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.where} {self.pointer}: {self.message}"


@dataclass
class ImportReport:
    """What an import wrote and refused."""

    counts: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in BATCH_FIELDS})
    evidence_added: int = 0
    items: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    revisions: list[int] = field(default_factory=list)
    keep_rejects: int = 1000

    def reject(self, where: str, pointer: str, message: str) -> None:
        self.rejected += 1
        if len(self.rejects) < self.keep_rejects:
            self.rejects.append(Reject(where, pointer, message))

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: v.as_dict() for k, v in self.counts.items()},
            "evidence_added": self.evidence_added,
            "items": self.items,
            "rejected": self.rejected,
            "revision": self.revisions[-1] if self.revisions else None,
            "transactions": len(self.revisions),
        }


# -- reading (main process): raw items, not parsed yet

#: (where, batch field or None for an NDJSON line, JSON pointer prefix, the line's bytes or the
#: item's decoded JSON)
Raw = tuple[str, str | None, str, Any]


def file_format(path: Path) -> str:
    """``"ndjson"`` or ``"json"``: by suffix, else by whether the first line is a whole item."""
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    if suffix == ".json":
        return "json"
    with path.open("rb") as f:
        first = f.readline().strip()
    try:
        obj = orjson.loads(first)
    except orjson.JSONDecodeError:
        return "json"
    return (
        "ndjson"
        if isinstance(obj, dict) and len(obj) == 1 and obj.keys() <= LINE_KINDS.keys()
        else "json"
    )


def read_raw(
    path: Path, report: ImportReport, progress: Callable[[int], None] | None = None
) -> Iterator[Raw]:
    """The raw items of one file, in file order. NDJSON lines are parsed later (:func:`prepare`);
    a JSON batch is parsed here (it is one document) and a malformed one rejected into ``report``.

    ``progress`` is called with the number of bytes consumed since its last call.
    """
    name = str(path)
    if file_format(path) == "json":
        data = path.read_bytes()
        try:
            batch = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            report.reject(name, "", f"not valid JSON ({exc})")
            return
        if not isinstance(batch, dict) or not set(batch) <= set(BATCH_FIELDS):
            report.reject(name, "", "a JSON batch is an object with sources, actors, relationships")
            return
        total = sum(len(v) for v in batch.values() if isinstance(v, list)) or 1
        step = max(1, len(data) // total)
        for kind in BATCH_FIELDS:
            items = batch.get(kind, [])
            if not isinstance(items, list):
                report.reject(name, f"/{kind}", "must be a list")
                continue
            for i, raw in enumerate(items):
                if progress:
                    progress(step)
                yield name, kind, f"/{kind}/{i}", raw
        return
    with path.open("rb") as f:
        consumed = 0
        for lineno, line in enumerate(f, 1):
            consumed += len(line)
            if progress and not lineno % 4096:
                progress(consumed)
                consumed = 0
            if line.isspace():
                continue
            yield f"{name}:{lineno}", None, "", line
        if progress:
            progress(consumed)


def _raw_chunks(
    paths: Sequence[Path],
    report: ImportReport,
    size: int,
    progress: Callable[[int], None] | None,
) -> Iterator[list[Raw]]:
    chunk: list[Raw] = []
    for path in paths:
        for raw in read_raw(Path(path), report, progress):
            chunk.append(raw)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


# -- parsing and validation


@dataclass(slots=True)
class Prepared:
    """A chunk parsed and validated: models by batch field, with where each came from."""

    valid: dict[str, list[tuple[Any, str, str]]]
    rejects: list[Reject]
    items: int


def _pointer(loc: Sequence[int | str]) -> str:
    return "".join(f"/{part}" for part in loc)


_LINE_SHAPE = 'a line is one object: {"source": ...}, {"actor": ...} or {"relationship": ...}'


def prepare(chunk: list[Raw]) -> Prepared:
    """Parse a raw chunk and validate it with the API's models."""
    out = Prepared({k: [] for k in BATCH_FIELDS}, [], 0)
    for where, kind, prefix, payload in chunk:
        if kind is None:  # an NDJSON line
            try:
                obj = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                out.rejects.append(Reject(where, "", f"not valid JSON ({exc})"))
                continue
            if not isinstance(obj, dict) or len(obj) != 1 or not obj.keys() <= LINE_KINDS.keys():
                out.rejects.append(Reject(where, "", _LINE_SHAPE))
                continue
            ((key, payload),) = obj.items()
            kind, prefix = LINE_KINDS[key][0], f"/{key}"
        out.items += 1
        try:
            model = MODELS[kind].model_validate(payload)
        except ValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                out.rejects.append(Reject(where, prefix + _pointer(err["loc"]), err["msg"]))
            continue
        out.valid[kind].append((model, where, prefix))
    return out


# -- writing


def write_chunk(engine: Engine, prepared: Prepared, report: ImportReport) -> None:
    """Check a validated chunk against the database and write what passes, in one transaction
    (one revision)."""
    report.items += prepared.items
    for r in prepared.rejects:
        report.reject(r.where, r.pointer, r.message)
    valid = prepared.valid
    if not any(valid.values()):
        return
    with write_session(engine) as session:
        if engine.dialect.name == "sqlite":
            # A bigger page cache for this connection: index inserts stay in memory.
            session.connection().exec_driver_sql("PRAGMA cache_size=-262144")
        for _ in range(_MAX_PLAN_ROUNDS):
            batch = Batch.model_construct(
                sources=[m for m, _, _ in valid["sources"]],
                actors=[m for m, _, _ in valid["actors"]],
                relationships=[m for m, _, _ in valid["relationships"]],
            )
            plan = _plan(session, batch)
            if not plan.errors:
                break
            bad: set[tuple[str, int]] = set()
            for err in plan.errors:
                m = _POINTER.match(err["pointer"])
                if m is None:  # never expected: every _plan error names an item
                    raise RuntimeError(f"unplaced error {err}")
                kind, i, rest = m[1], int(m[2]), m[3]
                if (kind, i) not in bad:
                    bad.add((kind, i))
                    _, where, prefix = valid[kind][i]
                    report.reject(where, prefix + rest, err["message"])
            valid = {k: [x for i, x in enumerate(v) if (k, i) not in bad] for k, v in valid.items()}
        else:
            raise RuntimeError("rejections did not settle")
        result, touched = _write(session, plan, key_id="cli", action="import")
    for kind in BATCH_FIELDS:
        for name in ("created", "updated", "unchanged"):
            setattr(
                report.counts[kind],
                name,
                getattr(report.counts[kind], name) + result[kind][name],
            )
    report.evidence_added += result["evidence_added"]
    if touched:
        report.revisions.append(result["revision"])


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    max_rejects: int | None = None,
) -> ImportReport:
    """Import ``paths`` in order, ``chunk_size`` items per transaction; see the module doc.

    Stops early (after the chunk at hand) once more than ``max_rejects`` items were refused.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    report = ImportReport()
    # Millions of short-lived objects: with the cyclic GC on, each collection of the older
    # generations rescans every survivor (measured: longer than the writes themselves). A chunk
    # makes few reference cycles; they are collected once, at the end.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for raw in _raw_chunks(paths, report, chunk_size, progress):
            write_chunk(engine, prepare(raw), report)
            if max_rejects is not None and report.rejected > max_rejects:
                break
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()
    return report


# -- export


def export_graph(
    engine: Engine,
    out: IO[bytes],
    *,
    fmt: str,
    as_of: str | None = None,
    types: set[str] | None = None,
    polarity: str | None = None,
) -> None:
    """Write the graph (or the filtered part of it) in ``fmt``, as GET /v1/graph does."""
    _, writer = export.FORMATS[fmt]
    store = GraphStore(SqlFeed(engine))
    store.load()
    with store.read() as kg:
        H = export.export_graph(kg, as_of=as_of, types=types, polarity=polarity)
    for chunk in writer(H):
        out.write(chunk)
