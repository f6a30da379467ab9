"""The API docs work with no internet: Swagger UI and ReDoc come from the app itself."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Watched

pytestmark = pytest.mark.browser


def test_swagger_ui_lists_the_operations_offline(watched: Watched) -> None:
    watched.goto("/docs")
    page = watched.page
    ingest = page.locator(".opblock-summary-path", has_text="/v1/ingest").first
    ingest.wait_for(state="visible", timeout=20_000)
    assert page.locator(".opblock").count() >= 20
    for path in ("/v1/actors", "/v1/paths", "/v1/analytics/blocs", "/health"):
        assert page.locator(".opblock-summary-path", has_text=path).count() >= 1, path
    assert page.locator(".opblock-summary-description", has_text="Ingest a batch").count() == 1
    # Open one operation: its description and request body render.
    page.locator(".opblock-summary", has_text="/v1/ingest").first.click()
    page.get_by_text("Upsert sources, actors and relationships").first.wait_for(state="visible")
    watched.screenshot("docs-swagger")


def _open_redoc(watched: Watched) -> None:
    watched.goto("/redoc")
    page = watched.page
    page.locator("h1", has_text="Geopolitical knowledge graph").wait_for(timeout=20_000)
    page.locator("[role=menuitem]", has_text="Ingest a batch").first.wait_for(state="visible")
    page.get_by_text("/v1/ingest").first.wait_for(state="attached")


def test_redoc_renders_offline(watched: Watched) -> None:
    _open_redoc(watched)
    assert watched.page.locator("[role=menuitem]").count() >= 20
    watched.screenshot("docs-redoc")


def test_redoc_makes_no_outside_request(watched: Watched) -> None:
    # fastapi-offline's Redoc bundle names a logo on cdn.redoc.ly; the app serves it rewritten.
    _open_redoc(watched)
    watched.page.wait_for_timeout(500)
    assert list(watched.outside_requests) == []
