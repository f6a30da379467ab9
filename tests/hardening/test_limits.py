"""Limits are named settings, and every read route answers within the budget on hostile graphs.

The adversarial graph: a 40-actor clique where every pair is allied, hostile, and sponsoring each
other both ways (3,120 ties: simple paths explode), plus a hub with 3,000 ties to spokes and ties
to every clique member. Every read route, at its largest allowed depth, hop count and k, answers
200 within KG_QUERY_TIME_BUDGET_S plus slack for a busy 2-core CI machine, marked truncated
where the budget cut it short.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import AUTH, PG_URL, USING_PG, make_settings, reset_postgres
from tests.hardening.helpers import assert_problem

CLIQUE = [f"c{i:02d}" for i in range(40)]
SPOKES = 3000
# Request, JSON encoding and the busy CI box, on top of the query budget.
SLACK_S = 4.0


def _adversarial_batches() -> list[dict[str, Any]]:
    ev = [{"source": "adv-src", "quote": "hostile input"}]
    clique: list[dict[str, Any]] = []
    for a, b in itertools.combinations(CLIQUE, 2):
        clique += [
            {"source": a, "target": b, "type": "allied_with", "valid_to": "2023"},
            {"source": a, "target": b, "type": "hostile_to", "valid_from": "2023"},
            {"source": a, "target": b, "type": "sponsors"},
            {"source": b, "target": a, "type": "sponsors"},
        ]
    spokes = [f"s{i:04d}" for i in range(SPOKES)]
    kinds = ["sponsors", "cooperates_with", "hostile_to", "diplomatic_contact"]
    hub = [
        {"source": "hub", "target": s, "type": kinds[i % len(kinds)]} for i, s in enumerate(spokes)
    ] + [{"source": "hub", "target": c, "type": "allied_with"} for c in CLIQUE]
    return [
        {
            "sources": [{"id": "adv-src", "text": "A graph built from hostile input."}],
            "actors": [{"id": c, "name": f"Clique {c}", "kind": "state"} for c in CLIQUE]
            + [
                {"id": "hub", "name": "Hub", "kind": "state"},
                {"id": "island", "name": "Island", "kind": "state"},
            ],
            "relationships": [{**r, "evidence": ev} for r in clique],
        },
        {
            "actors": [{"id": s, "name": f"Spoke {s}", "kind": "organization"} for s in spokes],
            "relationships": [{**r, "evidence": ev} for r in hub],
        },
    ]


@pytest.fixture(scope="module")
def adversarial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    if USING_PG:
        reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('adv') / 'kg.sqlite3'}"
    # Production limits: the point is that the defaults hold.
    with TestClient(create_app(make_settings(url))) as c:
        for batch in _adversarial_batches():
            r = c.post("/v1/ingest", json=batch, headers=AUTH)
            assert r.status_code == 200, r.text
        yield c


def _settings(c: TestClient) -> Settings:
    settings: Settings = c.app.state.settings  # type: ignore[attr-defined]
    return settings


def _routes() -> list[str]:
    s = Settings(database_url="sqlite://")
    k, hops, depth = s.max_paths, s.max_hops, s.max_depth
    routes = [
        "/v1/actors/hub/ties?limit=500",
        "/v1/actors/hub/ties?limit=500&offset=2500&type=sponsors",
        "/v1/actors/c00/ties?limit=500&as_of=2024-01-01",
        f"/v1/actors/hub/neighborhood?depth={depth}",
        f"/v1/actors/c00/neighborhood?depth={depth}",
        f"/v1/actors/s0001/neighborhood?depth={depth}&polarity=negative",
        f"/v1/actors/hub/proxies?depth={depth}",
        f"/v1/actors/c00/proxies?depth={depth}",
        f"/v1/actors/c00/patrons?depth={depth}",
        f"/v1/actors/s0000/patrons?depth={depth}",
        "/v1/actors/hub/timeline",
        "/v1/actors/c00/timeline",
        "/v1/analytics/blocs",
        "/v1/analytics/blocs?as_of=2022-06-01",
        "/v1/analytics/balance?limit=500",
        "/v1/analytics/balance?include_open=true&limit=500",
        "/v1/analytics/centrality?metric=degree&top=500",
        "/v1/analytics/centrality?metric=betweenness&top=500",
        "/v1/analytics/centrality?metric=pagerank&top=500",
        "/v1/analytics/centrality?metric=betweenness&as_of=2024-01-01",
        "/v1/graph?format=node-link",
        "/v1/graph?format=cytoscape",
        "/v1/graph?format=graphml",
        "/v1/graph?format=gexf",
        "/v1/graph?format=node-link&as_of=2024-01-01&polarity=negative",
        "/v1/diff?from=2000-01-01&to=2030-01-01",
        "/v1/actors?q=spoke&limit=500",
        "/v1/changes?since=0",
    ]
    pairs = [
        ("c00", "c39"),  # inside the clique: simple paths explode
        ("c00", "island"),  # out of reach
        ("s0000", "s0004"),  # through the hub
        ("s0001", "c07"),
        ("island", "c05"),
    ]
    for mode in ("alliance", "proxy", "hostile", "any"):
        for a, b in pairs:
            routes.append(f"/v1/paths?from={a}&to={b}&mode={mode}&k={k}&max_hops={hops}")
        routes.append(
            f"/v1/paths?from=c00&to=c39&mode={mode}&k={k}&max_hops={hops}&weight=confidence"
        )
    return routes


@pytest.mark.parametrize("url", _routes())
def test_read_route_answers_within_the_budget(adversarial: TestClient, url: str) -> None:
    budget = _settings(adversarial).query_time_budget_s
    start = time.monotonic()
    with adversarial.stream("GET", url) as r:
        body = r.read()
    took = time.monotonic() - start
    assert r.status_code == 200, body[:300]
    assert took < budget + SLACK_S, f"{url} took {took:.2f}s"
    if r.headers["content-type"].startswith("application/json"):
        data = r.json()
        if "items" in data and "truncated" in data:
            assert isinstance(data["truncated"], bool)
        if url.startswith("/v1/paths"):
            assert len(data["items"]) <= _settings(adversarial).max_paths
            assert all(p["length"] <= _settings(adversarial).max_hops for p in data["items"])


def test_the_clique_search_is_cut_by_the_budget_and_says_so(adversarial: TestClient) -> None:
    s = _settings(adversarial)
    r = adversarial.get(
        "/v1/paths",
        params={
            "from": "c00",
            "to": "c39",
            "mode": "any",
            "k": s.max_paths,
            "max_hops": s.max_hops,
        },
    )
    body = r.json()
    # Millions of simple paths exist; the answer holds at most k, shortest first.
    assert 0 < len(body["items"]) <= s.max_paths
    lengths = [p["length"] for p in body["items"]]
    assert lengths == sorted(lengths) and lengths[0] == 1


def test_out_of_reach_is_an_empty_answer_not_a_search(adversarial: TestClient) -> None:
    for mode in ("alliance", "proxy", "hostile", "any"):
        body = adversarial.get(
            "/v1/paths",
            params={"from": "c00", "to": "island", "mode": mode, "k": 20, "max_hops": 6},
        ).json()
        assert body == {"items": [], "total": 0, "truncated": False}


@pytest.mark.parametrize(
    ("url", "setting"),
    [
        ("/v1/actors/hub/neighborhood?depth=5", "KG_MAX_DEPTH"),
        ("/v1/actors/hub/proxies?depth=5", "KG_MAX_DEPTH"),
        ("/v1/actors/hub/patrons?depth=5", "KG_MAX_DEPTH"),
        ("/v1/paths?from=c00&to=c39&k=21", "KG_MAX_PATHS"),
        ("/v1/paths?from=c00&to=c39&max_hops=7", "KG_MAX_HOPS"),
    ],
)
def test_asking_past_a_limit_names_the_setting(
    adversarial: TestClient, url: str, setting: str
) -> None:
    body = assert_problem(adversarial.get(url), 422)
    assert setting in body["detail"]


def test_every_limit_is_a_named_setting() -> None:
    fields = Settings.model_fields
    for name in (
        "max_body_bytes",
        "max_batch_items",
        "max_url_length",
        "max_page_size",
        "max_depth",
        "max_hops",
        "max_paths",
        "max_nodes",
        "max_expansions",
        "query_time_budget_s",
        "busy_timeout_ms",
    ):
        assert name in fields, name
        assert fields[name].default is not None
