"""The seed graph: its evidence is verbatim, and the service serves exactly what the files hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.vocabulary import normalise_ends
from tests.conftest import ROOT, make_settings

SEED_DIR = ROOT / "seed_data"
BATCH_FILES = sorted(SEED_DIR.glob("*.json"))
RAW_ARTICLE = (SEED_DIR / "the-national-2025-04-04-iraq-syria.txt").read_bytes().decode("utf-8")


def _load() -> dict[str, list[dict[str, Any]]]:
    merged: dict[str, list[dict[str, Any]]] = {"sources": [], "actors": [], "relationships": []}
    for path in BATCH_FILES:
        batch = json.loads(path.read_text(encoding="utf-8"))
        for kind in merged:
            merged[kind] += batch.get(kind, [])
    return merged


SEED = _load()
SOURCE_TEXT = {s["id"]: s.get("text") for s in SEED["sources"]}


def _rel_id(rel: dict[str, Any]) -> str:
    return f"{rel['source']}-{rel['type']}-{rel['target']}@{rel.get('valid_from')}"


def natural_key(rel: dict[str, Any]) -> tuple[str, str, str, str | None]:
    s, t = normalise_ends(rel["type"], rel["source"], rel["target"])
    return s, t, rel["type"], rel.get("valid_from")


def test_seed_data_is_present() -> None:
    assert BATCH_FILES, "no seed batch in seed_data/"
    assert SEED["actors"] and SEED["relationships"]


@pytest.mark.parametrize("rel", SEED["relationships"], ids=_rel_id)
def test_every_seed_quote_is_verbatim_in_the_article_and_the_source_text(
    rel: dict[str, Any],
) -> None:
    assert rel["evidence"], "a relationship without evidence"
    for ev in rel["evidence"]:
        assert ev["quote"].strip()
        assert ev["quote"] in RAW_ARTICLE, ev["quote"]
        text = SOURCE_TEXT[ev["source"]]
        assert text is not None
        assert ev["quote"] in text, ev["quote"]


def test_seed_validator_passes() -> None:
    done = subprocess.run(
        [sys.executable, str(SEED_DIR / "check_seed.py")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_seed_validator_fails_on_an_invented_quote(tmp_path: Path) -> None:
    # The validator itself must be able to fail, or its pass above proves nothing.
    batch = json.loads(BATCH_FILES[0].read_text(encoding="utf-8"))
    batch["relationships"][0]["evidence"][0]["quote"] = "words the article never printed"
    (tmp_path / "batch.json").write_text(json.dumps(batch), encoding="utf-8")
    for source in batch["sources"]:
        raw = SEED_DIR / f"{source['id']}.txt"
        (tmp_path / raw.name).write_bytes(raw.read_bytes())
    done = subprocess.run(
        [sys.executable, str(SEED_DIR / "check_seed.py"), str(tmp_path / "batch.json")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode != 0


def _all_ties(client: TestClient) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for actor in SEED["actors"]:
        r = client.get(f"/v1/actors/{actor['id']}/ties", params={"limit": 500})
        assert r.status_code == 200, r.text
        for t in r.json()["items"]:
            found[t["id"]] = t
    return found


def test_seeded_service_holds_exactly_the_seed_counts(seeded: TestClient) -> None:
    actors = seeded.get("/v1/actors", params={"limit": 500}).json()
    assert actors["total"] == len(SEED["actors"])
    assert {a["id"] for a in actors["items"]} == {a["id"] for a in SEED["actors"]}
    assert len(_all_ties(seeded)) == len(SEED["relationships"])


def test_every_seed_actor_is_served(seeded: TestClient) -> None:
    for actor in SEED["actors"]:
        r = seeded.get(f"/v1/actors/{actor['id']}")
        assert r.status_code == 200, actor["id"]
        got = r.json()
        for field in ("name", "kind", "aliases", "country", "description", "attributes"):
            assert got[field] == actor[field], (actor["id"], field)


def test_every_seed_relationship_is_among_its_source_actors_ties(seeded: TestClient) -> None:
    for rel in SEED["relationships"]:
        r = seeded.get(f"/v1/actors/{rel['source']}/ties", params={"limit": 500})
        assert r.status_code == 200
        matches = [t for t in r.json()["items"] if natural_key(t) == natural_key(rel)]
        assert len(matches) == 1, _rel_id(rel)
        (tie,) = matches
        assert tie["valid_to"] == rel["valid_to"], _rel_id(rel)
        assert tie["confidence"] == rel["confidence"], _rel_id(rel)
        assert tie["attributes"] == rel["attributes"], _rel_id(rel)
        assert [(e["source"], e["quote"]) for e in tie["evidence"]] == [
            (e["source"], e["quote"]) for e in rel["evidence"]
        ], _rel_id(rel)


def test_seed_source_is_served_with_its_text(seeded: TestClient) -> None:
    for source in SEED["sources"]:
        r = seeded.get(f"/v1/sources/{source['id']}")
        assert r.status_code == 200
        assert r.json()["text"] == source["text"]
        assert r.json()["publisher"] == source["publisher"]


def test_seeding_twice_adds_nothing(db_url: str) -> None:
    with TestClient(create_app(make_settings(db_url, seed=True))) as first:
        rev = first.get("/v1/revision").json()["revision"]
    with TestClient(create_app(make_settings(db_url, seed=True))) as second:
        assert second.get("/v1/revision").json()["revision"] == rev
        assert second.get("/v1/actors").json()["total"] == len(SEED["actors"])
