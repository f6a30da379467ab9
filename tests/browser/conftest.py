"""Browser-test fixtures: a real uvicorn server on a temporary SQLite file, and Chromium.

The server runs in a subprocess on a free 127.0.0.1 port, seeded from seed_data/ plus one
hostile actor (`xss-probe`) whose name, source and quotes are HTML. Every page request to a host
other than 127.0.0.1 is aborted and recorded; console errors, uncaught page errors and dialogs
are recorded too, and a test that leaves any of them behind fails at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import ROOT, WRITE_KEY
from tests.support.server import running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
VENDOR = ROOT / "app" / "static" / "vendor"
VENDOR_FILES = ("cytoscape.min.js", "layout-base.js", "cose-base.js", "cytoscape-fcose.js")
VIEWPORT = {"width": 1280, "height": 800}

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_SOURCE = {
    "id": "xss-probe-source",
    "url": "https://example.org/xss-probe?a=1&b=<b>",
    "title": "<b>Probe</b> report",
    "publisher": "Probe <i>Press</i>",
    "published": "2025-01-15",
    "text": "Officials in Tehran met the <img src=x onerror=alert(1)> delegation on Monday. "
    "<script>alert(2)</script> No further details were given.",
}
XSS_QUOTES = [
    "Officials in Tehran met the <img src=x onerror=alert(1)> delegation on Monday.",
    "<script>alert(2)</script>",
]
XSS_BATCH: dict[str, Any] = {
    "sources": [XSS_SOURCE],
    "actors": [
        {
            "id": "xss-probe",
            "name": XSS_NAME,
            "kind": "organization",
            "aliases": ['"><svg onload=alert(4)>'],
            "description": "<script>alert(3)</script> is not a description.",
        }
    ],
    "relationships": [
        {
            "source": "xss-probe",
            "target": "iran",
            "type": "diplomatic_contact",
            "valid_from": "2025-01",
            "confidence": 0.6,
            "evidence": [{"source": XSS_SOURCE["id"], "quote": q} for q in XSS_QUOTES],
        }
    ],
}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a live server with the seed graph and the xss-probe actor."""
    tmp = tmp_path_factory.mktemp("browser-server")
    # The browser tests are about the page: always a fresh SQLite file, whatever
    # KG_DATABASE_URL the rest of the suite runs on.
    with running_server(f"sqlite:///{tmp / 'kg.sqlite3'}", log=tmp / "server.log") as base:
        r = httpx.post(
            f"{base}/v1/ingest",
            json=XSS_BATCH,
            timeout=30,
            headers={"Authorization": f"Bearer {WRITE_KEY}"},
        )
        assert r.status_code == 200, r.text
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser` (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page and what it did that a test must not leave behind."""

    page: Any
    base: str
    console_errors: list[tuple[str, str]] = field(default_factory=list)  # (text, url)
    outside_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    # Outside URLs a test knowingly lets through its check (still aborted, and kept here).
    tolerated: set[str] = field(default_factory=set)
    tolerated_requests: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def assert_clean(self) -> None:
        assert self.outside_requests == [], f"requests left 127.0.0.1: {self.outside_requests}"
        # An aborted request logs "Failed to load resource" at its URL: expected when tolerated.
        errors = [text for text, url in self.console_errors if url not in self.tolerated]
        assert errors == [], f"console errors: {errors}"
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"


@pytest.fixture
def watched(browser: Any, server: str) -> Iterator[Watched]:
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    page = context.new_page()
    w = Watched(page=page, base=server)

    def route(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
            (w.tolerated_requests if url in w.tolerated else w.outside_requests).append(url)
            route.abort()
        else:
            route.continue_()

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            w.console_errors.append((msg.text, (msg.location or {}).get("url", "")))

    def on_dialog(dialog: Any) -> None:
        w.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: w.console_errors.append((f"pageerror: {exc}", "")))
    page.on("dialog", on_dialog)
    try:
        yield w
        w.assert_clean()
    finally:
        context.close()


@pytest.fixture
def explorer(watched: Watched) -> Watched:
    """The explorer page, loaded, with its vendored scripts in place."""
    missing = [name for name in VENDOR_FILES if not (VENDOR / name).exists()]
    if missing:
        pytest.skip(f"app/static/vendor lacks {missing}: run `make explorer-assets`")
    watched.goto("/explorer")
    watched.page.wait_for_function(
        "() => window.cy && window.explorer && document.getElementById('graph').dataset.loadedAsOf"
    )
    return watched
