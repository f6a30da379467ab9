"""Fixtures: a fresh database per test (SQLite file, or a reset PostgreSQL schema).

Set KG_DATABASE_URL=postgresql+psycopg://... to run the suite against PostgreSQL; that database
is wiped before each test.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

from fastapi.testclient import TestClient  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

WRITE_KEY = "test-write-key"
READ_KEY = "test-read-key"
AUTH = {"Authorization": f"Bearer {WRITE_KEY}"}
PG_URL = os.environ.get("KG_DATABASE_URL", "")
USING_PG = PG_URL.startswith("postgresql")
ROOT = Path(__file__).resolve().parent.parent


def reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    if USING_PG:
        reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'kg.sqlite3'}"


def make_settings(db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": db_url, "api_keys": [WRITE_KEY], "seed": False}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def seeded(db_url: str) -> Iterator[TestClient]:
    """A client on a database filled from seed_data/."""
    with TestClient(create_app(make_settings(db_url, seed=True))) as c:
        yield c


def pytest_sessionstart(session: pytest.Session) -> None:
    if USING_PG:
        try:
            reset_postgres(PG_URL)
        except Exception as exc:
            pytest.exit(
                f"KG_DATABASE_URL points at PostgreSQL, which is unreachable: {exc}", returncode=3
            )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # CI's PostgreSQL run must exercise everything: a skip there is a failure.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("KG_REQUIRE_POSTGRES") == "1" and skipped and exitstatus == 0:
        print(f"\n{skipped} test(s) skipped while KG_REQUIRE_POSTGRES=1: failing the run.")
        session.exitstatus = 1
