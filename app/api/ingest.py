"""The batch write route."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from app.api.deps import EngineDep, SettingsDep, StoreDep, WriterDep, problems
from app.db import read_session
from app.errors import Invalid, TooLarge, validation_errors
from app.ingest import ingest as ingest_batch
from app.ingest import reference_errors
from app.schemas import SLUG_PATTERN, ActorIn, Batch, IngestResult, RelationshipIn, SourceIn
from app.seed import example_batch
from app.text import slugify

_ITEM = re.compile(r"^/(sources|actors|relationships)/(\d+)")
_MODELS: dict[str, type[BaseModel]] = {
    "sources": SourceIn,
    "actors": ActorIn,
    "relationships": RelationshipIn,
}


_ANY = "*"  # stands for "any id": an item whose id could not be read


def _meant_ids(item: Any) -> set[str]:
    if not isinstance(item, dict):
        return {_ANY}
    given = item.get("id")
    if given is None and isinstance(item.get("name"), str):
        try:
            return {slugify(item["name"])}
        except UnicodeError:  # a lone surrogate: the name is refused on its own
            return {_ANY}
    if isinstance(given, str) and re.fullmatch(SLUG_PATTERN, given):
        return {given}
    return {_ANY}


def _unjudgeable(error: dict[str, Any], meant: dict[str, set[str]]) -> bool:
    pointer = error["pointer"]
    if pointer.endswith(("/source", "/target")) and "/evidence/" not in pointer:
        return _ANY in meant["actors"]
    if pointer.endswith("/source") and "/evidence/" in pointer:
        return _ANY in meant["sources"]
    return False


def _all_errors(
    request: Request, raw: Any, schema_errors: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Schema errors plus the reference errors of the items that did parse, so one 422 names
    every bad item, not just the first kind found."""
    if not isinstance(raw, dict):
        return schema_errors
    valid: dict[str, list[Any]] = {k: [] for k in _MODELS}
    index: dict[str, list[int]] = {k: [] for k in _MODELS}
    meant: dict[str, set[str]] = {"sources": set(), "actors": set()}
    for kind, model in _MODELS.items():
        items = raw.get(kind)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            try:
                valid[kind].append(model.model_validate(item))
                index[kind].append(i)
            except ValidationError:
                # References to an item that failed are not reported again: it is named
                # already. Where its id is itself unreadable, no reference can be judged.
                if kind in meant:
                    meant[kind] |= _meant_ids(item)
    batch = Batch.model_construct(
        sources=valid["sources"], actors=valid["actors"], relationships=valid["relationships"]
    )
    with read_session(request.app.state.engine) as session:
        found = reference_errors(
            session, batch, other_actors=meant["actors"], other_sources=meant["sources"]
        )
    found = [e for e in found if not _unjudgeable(e, meant)]
    for err in found:
        err["pointer"] = _ITEM.sub(lambda m: f"/{m[1]}/{index[m[1]][int(m[2])]}", err["pointer"])
    return schema_errors + found


def _refuse_oversized_batch(request: Request, body: bytes) -> None:
    """A batch over KG_MAX_BATCH_ITEMS is refused before any item is validated, so that the
    work (and the list of errors) an oversized batch costs is bounded by the cap, not the body."""
    cap: int = request.app.state.settings.max_batch_items
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # not JSON: the schema check names the problem
    if not isinstance(raw, dict):
        return
    n = sum(len(v) for k in _MODELS if isinstance(v := raw.get(k), list))
    if n > cap:
        raise TooLarge(
            f"The batch has {n} items; the limit is {cap} (KG_MAX_BATCH_ITEMS). "
            "Split it into smaller batches."
        )


class IngestRoute(APIRoute):
    """Reports schema and reference problems of a batch in one answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            _refuse_oversized_batch(request, await request.body())
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = validation_errors(exc)
                try:
                    raw = json.loads(await request.body())
                except ValueError:
                    raise exc from None
                errors = await run_in_threadpool(_all_errors, request, raw, errors)
                raise Invalid(
                    f"{len(errors)} invalid item(s); nothing was written", errors=errors
                ) from None

        return route


router = APIRouter(prefix="/v1", tags=["ingest"], route_class=IngestRoute)


@router.post(
    "/ingest",
    response_model=IngestResult,
    summary="Ingest a batch",
    operation_id="ingest_batch",
    responses=problems(401, 403, 413, 415, 422, 503),
)
def ingest(
    engine: EngineDep,
    store: StoreDep,
    settings: SettingsDep,
    caller: WriterDep,
    batch: Annotated[
        Batch,
        Body(
            openapi_examples={
                "seed": {
                    "summary": "Part of the seed graph",
                    "value": example_batch(),
                }
            }
        ),
    ],
) -> dict[str, Any]:
    """Upsert sources, actors and relationships in one transaction.

    - Actors without an `id` get one derived from the name.
    - A relationship is keyed by (`source`, `target`, `type`, `valid_from`), ends of undirected
      types sorted; sending the same key again merges evidence and never duplicates.
    - Where a source has `text`, every quote citing it must occur in it (white space and
      typographic quote marks folded).
    - If any item is invalid nothing is written, and the 422 names every bad item by JSON
      pointer (e.g. `/relationships/3/target`). Re-sending a batch changes nothing.

    The reply counts what was created, updated or unchanged, and gives the new revision."""
    return ingest_batch(
        engine, store, batch, key_id=caller.key_id, max_items=settings.max_batch_items
    )
