"""The Alembic migrations and the SQLModel tables describe the same schema."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.db import make_engine
from app.migrate import upgrade
from app.settings import Settings

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_MIG = os.environ.get(
    "KG_TEST_MIGRATION_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/kg_mig"
)


def _postgres_url() -> str:
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = PG_MIG.rsplit("/", 1)[1]
            if not conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": name}
            ).scalar():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = create_engine(PG_MIG, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("KG_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return PG_MIG


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mig.sqlite3'}"
    return _postgres_url()


def test_migrations_match_models(url: str) -> None:
    engine = make_engine(Settings(database_url=url, seed=False))
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
        )
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent_and_creates_every_table(url: str) -> None:
    engine = make_engine(Settings(database_url=url, seed=False))
    upgrade(engine)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"actor", "actor_name", "source", "relationship", "evidence", "change"} <= tables


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(
        Settings(database_url=f"sqlite:///{tmp_path / 'p.sqlite3'}", busy_timeout_ms=4321)
    )
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321
    engine.dispose()
