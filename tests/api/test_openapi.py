"""The OpenAPI document is complete enough for people reading /docs and for client generators."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.schemas import Batch


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()
    ]


def test_every_operation_is_described_tagged_and_named(schema: dict[str, Any]) -> None:
    seen: set[str] = set()
    for path, method, op in _operations(schema):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert len(op.get("description", "")) > 30, where
        assert op.get("tags"), where
        assert op["operationId"].replace("_", "").isalnum(), where
        assert op["operationId"] not in seen, where
        seen.add(op["operationId"])


def test_error_responses_are_documented_as_problem_json(schema: dict[str, Any]) -> None:
    for path, method, op in _operations(schema):
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert errors, f"{method} {path} documents no error"
        for code, response in errors.items():
            content = response.get("content", {})
            assert "application/problem+json" in content, f"{method} {path} {code}"
            ref = content["application/problem+json"]["schema"]["$ref"]
            assert ref.endswith("/Problem"), f"{method} {path} {code}"
    assert "Problem" in schema["components"]["schemas"]


def test_writes_declare_the_key_and_document_401(schema: dict[str, Any]) -> None:
    for path, method, op in _operations(schema):
        if method in {"post", "put", "patch", "delete"}:
            assert {"WriteKey": []} in op["security"], f"{method} {path}"
            assert "401" in op["responses"], f"{method} {path}"


def test_ingest_example_is_a_real_valid_batch_from_the_seed(schema: dict[str, Any]) -> None:
    body = schema["paths"]["/v1/ingest"]["post"]["requestBody"]["content"]["application/json"]
    example = body["examples"]["seed"]["value"]
    batch = Batch.model_validate(example)
    assert batch.relationships and batch.relationships[0].evidence
    quote = batch.relationships[0].evidence[0].quote
    assert batch.sources[0].text and quote in batch.sources[0].text
