"""Read routes that encode their own reply still answer exactly what their schema promises."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.api.graph import ChainList, Neighbourhood, PathList
from app.schemas import Page, TieRead

REPLIES: list[tuple[str, type[BaseModel]]] = [
    ("/v1/actors/iran/ties", Page[TieRead]),
    ("/v1/actors/iran/ties?direction=out&as_of=2024-06-01&limit=3&offset=1", Page[TieRead]),
    ("/v1/actors/iran/neighborhood?depth=2", Neighbourhood),
    ("/v1/paths?from=iran&to=hamas&mode=alliance&k=1", PathList),
    ("/v1/paths?from=iran&to=hamas&mode=any&k=3&as_of=2024-06-01", PathList),
    ("/v1/actors/iran/proxies?depth=3", ChainList),
    ("/v1/actors/houthis/patrons?as_of=2024-06-01", ChainList),
]


def _non_empty(body: dict[str, Any]) -> bool:
    return bool(body.get("items") or body.get("edges"))


@pytest.mark.parametrize(("url", "model"), REPLIES)
def test_reply_is_exactly_its_model_serialised(
    seeded: TestClient, url: str, model: type[BaseModel]
) -> None:
    r = seeded.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert _non_empty(body)
    # What FastAPI would have sent after validating against the model: no missing or extra
    # keys, the same types.
    assert model.model_validate(body).model_dump(mode="json", by_alias=True) == body


@pytest.mark.parametrize("url", [url for url, _ in REPLIES])
def test_reply_carries_an_etag_and_answers_304(seeded: TestClient, url: str) -> None:
    first = seeded.get(url)
    etag = first.headers["etag"]
    again = seeded.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    head = seeded.head(url)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag


def test_ties_page_in_type_then_name_order(seeded: TestClient) -> None:
    items = seeded.get("/v1/actors/iran/ties", params={"limit": 500}).json()["items"]
    keys = [(t["type"], t["counterpart"]["name"], t["id"]) for t in items]
    assert keys == sorted(keys)
    second = seeded.get("/v1/actors/iran/ties", params={"limit": 2, "offset": 2}).json()
    assert [t["id"] for t in second["items"]] == [t["id"] for t in items[2:4]]
    assert second["total"] == len(items)
