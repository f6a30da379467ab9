"""The shared strict types do the work once, the schema states exactly what they admit, and the
validation error handler encodes whatever it reports."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from app import schemas
from app.schemas import (
    LINE_PATTERN,
    PARA_PATTERN,
    QUOTE_PATTERN,
    ActorFields,
    ActorIn,
    ActorPatch,
    Batch,
    EvidenceIn,
    LongText,
    Name,
    Quote,
    RelationshipIn,
    SourceIn,
)
from tests.conftest import AUTH
from tests.hardening.helpers import assert_strict_json

INPUT_MODELS: list[type[BaseModel]] = [
    Batch,
    SourceIn,
    ActorFields,
    ActorIn,
    ActorPatch,
    EvidenceIn,
    RelationshipIn,
]

# Every code point class that matters: controls, C1, separators, spaces, marks, compatibility
# forms, and a spread of ordinary letters.
POINTS = sorted(
    set(range(0x00, 0x2100))
    | set(range(0x2FF0, 0x3010))
    | set(range(0xFB00, 0xFB50))
    | set(range(0xFDF0, 0xFE70))
    | set(range(0xFF00, 0xFFF0))
    | {0x1F600, 0x10FFFD, 0xE000}
)


@pytest.mark.parametrize("model", INPUT_MODELS, ids=lambda m: m.__name__)
def test_every_input_model_refuses_unknown_fields(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "forbid"


@pytest.mark.parametrize(
    ("adapter", "pattern", "single_line"),
    [
        (TypeAdapter(Name), LINE_PATTERN, True),
        (TypeAdapter(LongText), PARA_PATTERN, False),
        (TypeAdapter(Quote), QUOTE_PATTERN, False),
    ],
    ids=["single-line", "paragraph", "quote"],
)
def test_the_schema_pattern_admits_exactly_what_the_validator_does(
    adapter: TypeAdapter[str], pattern: str, single_line: bool
) -> None:
    """The pattern in the OpenAPI schema (what clients and the fuzzer generate from) and the
    validator (what the server takes) agree on every code point, inside a word and alone."""
    rx = re.compile(pattern)
    disagree: list[str] = []
    for cp in POINTS:
        c = chr(cp)
        for text in (f"a{c}b", c, f"{c}{c}"):
            by_schema = rx.fullmatch(text) is not None
            try:
                adapter.validate_python(text)
                by_server = True
            except ValidationError:
                by_server = False
            if by_schema != by_server:
                disagree.append(f"U+{cp:04X} in {text!r}: schema {by_schema}, server {by_server}")
    assert disagree == [], disagree[:20]


@pytest.mark.parametrize(
    "bad",
    ["a\x00b", "a\ud800b", "a\x07b", "a\x1bb", "a\x85b", "a\x7fb"],
    ids=["nul", "surrogate", "bell", "escape", "c1", "delete"],
)
@pytest.mark.parametrize(
    "adapter",
    [
        TypeAdapter(Name),
        TypeAdapter(LongText),
        TypeAdapter(Quote),
        TypeAdapter(schemas.DocumentText),
    ],
    ids=["name", "long-text", "quote", "document"],
)
def test_no_shared_text_type_takes_nul_surrogates_or_controls(
    adapter: TypeAdapter[str], bad: str
) -> None:
    with pytest.raises(ValidationError):
        adapter.validate_python(bad)


def test_text_is_stored_nfc_and_names_nfkc() -> None:
    assert TypeAdapter(LongText).validate_python("Cafe\u0301") == "Caf\u00e9"
    assert TypeAdapter(Name).validate_python("\uff29\uff52\uff41\uff51") == "Iraq"
    assert unicodedata.is_normalized("NFC", TypeAdapter(Quote).validate_python("e\u0301"))


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_numbers_are_finite(number: float) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(schemas.Confidence).validate_python(number)
    with pytest.raises(ValidationError):
        ActorFields.model_validate({"name": "A", "kind": "state", "attributes": {"n": number}})


# ---------------------------------------------------------------- the handler always encodes

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Text with what breaks naive handlers: lone surrogates, NUL, controls, odd separators.
NASTY = st.text(
    alphabet=st.sampled_from(
        ["a", "\x00", "\ud800", "\udfff", "\x07", "\u2028", "é", "\r", "/", "~"]
    ),
    max_size=12,
)


@st.composite
def hostile_bodies(draw: st.DrawFn) -> dict[str, Any]:
    actor = {
        "name": draw(NASTY | st.text()),
        "kind": draw(st.sampled_from(["state", "empire"]) | NASTY),
        draw(NASTY): draw(JSONISH),
        "attributes": draw(st.dictionaries(NASTY, JSONISH, max_size=3)),
    }
    rel = {
        "source": draw(NASTY),
        "target": "iran",
        "type": draw(st.sampled_from(["sponsors", "x"]) | NASTY),
        "evidence": [{"source": draw(NASTY), "quote": draw(NASTY)}],
        draw(NASTY): draw(JSONISH),
    }
    return {"actors": [actor], "relationships": [rel], draw(NASTY): draw(JSONISH)}


@settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=hostile_bodies())
def test_the_validation_handler_always_answers_valid_json(
    seeded: TestClient, body: dict[str, Any]
) -> None:
    # ensure_ascii: lone surrogates travel as \\ud800 escapes, as a hostile client would send them.
    raw = json.dumps(body, ensure_ascii=True).encode()
    for method, url in (
        ("POST", "/v1/ingest"),
        ("PUT", "/v1/actors/x"),
        ("PATCH", "/v1/actors/iraq"),
    ):
        r = seeded.request(
            method, url, content=raw, headers={**AUTH, "Content-Type": "application/json"}
        )
        assert r.status_code in (200, 201, 404, 409, 422), (r.status_code, r.text[:300])
        assert_strict_json(r.content)
