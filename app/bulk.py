"""Bulk import and export for the command line.

``import_files`` streams JSON batches (the body of POST /v1/ingest) and NDJSON files (one
``{"source": {...}}``, ``{"actor": {...}}`` or ``{"relationship": {...}}`` object per line) into
the database in chunks, one transaction and one revision per chunk. Every item is validated as
the API validates it: the same pydantic models, then the same reference and evidence checks
(``ingest._plan``) against what the database and the chunk hold. Items that fail are rejected
with the file, line (or JSON pointer) and reason, and the rest of the chunk is written; an item
may refer to actors and sources stored before or given earlier in the stream. Importing the same
file twice changes nothing the second time.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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
BATCH_FIELDS = ("sources", "actors", "relationships")
DEFAULT_CHUNK = 50_000
_POINTER = re.compile(r"^/(sources|actors|relationships)/(\d+)(.*)$")
# Rejections rarely cascade more than once (an actor refused, then the ties naming it).
_MAX_PLAN_ROUNDS = 20


@dataclass(slots=True)
class Item:
    """One source, actor or relationship read from a file, with where it came from."""

    kind: str  # "sources", "actors" or "relationships"
    raw: Any
    where: str  # "file:line" (NDJSON) or "file" (JSON batch, the pointer says the rest)
    prefix: str  # JSON pointer of the item inside ``where``


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


# -- reading


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


def read_items(
    path: Path, report: ImportReport, progress: Callable[[int], None] | None = None
) -> Iterator[Item]:
    """The items of one file, in file order; unreadable lines are rejected into ``report``.

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
                yield Item(kind, raw, name, f"/{kind}/{i}")
        return
    with path.open("rb") as f:
        consumed = 0
        for lineno, line in enumerate(f, 1):
            consumed += len(line)
            if progress and not lineno % 4096:
                progress(consumed)
                consumed = 0
            if not line.strip():
                continue
            where = f"{name}:{lineno}"
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                report.reject(where, "", f"not valid JSON ({exc})")
                continue
            if not isinstance(obj, dict) or len(obj) != 1 or not obj.keys() <= LINE_KINDS.keys():
                report.reject(
                    where,
                    "",
                    'a line is one object: {"source": ...}, {"actor": ...} or '
                    '{"relationship": ...}',
                )
                continue
            ((key, raw),) = obj.items()
            yield Item(LINE_KINDS[key][0], raw, where, f"/{key}")
        if progress:
            progress(consumed)


# -- writing


def _pointer(loc: Sequence[int | str]) -> str:
    return "".join(f"/{part}" for part in loc)


Validated = dict[str, list[tuple[Any, Item]]]


def validate_items(items: list[Item]) -> tuple[Validated, list[Reject]]:
    """The items that pass their pydantic model, by batch field; and the rejections."""
    models = {kind: model for kind, model in LINE_KINDS.values()}
    valid: Validated = {k: [] for k in BATCH_FIELDS}
    rejects: list[Reject] = []
    for item in items:
        try:
            valid[item.kind].append((models[item.kind].model_validate(item.raw), item))
        except ValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                rejects.append(Reject(item.where, item.prefix + _pointer(err["loc"]), err["msg"]))
    return valid, rejects


def write_chunk(
    engine: Engine,
    items: list[Item],
    report: ImportReport,
    *,
    key_id: str = "cli",
    validated: tuple[Validated, list[Reject]] | None = None,
) -> None:
    """Validate ``items`` and write the valid ones in one transaction (one revision)."""
    report.items += len(items)
    valid, rejects = validated or validate_items(items)
    for r in rejects:
        report.reject(r.where, r.pointer, r.message)
    if not any(valid.values()):
        return
    with write_session(engine) as session:
        if engine.dialect.name == "sqlite":
            # A bigger page cache for this connection: index inserts stay in memory.
            session.connection().exec_driver_sql("PRAGMA cache_size=-262144")
        for _ in range(_MAX_PLAN_ROUNDS):
            batch = Batch.model_construct(
                sources=[m for m, _ in valid["sources"]],
                actors=[m for m, _ in valid["actors"]],
                relationships=[m for m, _ in valid["relationships"]],
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
                    item = valid[kind][i][1]
                    report.reject(item.where, item.prefix + rest, err["message"])
            valid = {k: [x for i, x in enumerate(v) if (k, i) not in bad] for k, v in valid.items()}
        else:
            raise RuntimeError("rejections did not settle")
        result, touched = _write(session, plan, key_id=key_id, action="import")
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


def _chunked(
    paths: Sequence[Path],
    report: ImportReport,
    size: int,
    progress: Callable[[int], None] | None,
) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for path in paths:
        for item in read_items(Path(path), report, progress):
            chunk.append(item)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


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
    # Millions of short-lived models: the cyclic GC would rescan every survivor again and
    # again (it measured ~2x the validation time); collect once per chunk instead.
    was_enabled = gc.isenabled()
    gc.disable()
    # The next chunk is parsed and validated on a second thread while this one is written:
    # SQLite releases the GIL while it updates its indexes.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kg-validate")
    try:
        chunks = _chunked(paths, report, chunk_size, progress)
        ahead = pool.submit(_next_validated, chunks)
        while True:
            got = ahead.result()
            if got is None:
                break
            items, validated = got
            ahead = pool.submit(_next_validated, chunks)
            write_chunk(engine, items, report, validated=validated)
            gc.collect(1)
            if max_rejects is not None and report.rejected > max_rejects:
                break
        ahead.cancel()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if was_enabled:
            gc.enable()
    return report


def _next_validated(
    chunks: Iterator[list[Item]],
) -> tuple[list[Item], tuple[Validated, list[Reject]]] | None:
    items = next(chunks, None)
    if items is None:
        return None
    return items, validate_items(items)


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
