"""The README's examples answer as documented."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.conftest import AUTH, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_ingest_example_creates_then_changes_nothing(seeded: TestClient) -> None:
    payload = json.loads(re.search(r"-d '(\{.*?\})'\n", README, re.S)[1])  # type: ignore[index]
    first = seeded.post("/v1/ingest", json=payload, headers=AUTH)
    assert first.status_code == 200, first.text
    assert first.json()["relationships"]["created"] == 1
    again = seeded.post("/v1/ingest", json=payload, headers=AUTH).json()
    assert again["relationships"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert again["revision"] == first.json()["revision"]


def test_readme_read_examples_answer(seeded: TestClient) -> None:
    urls = re.findall(r"curl -s '(http://127\.0\.0\.1:8000[^']+)'", README)
    assert len(urls) >= 5
    for url in urls:
        r = seeded.get(url.removeprefix("http://127.0.0.1:8000"))
        assert r.status_code == 200, url
